/**
 * Binary messages on unordered maxRetransmits-0 channels travel as runs of
 * same-sized messages in the payload slab (see chunk.ts): check that runs keep
 * send order and bytes across channels, sizes and pages, that a handler closing
 * its channel in the middle of a run gets nothing more, and what a bundle of
 * runs looks like in the trace.
 */
import { describe, expect, it } from 'vitest';
import { VirtualNetwork, type VirtualHost } from '../../src/transport/virtual/index.js';
import type { EngineChannel, EngineConnection } from '../../src/transport/engine.js';
import { SLAB_BYTES } from '../../src/transport/virtual/chunk.js';

const FAST = { label: 'x', protocol: '', negotiated: true, ordered: false, maxRetransmits: 0 } as const;

/** Two raw engine connections with negotiated fast channels of ids `ids` on each side, connected. */
function rawPair(net: VirtualNetwork, x: VirtualHost, y: VirtualHost, ids: number[]) {
  const conns: EngineConnection[] = [];
  let connected = 0;
  const make = (host: VirtualHost, other: () => EngineConnection) => {
    const conn = host.engine.createConnection(
      { iceServers: [], iceTransportPolicy: 'all' },
      {
        localDescription: (type, sdp) => other().setRemoteDescription(type, sdp),
        localCandidate: (mid, _i, c) => other().addRemoteCandidate(mid, c),
        stateChange: (s) => {
          if (s === 'connected') connected++;
        },
        gatheringStateChange: () => {},
        signalingStateChange: () => {},
        dataChannel: () => {},
      },
    );
    const channels = ids.map((id) => conn.createDataChannel({ ...FAST, id }));
    return { conn, channels };
  };
  const a = make(x, () => conns[1]!);
  const b = make(y, () => conns[0]!);
  conns.push(a.conn, b.conn);
  a.conn.createOffer();
  expect(net.runUntil(() => connected === 2, { maxMs: 10_000 })).toBe(true);
  return { a, b };
}

/** Record what `ch` receives (copies of the bytes, and the views themselves). */
function record(ch: EngineChannel, onMessage?: (data: Uint8Array) => void) {
  const got: number[][] = [];
  const views: Uint8Array[] = [];
  ch.setHandlers({
    open: () => {},
    closed: () => {},
    error: () => {},
    bufferedAmountLow: () => {},
    message: (data) => {
      got.push(Array.from(data));
      views.push(data);
      onMessage?.(data);
    },
  });
  return { got, views };
}

const bytes = (n: number, v: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (v * 31 + i) & 255);

describe('fast chunks in runs', () => {
  it('interleaved channels and sizes arrive in send order per channel, with their bytes, across pages', () => {
    const net = new VirtualNetwork({ seed: 11 });
    const { a, b } = rawPair(net, net.createHost(), net.createHost(), [1, 3]);
    const r1 = record(b.channels[0]!);
    const r3 = record(b.channels[1]!);
    const want1: number[][] = [];
    const want3: number[][] = [];
    const buf = new Uint8Array(300);
    let v = 0;
    // Same-sized messages of one channel extend a run; a size change, another channel or a full page starts a new one.
    const pattern: [number, number][] = [[0, 32], [0, 32], [1, 32], [0, 32], [0, 40], [0, 40], [1, 0], [1, 32], [1, 32], [0, 300]];
    for (let tick = 0; tick < Math.ceil((3 * SLAB_BYTES) / 900); tick++) {
      for (const [which, size] of pattern) {
        const msg = buf.subarray(0, size);
        msg.set(bytes(size, v++));
        (which === 0 ? want1 : want3).push(Array.from(msg));
        a.channels[which]!.sendBinary(msg);
        buf.fill(0xee); // the sender reuses its buffer at once
      }
      net.advance(16);
    }
    net.advance(200);
    expect(r1.got).toEqual(want1);
    expect(r3.got).toEqual(want3);
    // Views stay valid after later pages were written.
    expect(r1.views.map((d) => Array.from(d))).toEqual(want1);
  });

  it('a handler that closes its connection in the middle of a run receives nothing more, on any channel', () => {
    const net = new VirtualNetwork({ seed: 12 });
    const { a, b } = rawPair(net, net.createHost(), net.createHost(), [1, 3]);
    const r1 = record(b.channels[0]!, (d) => {
      if (d[0] === 2) b.conn.close();
    });
    const r3 = record(b.channels[1]!);
    for (let k = 0; k < 5; k++) a.channels[0]!.sendBinary(Uint8Array.of(k, 0, 0, 0));
    for (let k = 0; k < 3; k++) a.channels[1]!.sendBinary(Uint8Array.of(k, 1, 1, 1));
    net.advance(200);
    expect(r1.got.map((d) => d[0])).toEqual([0, 1, 2]);
    expect(r3.got).toEqual([]);
  });

  it('a channel closed by its handler in the middle of a run still gets the rest of that packet (closing, as before)', () => {
    const net = new VirtualNetwork({ seed: 12 });
    const { a, b } = rawPair(net, net.createHost(), net.createHost(), [1]);
    const ch = b.channels[0]!;
    const r1 = record(ch, (d) => {
      if (d[0] === 2) ch.close();
    });
    for (let k = 0; k < 5; k++) a.channels[0]!.sendBinary(Uint8Array.of(k, 0, 0, 0));
    net.advance(100);
    expect(r1.got.map((d) => d[0])).toEqual([0, 1, 2, 3, 4]);
    expect(a.channels[0]!.bufferedAmount()).toBe(0); // the reset closed the sender's side too
  });

  it('the trace shows one send line per bundle with each message of a run, and one deliver line per message', () => {
    const net = new VirtualNetwork({ seed: 13, trace: { enabled: true } });
    const { a } = rawPair(net, net.createHost(), net.createHost(), [1]);
    net.trace.clear();
    for (let k = 0; k < 3; k++) a.channels[0]!.sendBinary(bytes(8, k));
    a.channels[0]!.sendBinary(bytes(5, 9));
    net.advance(100);
    const lines = net.trace.entries();
    const sends = lines.filter((l) => l.includes(' send '));
    expect(sends).toHaveLength(1);
    expect(sends[0]).toMatch(/s=1 len=8, s=1 len=8, s=1 len=8, s=1 len=5$/);
    expect(lines.filter((l) => l.includes(' deliver ')).map((l) => / len=(\d+)/.exec(l)![1])).toEqual(['8', '8', '8', '5']);
  });

  it('a channel extends its open run itself until the bundle is full; every packet and byte arrives, in order, across pages', () => {
    const net = new VirtualNetwork({ seed: 14 });
    const x = net.createHost();
    const y = net.createHost();
    const { a, b } = rawPair(net, x, y, [1]);
    const r = record(b.channels[0]!);
    const sent0 = net.directionStats(x, y).packetsSent;
    // 48-byte messages: 18 to a 1200-byte bundle (64 bytes each with the chunk header), and a page boundary inside a run.
    const want: number[][] = [];
    const buf = new Uint8Array(48);
    for (let k = 0; k < 2000; k++) {
      buf.set(bytes(48, k));
      want.push(Array.from(buf));
      a.channels[0]!.sendBinary(buf);
    }
    expect(a.conn.stats().bytesSent).toBe(2000 * 48); // the open run counts before it is sent
    net.advance(200);
    expect(net.directionStats(x, y).packetsSent - sent0).toBe(Math.ceil(2000 / 18));
    expect(r.got).toEqual(want);
  });

  it('a run left open while another connection starts a new page is not extended into that page', () => {
    const net = new VirtualNetwork({ seed: 15 });
    const s = net.createHost();
    const p1 = rawPair(net, s, net.createHost(), [1]);
    const p2 = rawPair(net, s, net.createHost(), [1]);
    net.advance(100);
    const r1 = record(p1.b.channels[0]!);
    const r2 = record(p2.b.channels[0]!);
    // A fresh page: p1's message takes its first 32 bytes; p2 fills the rest and starts the next page,
    // where the slab's next free byte is again 32, right where p1's run ends in the old page.
    const fill = new Uint8Array(32);
    let used = 0;
    while (net.slab.page.length - net.slab.pos >= 32 && used < SLAB_BYTES / 32) {
      p2.a.channels[0]!.sendBinary(fill);
      used++;
    }
    const first = bytes(32, 1);
    p1.a.channels[0]!.sendBinary(first);
    const page = net.slab.page;
    while (net.slab.page === page) p2.a.channels[0]!.sendBinary(fill);
    expect(net.slab.pos).toBe(32);
    const second = bytes(32, 2);
    p1.a.channels[0]!.sendBinary(second);
    net.advance(200);
    expect(r1.got).toEqual([Array.from(first), Array.from(second)]);
    expect(r2.got.every((d) => d.every((v) => v === 0))).toBe(true);
  });

  it('a channel closed in the middle of its run takes no more messages, and those before the close arrive', () => {
    const net = new VirtualNetwork({ seed: 16 });
    const { a, b } = rawPair(net, net.createHost(), net.createHost(), [1]);
    const r = record(b.channels[0]!);
    for (let k = 0; k < 3; k++) a.channels[0]!.sendBinary(bytes(8, k));
    a.channels[0]!.close();
    expect(() => a.channels[0]!.sendBinary(bytes(8, 3))).toThrow(/closed/);
    net.advance(200);
    expect(r.got).toEqual([0, 1, 2].map((k) => Array.from(bytes(8, k))));
  });
});
