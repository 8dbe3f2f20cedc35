/**
 * One rtcmesh peer inside a lab namespace (test/system/netns.ts), remote
 * controlled by the test process over JSON lines: commands on stdin, events on
 * stdout (diagnostics on stderr). Started as
 * `ip netns exec NS node --import tsx test/system/netns-agent.ts`.
 *
 * Modes (first command, `start`):
 * - `peer`: a WebRTCPeerConnection with one negotiated channel `data` (id 1);
 *   once open, each side sends one greeting.
 * - `mesh`: a WebRTCMultiplayerPeer (mesh mode) with one link to `remoteId`;
 *   `burst` sends numbered packets on the reliable and unreliable channels,
 *   `report` tells what arrived, `sampleLoss` samples the heartbeat loss figure.
 *
 * It exits by itself after `close` or when stdin ends.
 */
import { createInterface } from 'node:readline';
import {
  TransferMode,
  WebRTCMultiplayerPeer,
  WebRTCPeerConnection,
  type MultiplayerPeerOptions,
  type PeerConnectionConfig,
  type WebRTCDataChannel,
} from '../api.js';

type Command =
  | { op: 'start'; mode: 'peer' | 'mesh'; id: number; remoteId: number; config: PeerConnectionConfig; offer: boolean; mesh?: MultiplayerPeerOptions }
  | { op: 'description'; type: 'offer' | 'answer'; sdp: string }
  | { op: 'candidate'; mid: string; index: number; candidate: string }
  | { op: 'stats' }
  | { op: 'burst'; reliable: number; unreliable: number; concurrent?: boolean }
  | { op: 'report' }
  | { op: 'awaitReliable'; count: number }
  | { op: 'sampleLoss'; count: number; everyMs: number }
  | { op: 'close' };

const out = (ev: string, data: Record<string, unknown> = {}) => process.stdout.write(JSON.stringify({ ev, ...data }) + '\n');

let pc: WebRTCPeerConnection | undefined;
let mesh: WebRTCMultiplayerPeer | undefined;
let remoteId = 0;
let loop: ReturnType<typeof setInterval> | undefined;
const timers = new Set<ReturnType<typeof setTimeout>>();

/** Payload of numbered packet `seq` on `channel`: seq (u32) then 12 bytes derived from it. */
function packet(channel: number, seq: number): Uint8Array {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, seq);
  for (let i = 4; i < 16; i++) bytes[i] = (seq * 31 + i * 7 + channel * 101) & 0xff;
  return bytes;
}

function check(channel: number, bytes: Uint8Array): number {
  if (bytes.length !== 16) return -1;
  const seq = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  const expected = packet(channel, seq);
  for (let i = 4; i < 16; i++) if (bytes[i] !== expected[i]) return -1;
  return seq;
}

const received = {
  reliable: { count: 0, next: 0, outOfOrder: 0, /** Longest wait between two reliable packets (ms): shows stalls. */ maxGapMs: 0, lastAt: 0 },
  unreliable: { count: 0, seen: new Set<number>(), duplicates: 0 },
  /** Packets matching neither channel's numbering. */
  corrupt: 0,
};

function start(cmd: Extract<Command, { op: 'start' }>): void {
  remoteId = cmd.remoteId;
  pc = new WebRTCPeerConnection(cmd.config, { autoPoll: true });
  pc.on('session_description_created', (type, sdp) => out('description', { type, sdp }));
  pc.on('ice_candidate_created', (mid, index, candidate) => out('candidate', { mid, index, candidate }));
  pc.on('connection_state_changed', (state) => out('state', { state }));
  pc.on('error', (err) => out('error', { code: err.code, message: err.message }));
  if (cmd.mode === 'peer') {
    const ch: WebRTCDataChannel = pc.createDataChannel('data', { negotiated: true, id: 1 });
    ch.on('open', () => {
      out('open');
      ch.putPacket(new TextEncoder().encode(`hello from ${cmd.id}`));
    });
    ch.on('packet', (bytes) => out('packet', { text: new TextDecoder().decode(bytes) }));
  } else {
    mesh = new WebRTCMultiplayerPeer(cmd.mesh ?? {});
    mesh.createMesh(cmd.id);
    mesh.addPeer(pc, remoteId);
    mesh.on('peer_connected', (id) => out('peer_connected', { id }));
    mesh.on('peer_disconnected', (id, reason) => out('peer_disconnected', { id, reason, history: mesh?.getClosedLinkStats(id)?.history }));
    loop = setInterval(tick, 2);
  }
  if (cmd.offer) pc.createOffer();
}

/** Emit `received` (a report) once this many reliable packets arrived (0: not waiting). */
let awaitReliable = 0;

function report(ev: string): void {
  const { reliable, unreliable, corrupt } = received;
  out(ev, {
    reliable: { count: reliable.count, next: reliable.next, outOfOrder: reliable.outOfOrder, maxGapMs: reliable.maxGapMs },
    unreliable: { count: unreliable.count, distinct: unreliable.seen.size, duplicates: unreliable.duplicates },
    corrupt,
    link: mesh?.getLinkStats(remoteId),
  });
}

let toSend = { reliable: 0, unreliable: 0, sentReliable: 0, sentUnreliable: 0, concurrent: false };
const nextSeq = { reliable: 0, unreliable: 0 };

function tick(): void {
  const m = mesh!;
  m.poll();
  // Packets are told apart by content (each channel's bytes differ), so a
  // corrupt packet counts on its own and nothing depends on getPacketMode().
  for (let bytes = m.getPacket(); bytes !== undefined; bytes = m.getPacket()) {
    const reliableSeq = check(0, bytes);
    if (reliableSeq >= 0) {
      const r = received.reliable;
      const now = performance.now();
      if (r.count > 0) r.maxGapMs = Math.max(r.maxGapMs, Math.round(now - r.lastAt));
      r.lastAt = now;
      r.count++;
      if (reliableSeq !== r.next) r.outOfOrder++;
      r.next = reliableSeq + 1;
      continue;
    }
    const seq = check(2, bytes);
    const u = received.unreliable;
    if (seq < 0) {
      received.corrupt++;
      continue;
    }
    u.count++;
    if (u.seen.has(seq)) u.duplicates++;
    u.seen.add(seq);
  }
  if (awaitReliable > 0 && received.reliable.count >= awaitReliable) {
    awaitReliable = 0;
    report('received');
  }
  const peer = m.getPeer(remoteId);
  if (!peer?.connected) return;
  // Unreliable packets first (paced), then the reliable ones (send buffer kept
  // short). Numbering continues across bursts, so a reliable packet after a
  // burst of unreliable ones arrives after everything that burst delivered.
  // `concurrent`: both at once, each tick's unreliable packets queued behind
  // up to 64 KiB of reliable data (as when the stalls were seen).
  const reliableChannel = peer.channels[0]!;
  const sendReliable = () => {
    while (toSend.sentReliable < toSend.reliable && reliableChannel.getBufferedAmount() < 64 * 1024) {
      m.transferMode = TransferMode.RELIABLE;
      m.targetPeer = remoteId;
      for (let i = 0; i < 200 && toSend.sentReliable < toSend.reliable; i++, toSend.sentReliable++) m.putPacket(packet(0, nextSeq.reliable++));
    }
  };
  if (toSend.concurrent) sendReliable();
  for (let i = 0; i < 10 && toSend.sentUnreliable < toSend.unreliable; i++) {
    m.transferMode = TransferMode.UNRELIABLE;
    m.targetPeer = remoteId;
    m.putPacket(packet(2, nextSeq.unreliable++));
    toSend.sentUnreliable++;
  }
  if (toSend.sentUnreliable === toSend.unreliable) sendReliable();
  if (toSend.reliable + toSend.unreliable > 0 && toSend.sentReliable === toSend.reliable && toSend.sentUnreliable === toSend.unreliable) {
    out('sent', { reliable: toSend.reliable, unreliable: toSend.unreliable });
    toSend = { reliable: 0, unreliable: 0, sentReliable: 0, sentUnreliable: 0, concurrent: false };
  }
}

function handle(cmd: Command): void {
  switch (cmd.op) {
    case 'start':
      return start(cmd);
    case 'description':
      pc!.setRemoteDescription(cmd.type, cmd.sdp);
      return;
    case 'candidate':
      pc!.addIceCandidate(cmd.mid, cmd.index, cmd.candidate);
      return;
    case 'stats': {
      const stats = mesh ? mesh.getPeer(remoteId)?.connection.getStats() : pc!.getStats();
      out('stats', { stats });
      return;
    }
    case 'burst':
      toSend = { reliable: cmd.reliable, unreliable: cmd.unreliable, sentReliable: 0, sentUnreliable: 0, concurrent: cmd.concurrent ?? false };
      return;
    case 'report':
      return report('report');
    case 'awaitReliable':
      awaitReliable = cmd.count;
      return;
    case 'sampleLoss': {
      const samples: number[] = [];
      const take = () => {
        const link = mesh!.getLinkStats(remoteId);
        samples.push(link?.loss ?? -1);
        if (samples.length < cmd.count) schedule(take, cmd.everyMs);
        else out('lossSamples', { samples, link });
      };
      schedule(take, cmd.everyMs);
      return;
    }
    case 'close':
      return close();
  }
}

function schedule(fn: () => void, ms: number): void {
  const t = setTimeout(() => {
    timers.delete(t);
    fn();
  }, ms);
  timers.add(t);
}

function close(): void {
  if (loop) clearInterval(loop);
  for (const t of timers) clearTimeout(t);
  timers.clear();
  mesh?.close();
  pc?.close();
  rl.close();
  out('closed');
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  try {
    handle(JSON.parse(line) as Command);
  } catch (err) {
    out('fatal', { message: (err as Error).stack ?? String(err) });
  }
});
rl.on('close', () => {
  if (loop) clearInterval(loop);
  for (const t of timers) clearTimeout(t);
  mesh?.close();
  pc?.close();
});
out('ready');
