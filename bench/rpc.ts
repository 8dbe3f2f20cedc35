/**
 * bench/rpc: RPC throughput over one real loopback link (two
 * WebRTCMultiplayerPeers in mesh mode), side by side with raw node-datachannel
 * on the same link. In order, on one connection pair:
 *
 * - raw: 64 B messages/s on a raw node-datachannel channel of the link's own
 *   native connections (negotiated id 900, beside the mesh's channels), with
 *   the same flow control;
 * - unbatched: every call is `immediate`, so one call = one SCTP message;
 * - batched: a 60 Hz Ticker (virtual clock, ticks run back to back) where each
 *   tick's update makes CALLS_PER_TICK calls, flushed as one message per tick.
 *
 * Codec, no network: `codec_ns_per_call` is what such a call pays in the
 * shipping codec (the endpoint's hand-written encoder for calls of numbers /
 * booleans / null / short ASCII strings, then msgpackr's decoder);
 * `codec_msgpackr_ns_per_call` is msgpackr for both (the path of calls with
 * objects, Maps, bins, bigints, Dates or non-ASCII strings).
 * Each call carries (id: int, x, y, z: float64), ~40 B encoded.
 */
import ndc from 'node-datachannel';
import { DatachannelEngine, WebRTCMultiplayerPeer, WebRTCPeerConnection } from '../src/index.js';
import { RpcEndpoint, Ticker } from '../src/rpc/index.js';
import { FrameKind, decodeMessage, encode, encodeHeader } from '../src/rpc/codec.js';
import { fastEncodeCall } from '../src/rpc/fast-encode.js';
import type { Engine, EngineConnection, EngineConfig, EngineConnectionHandlers } from '../src/transport/engine.js';
import { rawChannelLink, stream, type BenchLink } from './lib/links.js';
import { isMain, printFigures, printTable, round } from './lib/report.js';

const RAW_MESSAGES = 100_000;
const UNBATCHED_CALLS = 60_000;
const BATCHED_CALLS = 600_000;
const CALLS_PER_TICK = Number(process.env.RPC_BENCH_CALLS_PER_TICK ?? 2_000);
const CODEC_CALLS = 200_000;
const HIGH_WATER = 1024 * 1024;

const tick = () => new Promise<void>((r) => setImmediate(r));

/** The node-datachannel engine, keeping a handle on each connection it makes. */
class TapEngine implements Engine {
  readonly name = 'node-datachannel';
  private readonly inner = new DatachannelEngine();
  readonly made: EngineConnection[] = [];
  createConnection(config: EngineConfig, handlers: EngineConnectionHandlers): EngineConnection {
    const conn = this.inner.createConnection(config, handlers);
    this.made.push(conn);
    return conn;
  }
}

/** The native node-datachannel connection under an engine connection (bench only: reaches a private field). */
function nativeOf(conn: EngineConnection | undefined): ndc.PeerConnection {
  const pc = (conn as unknown as { pc?: ndc.PeerConnection } | undefined)?.pc;
  if (!pc || typeof pc.createDataChannel !== 'function') throw new Error('bench/rpc: cannot reach the node-datachannel connection under the mesh link');
  return pc;
}

/** A raw node-datachannel channel pair (negotiated id 900) on two native connections. */
function rawChannels(a: ndc.PeerConnection, b: ndc.PeerConnection): { link: BenchLink; open: Promise<void> } {
  const da = a.createDataChannel('raw-bench', { negotiated: true, id: 900 });
  const db = b.createDataChannel('raw-bench', { negotiated: true, id: 900 });
  return rawChannelLink('raw node-datachannel, same link', da, db, () => {
    da.close();
    db.close();
  });
}

/**
 * Two mesh-mode multiplayer peers (ids 1, 2) linked over loopback, and a raw
 * node-datachannel channel pair on the same two native connections.
 */
async function meshLink(): Promise<[WebRTCMultiplayerPeer, WebRTCMultiplayerPeer, BenchLink]> {
  const a = new WebRTCMultiplayerPeer();
  const b = new WebRTCMultiplayerPeer();
  a.createMesh(1);
  b.createMesh(2);
  const engine = new TapEngine();
  const ca = new WebRTCPeerConnection({ bindAddress: '127.0.0.1' }, { autoPoll: true, engine });
  const cb = new WebRTCPeerConnection({ bindAddress: '127.0.0.1' }, { autoPoll: true, engine });
  if (engine.made.length !== 2) throw new Error('bench/rpc: expected one native connection per side');
  const raw = rawChannels(nativeOf(engine.made[0]), nativeOf(engine.made[1]));
  ca.on('session_description_created', (t, s) => (ca.setLocalDescription(t, s), cb.setRemoteDescription(t, s)));
  cb.on('session_description_created', (t, s) => (cb.setLocalDescription(t, s), ca.setRemoteDescription(t, s)));
  ca.on('ice_candidate_created', (m, i, c) => cb.addIceCandidate(m, i, c));
  cb.on('ice_candidate_created', (m, i, c) => ca.addIceCandidate(m, i, c));
  a.addPeer(ca, 2);
  b.addPeer(cb, 1);
  cb.createOffer();
  const t0 = Date.now();
  while (a.getPeerIds().length === 0 || b.getPeerIds().length === 0) {
    if (Date.now() - t0 > 15_000) throw new Error('bench/rpc: link did not open in 15 s');
    a.poll();
    b.poll();
    await new Promise((r) => setTimeout(r, 2));
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([raw.open, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('bench/rpc: raw channel did not open in 15 s')), 15_000)))]);
  clearTimeout(timer);
  return [a, b, raw.link];
}

function endpoints(a: WebRTCMultiplayerPeer, b: WebRTCMultiplayerPeer, counter: { n: number; last: number }) {
  const mk = (m: WebRTCMultiplayerPeer) =>
    new RpcEndpoint(m)
      .register('move', (_ctx, id: number, _x: number, _y: number, _z: number) => {
        counter.n++;
        counter.last = id;
      }, { mode: 'any_peer' })
      .register('moveNow', (_ctx, id: number, _x: number, _y: number, _z: number) => {
        counter.n++;
        counter.last = id;
      }, { mode: 'any_peer', immediate: true });
  return [mk(a), mk(b)] as const;
}

async function rawMessagesPerSecond(link: BenchLink): Promise<number> {
  const s = await stream(link, 64, RAW_MESSAGES * 64);
  link.onMessageB(() => {});
  return RAW_MESSAGES / s;
}

async function unbatchedCallsPerSecond(a: WebRTCMultiplayerPeer, b: WebRTCMultiplayerPeer): Promise<number> {
  const counter = { n: 0, last: -1 };
  const [ea, eb] = endpoints(a, b, counter);
  for (let i = 0; i < 3; i++) (ea.poll(), eb.poll(), ea.flush(), eb.flush(), await tick());
  const ch = a.getPeer(2)!.channels[0]!;
  const t0 = performance.now();
  let sent = 0;
  while (counter.n < UNBATCHED_CALLS) {
    while (sent < UNBATCHED_CALLS && ch.getBufferedAmount() < HIGH_WATER) {
      ea.rpcId(2, 'moveNow', sent++, 1.5, 2.5, 3.5);
      if ((sent & 255) === 0) break;
    }
    eb.poll();
    await tick();
  }
  const s = (performance.now() - t0) / 1000;
  if (counter.last !== UNBATCHED_CALLS - 1) throw new Error('bench/rpc: unbatched calls arrived out of order');
  ea.close();
  eb.close();
  return UNBATCHED_CALLS / s;
}

async function batchedCallsPerSecond(a: WebRTCMultiplayerPeer, b: WebRTCMultiplayerPeer): Promise<{ callsPerS: number; messages: number; ticks: number }> {
  const counter = { n: 0, last: -1 };
  const [ea, eb] = endpoints(a, b, counter);
  let now = 0;
  const clock = { now: () => now };
  let sent = 0;
  const ch = a.getPeer(2)!.channels[0]!;
  // One ticker per side, as two game processes would have; same 60 Hz virtual timeline.
  const sender = new Ticker(ea, {
    rate: 60,
    clock,
    update: () => {
      if (ch.getBufferedAmount() >= HIGH_WATER) return; // back-pressure: skip this tick's burst
      for (let i = 0; i < CALLS_PER_TICK && sent < BATCHED_CALLS; i++) ea.rpcId(2, 'move', sent++, 1.5, 2.5, 3.5);
    },
  });
  const receiver = new Ticker(eb, { rate: 60, clock });
  for (let i = 0; i < 3; i++) (sender.step(), receiver.step(), await tick());
  const msgs0 = ea.getStats().messagesSent;
  const t0 = performance.now();
  while (counter.n < BATCHED_CALLS) {
    now += sender.dtMs;
    sender.advance();
    receiver.advance();
    await tick();
  }
  const s = (performance.now() - t0) / 1000;
  if (counter.last !== BATCHED_CALLS - 1) throw new Error('bench/rpc: batched calls arrived out of order');
  const messages = ea.getStats().messagesSent - msgs0;
  ea.close();
  eb.close();
  return { callsPerS: BATCHED_CALLS / s, messages, ticks: sender.tick };
}

/**
 * Codec cost per call, no network: encode one call frame + its share of
 * decoding a 1000-frame message. Shipping codec: the endpoint's encoder for
 * this call (the hand-written fast path) and msgpackr's decoder; `generic`:
 * msgpackr for both.
 */
function codecNsPerCall(generic: boolean): number {
  // The call shape must take the fast path, and the fast path must write what msgpackr writes.
  const sample = fastEncodeCall(FrameKind.CALL, 0, [123456, 1.5, 2.5, 3.5]);
  const reference = encode([FrameKind.CALL, 0, [123456, 1.5, 2.5, 3.5]]);
  if (!sample || sample.length !== reference.length || sample.some((b, i) => b !== reference[i])) {
    throw new Error('bench/rpc: the fast path does not take or does not match msgpackr for the benchmark call');
  }
  const header = encodeHeader(0);
  const run = () => {
    const frames: Uint8Array[] = [];
    let len = header.length;
    const t0 = performance.now();
    for (let i = 0; i < CODEC_CALLS; i++) {
      const args = [i, 1.5, 2.5, 3.5];
      const f = generic ? encode([FrameKind.CALL, 0, args]) : fastEncodeCall(FrameKind.CALL, 0, args)!;
      frames.push(f);
      len += f.length;
      if (frames.length === 1000 || i === CODEC_CALLS - 1) {
        const buf = new Uint8Array(len);
        buf.set(header);
        let o = header.length;
        for (const fr of frames) (buf.set(fr, o), (o += fr.length));
        const { frames: out } = decodeMessage(buf);
        if (out.length !== frames.length) throw new Error('codec bench: frame count mismatch');
        frames.length = 0;
        len = header.length;
      }
    }
    return ((performance.now() - t0) * 1e6) / CODEC_CALLS;
  };
  run(); // warm-up
  return Math.min(run(), run());
}

export async function run(): Promise<Record<string, number | string>> {
  const stage = (s: string) => process.stderr.write(`bench/rpc: ${s}\n`);
  stage('codec');
  const codecNs = codecNsPerCall(false);
  const codecGenericNs = codecNsPerCall(true);
  stage('mesh link');
  const [a, b, rawLinkOnMesh] = await meshLink();
  stage('raw node-datachannel, same link');
  const raw = await rawMessagesPerSecond(rawLinkOnMesh);
  stage('unbatched');
  const unbatched = await unbatchedCallsPerSecond(a, b);
  stage('batched');
  const batched = await batchedCallsPerSecond(a, b);
  rawLinkOnMesh.close();
  a.close();
  b.close();
  const frameBytes = encode([FrameKind.CALL, 0, [123456, 1.5, 2.5, 3.5]]).length;
  printTable(
    'rpc: one loopback link, node-datachannel; calls carry (int, 3 × float64)',
    ['figure', 'value', 'note'],
    [
      ['raw node-datachannel 64 B messages/s', raw, `${RAW_MESSAGES} messages, own channel on the same link, run first`],
      ['RPC calls/s, unbatched (immediate)', unbatched, 'one message per call'],
      ['RPC calls/s, batched at 60 Hz', batched.callsPerS, `${CALLS_PER_TICK} calls/tick, ticks back to back`],
      ['batched ÷ raw', batched.callsPerS / raw, 'target ≥ 5'],
      ['unbatched ÷ raw', unbatched / raw, ''],
      ['messages for the batched run', batched.messages, `${BATCHED_CALLS} calls, ${batched.ticks} ticks`],
      ['codec ns per call, shipping codec (encode + decode)', codecNs, `hand-written encoder + msgpackr decode, ${frameBytes} B per call frame`],
      ['codec ns per call, pure msgpackr (encode + decode)', codecGenericNs, 'msgpackr both ways: calls with objects, Maps, bins, bigints, Dates, non-ASCII'],
    ],
  );
  const figures = {
    suite: 'rpc',
    unbatched_calls_per_s: Math.round(unbatched),
    batched_calls_per_s: Math.round(batched.callsPerS),
    raw_msgs_per_s: Math.round(raw),
    batched_ratio: round(batched.callsPerS / raw),
    unbatched_ratio: round(unbatched / raw),
    codec_ns_per_call: round(codecNs, 1),
    codec_msgpackr_ns_per_call: round(codecGenericNs, 1),
    calls_per_tick: CALLS_PER_TICK,
    frame_bytes: frameBytes,
  };
  printFigures(figures);
  return figures;
}

if (isMain(import.meta.url)) await run();
