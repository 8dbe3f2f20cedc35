/**
 * Helpers for virtual-network tests: wire two auto-polling connections whose
 * engines are virtual hosts, and drive them with the virtual clock.
 */
import { expect } from 'vitest';
import {
  WebRTCMultiplayerPeer,
  WebRTCPeerConnection,
  type MultiplayerPeerOptions,
  type PeerConnectionConfig,
  type WebRTCDataChannel,
} from '../api.js';
import type { VirtualHost, VirtualNetwork } from '../../src/transport/virtual/index.js';
import { wire } from '../helpers.js';

/** Two wired auto-polling connections on hosts `a` and `b`. */
export function virtualPair(a: VirtualHost, b: VirtualHost, config: PeerConnectionConfig = {}): [WebRTCPeerConnection, WebRTCPeerConnection] {
  const pa = new WebRTCPeerConnection(config, { engine: a.engine, autoPoll: true });
  const pb = new WebRTCPeerConnection(config, { engine: b.engine, autoPoll: true });
  wire(pa, pb);
  return [pa, pb];
}

/** Connect a pair with one negotiated channel each side (same id), run until both open. */
export function openNegotiated(
  net: VirtualNetwork,
  a: VirtualHost,
  b: VirtualHost,
  options: { ordered?: boolean; maxRetransmits?: number; maxPacketLifeTime?: number } = {},
): { pa: WebRTCPeerConnection; pb: WebRTCPeerConnection; ca: WebRTCDataChannel; cb: WebRTCDataChannel } {
  const [pa, pb] = virtualPair(a, b);
  const ca = pa.createDataChannel('data', { negotiated: true, id: 1, ...options });
  const cb = pb.createDataChannel('data', { negotiated: true, id: 1, ...options });
  pa.createOffer();
  const ok = net.runUntil(() => ca.getReadyState() === 1 && cb.getReadyState() === 1, { maxMs: 20_000 });
  if (!ok) throw new Error('channels did not open');
  return { pa, pb, ca, cb };
}

/**
 * Two mesh peers (ids 2 and 3, on the network's clock plus `options`, or
 * plus one options object each when given a pair) linked by
 * a wired pair of auto-polling connections on hosts `ha` and `hb` (two fresh
 * hosts by default); 3 offers. Polls both until `connected(a, b)` holds (by
 * default: each sees the other), asserting that it does within `maxMs`.
 * `poll` polls both and returns false, so it also serves as a predicate that
 * never stops `runUntil`.
 */
export function meshPairOnVirtual(
  net: VirtualNetwork,
  options: MultiplayerPeerOptions | [MultiplayerPeerOptions, MultiplayerPeerOptions] = {},
  [ha, hb]: [VirtualHost, VirtualHost] = [net.createHost(), net.createHost()],
  {
    maxMs = 10_000,
    connected = (a, b) => a.getPeerIds().length === 1 && b.getPeerIds().length === 1,
  }: { maxMs?: number; connected?: (a: WebRTCMultiplayerPeer, b: WebRTCMultiplayerPeer) => boolean } = {},
) {
  const [oa, ob] = Array.isArray(options) ? options : [options, options];
  const a = new WebRTCMultiplayerPeer({ clock: net.clock, ...oa });
  const b = new WebRTCMultiplayerPeer({ clock: net.clock, ...ob });
  a.createMesh(2);
  b.createMesh(3);
  const [ca, cb] = virtualPair(ha, hb);
  a.addPeer(ca, 3);
  b.addPeer(cb, 2);
  cb.createOffer();
  const poll = (): false => {
    a.poll();
    b.poll();
    return false;
  };
  expect(net.runUntil(() => (poll(), connected(a, b)), { maxMs })).toBe(true);
  return { a, b, ha, hb, ca, cb, poll };
}

/** Collect every packet a channel receives. */
export function collect(ch: WebRTCDataChannel): Uint8Array[] {
  const got: Uint8Array[] = [];
  ch.on('packet', (d) => got.push(d));
  return got;
}

/** A 4-byte big-endian sequence number packet, padded to `size`. */
export function seqPacket(n: number, size = 4): Uint8Array {
  const b = new Uint8Array(Math.max(4, size));
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

/** Read the sequence number of a packet from {@link seqPacket}. */
export function readSeq(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0);
}
