/**
 * Load-generator worker thread of bench/signaling.ts. Each worker owns whole
 * lobbies (rings of `lobbySize` clients): it connects and joins them, then each
 * client keeps `window` candidate messages in flight to its ring neighbour —
 * every relayed message a client receives makes it send the next one — so the
 * number in flight stays constant and the server's relay rate is the measure.
 *
 * Both protocols are spoken raw over `ws` with pre-built frames, and received
 * frames are only matched (no JSON parse) so the generator stays cheap:
 * - rtcmesh: `join` per lobby (the first member creates it), then `candidate` with `to`;
 * - PeerJS: `/peerjs?key=&id=&token=` then `CANDIDATE` with `dst` and a candidate payload.
 *
 * Parent → worker: `connect`, `start`, `reset`, `count`, `stop`; each answered
 * with a message of the same `cmd`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';

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

interface Client {
  ws: WebSocket;
  /** Frame to send to the ring neighbour (built once its id is known). */
  frame: string;
}

const clients: Client[] = [];
let received = 0;
/** Every frame received, relayed or not. */
let frames = 0;
let errors = 0;
let firstError = '';
let running = false;
let elu = performance.eventLoopUtilization();

/**
 * Open a socket and return a reader of its frames in order. The listener is
 * attached before `open`: a server that speaks first (PeerJS's `OPEN`) can
 * have its frame in the same read as the upgrade response.
 */
function open(url: string): Promise<{ ws: WebSocket; next: () => Promise<string> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 60_000 });
    const frames: string[] = [];
    let waiter: { resolve: (t: string) => void; reject: (e: Error) => void } | undefined;
    let closed: Error | undefined;
    const onMessage = (data: Buffer) => {
      if (waiter) {
        const w = waiter;
        waiter = undefined;
        w.resolve(data.toString());
      } else frames.push(data.toString());
    };
    ws.on('message', onMessage);
    ws.once('close', (code: number) => {
      closed = new Error(`closed (${code}) before answering`);
      waiter?.reject(closed);
    });
    const next = () =>
      new Promise<string>((res, rej) => {
        if (frames.length) return res(frames.shift()!);
        if (closed) return rej(closed);
        waiter = { resolve: res, reject: rej };
      });
    ws.once('open', () => {
      ws.off('error', reject);
      resolve({ ws, next });
    });
    ws.once('error', reject);
  });
}

/** Connect (and join) one client; returns its socket and its id as its neighbour addresses it. */
async function connectOne(lobby: string, member: number): Promise<{ ws: WebSocket; id: string }> {
  if (d.kind === 'peerjs') {
    const id = `${lobby}-${member}`;
    const { ws, next } = await open(`${d.url}?key=peerjs&id=${id}&token=t${member}`);
    const first = await next();
    if (!first.includes('"OPEN"')) throw new Error(`PeerJS refused ${id}: ${first}`);
    ws.removeAllListeners('message');
    return { ws, id };
  }
  const { ws, next } = await open(BATCH ? `${d.url}${d.url.includes('?') ? '&' : '?'}rtcmesh=4` : d.url);
  ws.send(JSON.stringify({ type: 'join', lobby }));
  for (;;) {
    type M = { type: string; id?: number; message?: string };
    const parsed = JSON.parse(await next()) as M | M[];
    // Protocol 4: several messages may come in one array frame.
    for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
      if (m.type === 'error') throw new Error(`join refused: ${m.message}`);
      if (m.type !== 'joined') continue;
      ws.removeAllListeners('message');
      return { ws, id: String(m.id) };
    }
  }
}

function frameTo(id: string): string {
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
  const members: { ws: WebSocket; id: string }[] = [await connectOne(name, 0)];
  members.push(...(await Promise.all(Array.from({ length: size - 1 }, (_, k) => connectOne(name, k + 1)))));
  for (let k = 0; k < size; k++) {
    const c: Client = { ws: members[k]!.ws, frame: frameTo(members[(k + 1) % size]!.id) };
    const arrays = BATCH && d.kind === 'rtcmesh';
    /** The reply to n relayed messages: n messages, in one array frame (protocol 4) when n > 1. */
    const replies: string[] = [];
    const reply = (n: number) => (replies[n] ??= `[${Array.from({ length: n }, () => c.frame).join(',')}]`);
    c.ws.on('message', (data: Buffer) => {
      frames++;
      let at = data.indexOf(MARK);
      if (at >= 0) {
        // An array frame (protocol 4) holds several relayed messages: count each.
        let n = 1;
        if (arrays) while ((at = data.indexOf(MARK, at + MARK.length)) >= 0) n++;
        received += n;
        if (!running) return;
        if (n === 1) c.ws.send(c.frame);
        else if (arrays) c.ws.send(reply(n));
      } else if (data.indexOf('rror') >= 0) {
        errors++;
        firstError ||= data.toString().slice(0, 200);
      }
    });
    c.ws.on('error', () => {});
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
        if (!c.frame) continue;
        // Protocol 4: the window's messages, sent in one turn, go in one array frame.
        if (BATCH && d.kind === 'rtcmesh' && d.window > 1) c.ws.send(`[${Array.from({ length: d.window }, () => c.frame).join(',')}]`);
        else for (let w = 0; w < d.window; w++) c.ws.send(c.frame);
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
      const open = clients.filter((c) => c.ws.readyState === WebSocket.OPEN).length;
      port.postMessage({ cmd: 'count', received, frames, busy, open, errors, firstError });
      return;
    }
    case 'stop': {
      running = false;
      let left = clients.length;
      const done = () => port.postMessage({ cmd: 'stop' });
      if (left === 0) return done();
      for (const c of clients) {
        c.ws.once('close', () => {
          if (--left === 0) done();
        });
        c.ws.terminate();
      }
      return;
    }
  }
});
