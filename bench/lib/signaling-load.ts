/**
 * Load-generator worker thread of bench/signaling.ts. Each worker owns whole
 * lobbies (rings of `lobbySize` clients): it connects and joins them, then each
 * client keeps `window` candidate messages in flight to its ring neighbour —
 * every relayed message a client receives makes it send the next one — so the
 * number in flight stays constant and the server's relay rate is the measure.
 *
 * Both protocols are spoken over a minimal WebSocket client
 * (./raw-ws-client.ts) with frames built once per client and reply size and
 * sent with one write each, and received frames are only matched in place
 * (no JSON parse), so the generator stays cheap and the servers get the cores:
 * - rtcmesh: `join` per lobby (the first member creates it), then `candidate` with `to`;
 * - PeerJS: `/peerjs?key=&id=&token=` then `CANDIDATE` with `dst` and a candidate payload.
 *
 * Parent → worker: `connect`, `start`, `reset`, `count`, `stop`; each answered
 * with a message of the same `cmd`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { RawWsClient, clientFrame } from './raw-ws-client.js';

export interface LoadWorkerData {
  kind: 'rtcmesh' | 'peerjs';
  url: string;
  /** Worker index, to make names unique across workers. */
  worker: number;
  /** Size of each lobby this worker owns. */
  lobbies: number[];
  /** Messages each client keeps in flight. */
  window: number;
  /** Connections (and joins) under way at once. */
  concurrency: number;
}

const CANDIDATE = 'candidate:842163049 1 udp 1677729535 203.0.113.7 61234 typ srflx raddr 192.168.1.20 rport 61234 generation 0';
/** Marks a relayed message in either protocol. */
const MARK = Buffer.from('candidate:842163049');

/**
 * rtcmesh clients announce protocol 4 (`?rtcmesh=4`: array frames both ways)
 * unless BENCH_SIGNALING_BATCH=0 (protocol 3, one message per frame: what an
 * older server build speaks).
 */
const BATCH = process.env.BENCH_SIGNALING_BATCH !== '0';

const d = workerData as LoadWorkerData;
const port = parentPort!;

/** rtcmesh clients of protocol 4: several messages go in one array frame. */
const ARRAYS = BATCH && d.kind === 'rtcmesh';

interface Client {
  ws: RawWsClient;
  /** The frame of one message to the ring neighbour (built once its id is known). */
  single: Buffer;
  /** The reply to n relayed messages: `single` for 1, one array frame of n (protocol 4) else; built once per n. */
  reply(n: number): Buffer;
}

const clients: Client[] = [];
let received = 0;
/** Every frame received, relayed or not. */
let frames = 0;
let errors = 0;
let firstError = '';
let running = false;
let elu = performance.eventLoopUtilization();

function noteError(message: string): void {
  errors++;
  firstError ||= message.slice(0, 200);
}

/**
 * Open a socket and return a reader of its text messages in order. The
 * reader is in place from the upgrade on: a server that speaks first
 * (PeerJS's `OPEN`) can have its frame in the same read as the upgrade
 * response.
 */
async function open(url: string): Promise<{ ws: RawWsClient; next: () => Promise<string> }> {
  const texts: string[] = [];
  let waiter: { resolve: (t: string) => void; reject: (e: Error) => void } | undefined;
  let failed: Error | undefined;
  const ws = await RawWsClient.open(url, {
    text(payload) {
      const t = payload.toString();
      if (waiter) {
        const w = waiter;
        waiter = undefined;
        w.resolve(t);
      } else texts.push(t);
    },
    error(message) {
      failed = new Error(message);
      waiter?.reject(failed);
    },
  });
  ws.socket.once('close', () => {
    failed ??= new Error('closed before answering');
    waiter?.reject(failed);
  });
  const next = () =>
    new Promise<string>((res, rej) => {
      if (texts.length) return res(texts.shift()!);
      if (failed) return rej(failed);
      waiter = { resolve: res, reject: rej };
    });
  return { ws, next };
}

/** Connect (and join) one client; returns its socket and its id as its neighbour addresses it. */
async function connectOne(lobby: string, member: number): Promise<{ ws: RawWsClient; id: string }> {
  if (d.kind === 'peerjs') {
    const id = `${lobby}-${member}`;
    const { ws, next } = await open(`${d.url}?key=peerjs&id=${id}&token=t${member}`);
    const first = await next();
    if (!first.includes('"OPEN"')) throw new Error(`PeerJS refused ${id}: ${first}`);
    return { ws, id };
  }
  const { ws, next } = await open(BATCH ? `${d.url}${d.url.includes('?') ? '&' : '?'}rtcmesh=4` : d.url);
  ws.send(clientFrame(JSON.stringify({ type: 'join', lobby })));
  for (;;) {
    type M = { type: string; id?: number; message?: string };
    const parsed = JSON.parse(await next()) as M | M[];
    // Protocol 4: several messages may come in one array frame.
    for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
      if (m.type === 'error') throw new Error(`join refused: ${m.message}`);
      if (m.type !== 'joined') continue;
      return { ws, id: String(m.id) };
    }
  }
}

function textTo(id: string): string {
  if (d.kind === 'peerjs') {
    return JSON.stringify({
      type: 'CANDIDATE',
      dst: id,
      payload: { candidate: { candidate: CANDIDATE, sdpMLineIndex: 0, sdpMid: '0' }, type: 'data', connectionId: 'dc_bench' },
    });
  }
  return JSON.stringify({ type: 'candidate', to: Number(id), mid: '0', index: 0, candidate: CANDIDATE });
}

async function connectLobby(li: number, size: number): Promise<void> {
  const name = `b${d.worker}-${li}`;
  // The first member creates the lobby (rtcmesh) before the others join it.
  const members: { ws: RawWsClient; id: string }[] = [await connectOne(name, 0)];
  members.push(...(await Promise.all(Array.from({ length: size - 1 }, (_, k) => connectOne(name, k + 1)))));
  for (let k = 0; k < size; k++) {
    const text = textTo(members[(k + 1) % size]!.id);
    const single = clientFrame(text);
    const replies: Buffer[] = [];
    const c: Client = {
      ws: members[k]!.ws,
      single,
      reply: (n) => (n === 1 ? single : (replies[n] ??= clientFrame(`[${Array.from({ length: n }, () => text).join(',')}]`))),
    };
    c.ws.setHandlers({
      text(data) {
        frames++;
        let at = data.indexOf(MARK);
        if (at >= 0) {
          // An array frame (protocol 4) holds several relayed messages: count each.
          let n = 1;
          if (ARRAYS) while ((at = data.indexOf(MARK, at + MARK.length)) >= 0) n++;
          received += n;
          if (!running) return;
          c.ws.send(c.reply(n));
        } else if (data.indexOf('rror') >= 0) noteError(data.toString());
      },
      error: noteError,
    });
    clients.push(c);
  }
}

async function connectAll(): Promise<{ connected: number; failed: number; error: string }> {
  let next = 0;
  let failed = 0;
  let error = '';
  const perLobby = Math.max(1, Math.ceil(d.concurrency / Math.max(1, Math.max(...d.lobbies))));
  const run = async () => {
    while (next < d.lobbies.length) {
      const li = next++;
      try {
        await connectLobby(li, d.lobbies[li]!);
      } catch (err) {
        failed += d.lobbies[li]!;
        error ||= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: perLobby }, run));
  return { connected: clients.length, failed, error };
}

port.on('message', (m: { cmd: string }) => {
  switch (m.cmd) {
    case 'connect':
      void connectAll().then((r) => port.postMessage({ cmd: 'connect', ...r }));
      return;
    case 'start':
      running = true;
      for (const c of clients) {
        // Protocol 4: the window's messages, sent in one turn, go in one array frame.
        if (ARRAYS) c.ws.send(c.reply(d.window));
        else for (let w = 0; w < d.window; w++) c.ws.send(c.single);
      }
      port.postMessage({ cmd: 'start' });
      return;
    case 'reset':
      received = 0;
      frames = 0;
      elu = performance.eventLoopUtilization();
      port.postMessage({ cmd: 'reset' });
      return;
    case 'count': {
      const busy = performance.eventLoopUtilization(elu).utilization;
      const open = clients.filter((c) => c.ws.open).length;
      port.postMessage({ cmd: 'count', received, frames, busy, open, errors, firstError });
      return;
    }
    case 'stop': {
      running = false;
      let left = clients.length;
      const done = () => port.postMessage({ cmd: 'stop' });
      if (left === 0) return done();
      for (const c of clients) {
        c.ws.socket.once('close', () => {
          if (--left === 0) done();
        });
        c.ws.terminate();
      }
      return;
    }
  }
});
