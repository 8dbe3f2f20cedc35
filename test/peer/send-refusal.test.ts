/**
 * putPacket and the engine's send result: a packet the engine refuses (its
 * `sendBinary`/`sendText` returns false) throws ENGINE_ERROR and is not
 * counted as sent. The refusing engine wraps the virtual engine and refuses
 * on demand, as the browser engine does when its send queue is full.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ChannelState,
  ErrorCode,
  VirtualNetwork,
  WebRTCPeerConnection,
  WriteMode,
  isRtcmeshError,
  type Engine,
  type EngineChannel,
  type WebRTCDataChannel,
} from '../api.js';
import { withCreateDataChannel } from '../engine-wrap.js';
import { wire } from '../helpers.js';

/** `inner`, except that its channels refuse every send while `refusing.on`. */
function refusingEngine(inner: Engine, refusing: { on: boolean }): Engine {
  const wrap = (c: EngineChannel): EngineChannel => ({
    get init() {
      return c.init;
    },
    id: () => c.id(),
    setHandlers: (h) => c.setHandlers(h),
    sendBinary: (data) => (refusing.on ? false : c.sendBinary(data)),
    sendText: (text) => (refusing.on ? false : c.sendText(text)),
    bufferedAmount: () => c.bufferedAmount(),
    setBufferedAmountLowThreshold: (bytes) => c.setBufferedAmountLowThreshold(bytes),
    maxMessageSize: () => c.maxMessageSize(),
    close: () => c.close(),
  });
  return {
    name: 'refusing',
    createConnection(config, handlers) {
      const conn = inner.createConnection(config, { ...handlers, dataChannel: (c) => handlers.dataChannel(wrap(c)) });
      return withCreateDataChannel(conn, (init) => wrap(conn.createDataChannel(init)));
    },
  };
}

describe('putPacket when the engine refuses', () => {
  let net: VirtualNetwork;
  afterEach(() => net.close());

  function openPair(refusing: { on: boolean }): { ca: WebRTCDataChannel; cb: WebRTCDataChannel; got: Uint8Array[] } {
    net = new VirtualNetwork({ seed: 3, clock: 'virtual' });
    const ha = net.createHost('a');
    const hb = net.createHost('b');
    net.link(ha, hb, { latencyMs: 5 });
    const pa = new WebRTCPeerConnection({}, { engine: refusingEngine(ha.engine, refusing), autoPoll: true });
    const pb = new WebRTCPeerConnection({}, { engine: hb.engine, autoPoll: true });
    wire(pa, pb);
    const ca = pa.createDataChannel('d', { negotiated: true, id: 0 });
    const cb = pb.createDataChannel('d', { negotiated: true, id: 0 });
    const got: Uint8Array[] = [];
    cb.on('packet', (d) => got.push(d));
    pa.createOffer();
    if (!net.runUntil(() => ca.getReadyState() === ChannelState.OPEN && cb.getReadyState() === ChannelState.OPEN, { maxMs: 20_000 })) {
      throw new Error('channels did not open');
    }
    return { ca, cb, got };
  }

  it('throws ENGINE_ERROR, does not count the packet, and sends again once the engine accepts', () => {
    const refusing = { on: false };
    const { ca, got } = openPair(refusing);
    ca.putPacket(new Uint8Array([1]));
    refusing.on = true;
    for (const mode of [WriteMode.BINARY, WriteMode.TEXT]) {
      ca.writeMode = mode;
      let err: unknown;
      try {
        ca.putPacket(new Uint8Array([0x32]));
      } catch (e) {
        err = e;
      }
      expect(isRtcmeshError(err, ErrorCode.ENGINE_ERROR)).toBe(true);
      expect((err as Error).message).toMatch(/refused a 1-byte packet on "d"/);
      expect((err as Error).message).toMatch(/getBufferedAmount\(\)/);
    }
    ca.writeMode = WriteMode.BINARY;
    expect(() => ca.putVar('x')).toThrowError(/refused/);
    expect(ca.getStats().packetsSent).toBe(1);
    expect(ca.getStats().bytesSent).toBe(1);
    refusing.on = false;
    ca.putPacket(new Uint8Array([3]));
    expect(ca.getStats().packetsSent).toBe(2);
    expect(net.runUntil(() => got.length === 2, { maxMs: 5_000 })).toBe(true);
    expect(got.map((d) => [...d])).toEqual([[1], [3]]);
  });
});
