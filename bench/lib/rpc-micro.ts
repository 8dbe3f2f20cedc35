/**
 * bench/rpc's no-network figures: the RPC layer's own CPU per immediate call
 * over a mesh that sends nowhere (`rpc_send_ns_per_call`,
 * `rpc_receive_ns_per_call`), and the codec's cost per call, shipping codec or
 * msgpackr both ways (`codec_ns_per_call`, `codec_msgpackr_ns_per_call`).
 * Each call carries (id: int, x, y, z: float64).
 */
import { TransferMode } from '../../src/index.js';
import { RpcEndpoint } from '../../src/rpc/index.js';
import { FrameKind, decodeMessage, encode, encodeHeader } from '../../src/rpc/codec.js';
import { fastEncodeCall } from '../../src/rpc/fast-encode.js';
import { NullMesh } from './null-mesh.js';
import { median } from './report.js';

const CODEC_CALLS = 200_000;

/**
 * The RPC layer's own CPU cost per immediate call, no network (a {@link NullMesh}):
 * the sender (`rpcId` → encode → `putPacket`) and the receiver (`receive` →
 * decode → handler). Process CPU time, median of 7 repetitions: steady under load.
 */
export function layerNsPerCall(): { send: number; receive: number } {
  const N = 200_000;
  let sum = 0;
  const mk = (id: number) =>
    new RpcEndpoint(new NullMesh(id)).register('moveNow', (_ctx, id: number, _x: number, _y: number, _z: number) => void (sum += id), { mode: 'any_peer', immediate: true });
  const sender = mk(1);
  const receiver = mk(2);
  const header = encodeHeader(receiver.getTableChecksum());
  const messages = Array.from({ length: 1024 }, (_, i) => {
    const f = encode([FrameKind.CALL, 0, [i * 1000, 1.5, 2.5, 3.5]]);
    const m = new Uint8Array(header.length + f.length);
    m.set(header);
    m.set(f, header.length);
    return m;
  });
  const cpuNs = (f: () => void) => {
    const runs: number[] = [];
    for (let k = 0; k < 7; k++) {
      const c0 = process.cpuUsage();
      f();
      const c = process.cpuUsage(c0);
      runs.push(((c.user + c.system) * 1000) / N);
    }
    return median(runs);
  };
  const send = cpuNs(() => {
    for (let i = 0; i < N; i++) sender.rpcId(2, 'moveNow', i, 1.5, 2.5, 3.5);
  });
  const receive = cpuNs(() => {
    for (let i = 0; i < N; i++) receiver.receive(messages[i & 1023]!, 1, 0, TransferMode.RELIABLE);
  });
  if (receiver.getStats().callsDispatched !== 7 * N || sum <= 0) throw new Error('bench/rpc: the receiver did not dispatch every call');
  sender.close();
  receiver.close();
  return { send, receive };
}

/**
 * Codec cost per call, no network: encode one call frame + its share of
 * decoding a 1000-frame message. Shipping codec: the endpoint's encoder for
 * this call (the hand-written fast path) and msgpackr's decoder; `generic`:
 * msgpackr for both.
 */
export function codecNsPerCall(generic: boolean): number {
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
