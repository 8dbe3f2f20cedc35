/**
 * bench/maintain: link maintenance over real node-datachannel on loopback,
 * default heartbeat settings (1 s interval, 5 s timeout).
 *
 * 1. Dead-peer detection: a 4-peer mesh with one member in a child process
 *    (signaled over IPC); the child is killed with SIGKILL; time until every
 *    survivor reports peer_disconnected.
 * 2. Cut and reconnect: two peers joined through a real signaling server
 *    (WebSocket on 127.0.0.1); while 10 000 numbered reliable packets flow
 *    (1000/s), the link's engine connection is closed underneath and the
 *    signaling between the two is blocked for 10 s; time from the end of the
 *    cut until both sides report `reconnected`; packets lost, duplicated, out
 *    of order at the receiver.
 *
 * 3. The session header's cost: 64 B reliable messages/s over one link with
 *    `session` on and off, alternating rounds.
 *
 * Last stdout line: `{"suite":"maintain","detect_ms":…,"reconnect_ms":…,"lost":…,"duplicated":…,…}`.
 */
import { Mesh, WebRTCMultiplayerPeer, type LobbyMultiplayerPeer } from '../src/index.js';
import { SignalingServer, WebSocketSignalingClient } from '../src/entries/signaling.js';
import { link } from '../test/mesh/mesh-helpers.js';
import { killHard, spawnMember } from '../test/maintain/process-mesh.js';
import { isMain, median, printFigures, printTable, round } from './lib/report.js';

const TOTAL = 10_000;
const RATE_PER_S = 1000;
const CUT_AT = 2000; // packet number at which the cut starts
const CUT_MS = 10_000;

function until(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const tick = () => {
      if (check()) return resolve();
      if (performance.now() - started > timeoutMs) return reject(new Error(`bench: timed out waiting until ${what}`));
      setTimeout(tick, 1);
    };
    tick();
  });
}

function pollEvery(meshes: (WebRTCMultiplayerPeer | LobbyMultiplayerPeer)[]): () => void {
  const timer = setInterval(() => {
    for (const m of meshes) m.poll();
  }, 2);
  return () => clearInterval(timer);
}

async function detection(): Promise<{ perSurvivor: number[]; reasons: string[] }> {
  const meshes = [2, 3, 4].map((id) => {
    const m = new WebRTCMultiplayerPeer();
    m.createMesh(id);
    return m;
  });
  const stop = pollEvery(meshes);
  try {
    for (let i = 0; i < meshes.length; i++) for (let j = i + 1; j < meshes.length; j++) link(meshes[i]!, meshes[j]!);
    const child = await spawnMember(meshes, 5, {});
    await until(() => meshes.every((m) => m.getPeerIds().length === 3), 'the 4-peer mesh to connect', 20_000);
    const detected: number[] = [];
    const reasons: string[] = [];
    let killedAt = 0;
    for (const m of meshes) {
      m.on('peer_disconnected', (id, reason) => {
        if (id !== 5) return;
        detected.push(performance.now() - killedAt);
        reasons.push(reason ?? '');
      });
    }
    killedAt = performance.now();
    await killHard(child);
    await until(() => detected.length === meshes.length, 'every survivor to report the killed peer', 20_000);
    // the survivors still talk
    meshes[0]!.targetPeer = 0;
    meshes[0]!.putPacket(new Uint8Array([1]));
    await until(() => meshes.slice(1).every((m) => m.getPacket() !== undefined), 'the survivors to exchange data', 10_000);
    return { perSurvivor: detected, reasons };
  } finally {
    stop();
    for (const m of meshes) m.close();
  }
}

interface CutResult {
  reconnectMs: number;
  received: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  replayed: number;
  attempts: number;
  downtimeMs: number;
}

async function cutAndReconnect(): Promise<CutResult> {
  const server = new SignalingServer();
  const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
  const blocked = new Set<string>();
  const join = async (lobby?: string): Promise<LobbyMultiplayerPeer> => {
    const client = new WebSocketSignalingClient(url);
    const sd = client.sendDescription.bind(client);
    const sc = client.sendCandidate.bind(client);
    client.sendDescription = (to, type, sdp) => (blocked.has(`${client.id}>${to}`) ? undefined : sd(to, type, sdp));
    client.sendCandidate = (to, mid, index, c) => (blocked.has(`${client.id}>${to}`) ? undefined : sc(to, mid, index, c));
    return Mesh.join({ signaling: client, connection: { bindAddress: '127.0.0.1' }, ...(lobby !== undefined && { lobby }) });
  };
  const a = await join();
  const b = await join(a.lobby);
  const stop = pollEvery([a, b]);
  try {
    await until(() => a.getPeerIds().length === 1 && b.getPeerIds().length === 1, 'the pair to connect', 20_000);
    const ia = a.getUniqueId();
    const ib = b.getUniqueId();
    const seen = new Uint8Array(TOTAL);
    let received = 0;
    let duplicated = 0;
    let outOfOrder = 0;
    let last = -1;
    const reader = setInterval(() => {
      let p;
      for (let from = b.getPacketPeer(); (p = b.getPacket()) !== undefined; from = b.getPacketPeer()) {
        if (from !== ia) continue;
        const n = new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(0);
        received++;
        if (n < TOTAL && seen[n]) duplicated++;
        else if (n < TOTAL) seen[n] = 1;
        if (n !== last + 1) outOfOrder++;
        last = n;
      }
    }, 2);
    let attempts = 0;
    a.on('reconnecting', (_id, n) => (attempts = Math.max(attempts, n)));
    let cutEndedAt = 0;
    const back = { a: 0, b: 0, downtime: 0 };
    a.on('reconnected', (_id, downtime) => {
      back.a = performance.now();
      back.downtime = downtime;
    });
    b.on('reconnected', () => (back.b = performance.now()));
    // the sender: 10 packets every 10 ms
    a.targetPeer = ib;
    let next = 0;
    const payload = new Uint8Array(32);
    const view = new DataView(payload.buffer);
    await new Promise<void>((resolve) => {
      const sender = setInterval(() => {
        for (let k = 0; k < RATE_PER_S / 100 && next < TOTAL; k++, next++) {
          view.setUint32(0, next);
          a.putPacket(payload.slice());
          if (next === CUT_AT) {
            blocked.add(`${ia}>${ib}`).add(`${ib}>${ia}`);
            a.getPeer(ib)!.connection.engineConnection!.close(); // underneath: the mesh learns from engine events
            setTimeout(() => {
              blocked.clear();
              cutEndedAt = performance.now();
            }, CUT_MS);
          }
        }
        if (next >= TOTAL) {
          clearInterval(sender);
          resolve();
        }
      }, 10);
    });
    await until(() => back.a > 0 && back.b > 0 && cutEndedAt > 0, 'both sides to reconnect', 60_000);
    await until(() => received >= TOTAL, 'every packet', 30_000);
    await until(() => a.getLinkStats(ib)!.channels[0]!.replayBuffered === 0, 'the last acks', 10_000);
    clearInterval(reader);
    let lost = 0;
    for (const s of seen) if (!s) lost++;
    return {
      reconnectMs: Math.max(back.a, back.b) - cutEndedAt,
      received,
      lost,
      duplicated,
      outOfOrder,
      replayed: a.getLinkStats(ib)!.replayed,
      attempts,
      downtimeMs: back.downtime,
    };
  } finally {
    stop();
    a.close();
    b.close();
    await server.close({ reconnect: false });
  }
}

/** 64 B reliable messages per second over one link, session header on or off (the header's cost). */
async function throughput(session: boolean): Promise<number> {
  const a = new WebRTCMultiplayerPeer({ session });
  const b = new WebRTCMultiplayerPeer({ session });
  a.createMesh(2);
  b.createMesh(3);
  const stop = pollEvery([a, b]);
  try {
    link(a, b);
    await until(() => a.getPeerIds().length === 1 && b.getPeerIds().length === 1, 'the pair to connect', 20_000);
    const count = 100_000;
    const msg = new Uint8Array(64);
    const channel = a.getPeer(3)!.channels[0]!;
    let received = 0;
    a.targetPeer = 3;
    const t0 = performance.now();
    let sent = 0;
    while (received < count) {
      while (sent < count && channel.getBufferedAmount() < 1024 * 1024) {
        a.putPacket(msg);
        sent++;
      }
      await new Promise((r) => setImmediate(r));
      a.poll();
      b.poll();
      while (b.getPacket() !== undefined) received++;
    }
    return count / ((performance.now() - t0) / 1000);
  } finally {
    stop();
    a.close();
    b.close();
  }
}

export async function run(): Promise<Record<string, number | string>> {
  const det = await detection();
  const cut = await cutAndReconnect();
  // alternate, and take medians, so JIT warm-up favours neither
  const on: number[] = [];
  const off: number[] = [];
  for (let r = 0; r < 3; r++) {
    if (r % 2 === 0) {
      off.push(await throughput(false));
      on.push(await throughput(true));
    } else {
      on.push(await throughput(true));
      off.push(await throughput(false));
    }
  }
  const withSession = median(on);
  const withoutSession = median(off);
  const detectMs = Math.max(...det.perSurvivor);
  printTable(
    'maintain: SIGKILL of one member of a 4-peer mesh (heartbeat 1 s / timeout 5 s, defaults)',
    ['survivor', 'detect ms', 'reason'],
    det.perSurvivor.map((ms, i) => [String(i + 1), ms, det.reasons[i]!]),
  );
  printTable(
    `maintain: link cut underneath for ${CUT_MS / 1000} s while ${TOTAL} numbered reliable packets flow (${RATE_PER_S}/s)`,
    ['figure', 'value'],
    [
      ['reconnect ms after the cut ended', cut.reconnectMs],
      ['downtime ms (lost → reconnected)', cut.downtimeMs],
      ['reconnection attempts', cut.attempts],
      ['packets received', cut.received],
      ['packets lost', cut.lost],
      ['packets duplicated', cut.duplicated],
      ['packets out of order', cut.outOfOrder],
      ['packets replayed by the sender', cut.replayed],
    ],
  );
  printTable(
    'maintain: 64 B reliable messages/s over one link, median of 3 alternating rounds (the session header and replay buffer cost)',
    ['session', 'msgs/s'],
    [
      ['on (default)', withSession],
      ['off', withoutSession],
    ],
  );
  const figures = {
    suite: 'maintain',
    detect_ms: round(detectMs, 0),
    detect_min_ms: round(Math.min(...det.perSurvivor), 0),
    reconnect_ms: round(cut.reconnectMs, 0),
    downtime_ms: round(cut.downtimeMs, 0),
    lost: cut.lost,
    duplicated: cut.duplicated,
    out_of_order: cut.outOfOrder,
    replayed: cut.replayed,
    attempts: cut.attempts,
    session_msgs_per_s: Math.round(withSession),
    plain_msgs_per_s: Math.round(withoutSession),
    session_ratio: round(withSession / withoutSession),
  };
  printFigures(figures);
  return figures;
}

if (isMain(import.meta.url)) await run();
