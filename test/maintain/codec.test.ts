import { describe, expect, it } from 'vitest';
import { FrameType, decodeFrame, encodeFrame } from '../../src/mesh/health/control.js';
import { ReceiveSession, SendSession } from '../../src/mesh/health/session.js';
import { readVarint, varintLength, writeVarint } from '../../src/mesh/health/varint.js';
import { backoffAfter, resolveReconnect } from '../../src/mesh/health/reconnect.js';
import { LOSS_WINDOW, LinkHealth } from '../../src/mesh/health/link-health.js';

describe('varint', () => {
  it('round-trips safe integers and rejects truncated or overlong input', () => {
    for (const n of [0, 1, 127, 128, 16383, 16384, 2 ** 32, 2 ** 49 - 1]) {
      const b = new Uint8Array(varintLength(n));
      expect(writeVarint(b, 0, n)).toBe(b.length);
      expect(readVarint(b, 0)).toEqual([n, b.length]);
    }
    expect(readVarint(new Uint8Array([0x80]), 0)).toBeUndefined();
    expect(readVarint(new Uint8Array(9).fill(0xff), 0)).toBeUndefined();
    expect(readVarint(new Uint8Array([]), 0)).toBeUndefined();
  });
});

describe('control frames', () => {
  it('round-trips PING, PONG and ACK with acks', () => {
    const frames = [
      { type: FrameType.PING, epoch: 1, ackEpoch: 0, seq: 7, time: 1234.5, acks: [] },
      { type: FrameType.PONG, epoch: 2 ** 32 - 1, ackEpoch: 77, seq: 2 ** 32 - 1, time: 0.25, acks: [[0, 10_000] as const, [5, 1] as const] },
      { type: FrameType.ACK, epoch: 5, ackEpoch: 6, acks: [[258, 2 ** 40] as const] },
    ] as const;
    for (const f of frames) expect(decodeFrame(encodeFrame(f as never))).toEqual(f);
    expect(encodeFrame({ type: FrameType.PING, epoch: 1, ackEpoch: 2, seq: 1, time: 1, acks: [] }).length).toBe(22);
  });

  it('writes its fixed fields big-endian, as a DataView reads them, and reads them back from views at any offset', () => {
    let seed = 99;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = 0; i < 500; i++) {
      const frame = {
        type: i % 2 === 0 ? FrameType.PING : FrameType.PONG,
        epoch: Math.floor(rand() * 2 ** 32),
        ackEpoch: Math.floor(rand() * 2 ** 32),
        seq: Math.floor(rand() * 2 ** 32),
        time: (rand() - 0.5) * 10 ** Math.floor(rand() * 12),
        acks: [[i % 259, Math.floor(rand() * 2 ** 40)] as const],
      };
      const bytes = encodeFrame(frame);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      expect([bytes[0], view.getUint32(1), view.getUint32(5), view.getUint32(9), view.getFloat64(13)]).toEqual([frame.type, frame.epoch, frame.ackEpoch, frame.seq, frame.time]);
      const shifted = new Uint8Array(bytes.length + 3);
      shifted.set(bytes, 3);
      expect(decodeFrame(shifted.subarray(3))).toEqual(frame);
    }
  });

  it('rejects anything that is not exactly one valid frame', () => {
    const good = encodeFrame({ type: FrameType.ACK, epoch: 1, ackEpoch: 1, acks: [[0, 5]] });
    const bad = [
      new Uint8Array([]),
      new Uint8Array([4, 0]),
      new Uint8Array([1, 0, 0]),
      new Uint8Array([...good, 0]), // trailing byte
      good.subarray(0, good.length - 1), // truncated
      new Uint8Array([3, 0, 0, 0, 1, 0, 0, 0, 1, 0x80, 0x02]), // 256 acks announced, none present
      (() => {
        const f = encodeFrame({ type: FrameType.PING, epoch: 1, ackEpoch: 1, seq: 1, time: 1, acks: [] });
        new DataView(f.buffer).setFloat64(13, NaN);
        return f;
      })(),
    ];
    for (const b of bad) expect(decodeFrame(b)).toBeUndefined();
  });
});

describe('remote garbage', () => {
  it('never throws on random bytes (control frames and session headers)', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const recv = new ReceiveSession();
    let decoded = 0;
    for (let i = 0; i < 20_000; i++) {
      const b = new Uint8Array(Math.floor(rand() * 40));
      for (let k = 0; k < b.length; k++) b[k] = Math.floor(rand() * 256);
      if (i % 3 === 0 && b.length > 0) b[0] = 1 + (i % 3);
      if (decodeFrame(b)) decoded++;
      recv.accept(b);
    }
    expect(decoded).toBeLessThan(20_000);
    expect(recv.malformed + recv.duplicates).toBeGreaterThan(0);
  });
});

describe('session header', () => {
  it('delivers each packet once and in order across a replay, and releases acknowledged ones', () => {
    const send = new SendSession({ packets: 100, bytes: 1 << 20 });
    const recv = new ReceiveSession();
    const frames = [1, 2, 3, 4, 5].map((n) => send.frame(new Uint8Array([n])));
    const got: number[] = [];
    const deliver = (f: Uint8Array) => {
      const r = recv.accept(f);
      if (r) got.push(r[0]!);
    };
    frames.slice(0, 3).forEach(deliver); // 4 and 5 were lost with the connection
    send.ack(2); // the ack of 3 was lost too
    expect(send.buffered).toBe(3);
    send.pending().forEach(deliver); // replay 3, 4, 5
    expect(got).toEqual([1, 2, 3, 4, 5]);
    expect(recv.duplicates).toBe(1);
    expect(recv.gaps).toBe(0);
    send.ack(recv.seq);
    expect(send.buffered).toBe(0);
    expect(send.bufferedBytes).toBe(0);
    send.ack(99); // beyond what was sent: ignored
    expect(send.acked).toBe(5);
    expect(recv.accept(new Uint8Array([0x80]))).toBeUndefined();
    expect(recv.accept(new Uint8Array([0, 1]))).toBeUndefined();
    expect(recv.accept(new Uint8Array([0x80, 0]))).toBeUndefined(); // sequence 0, two bytes
    expect(recv.malformed).toBe(3);
    const two = send.frame(new Uint8Array([9]));
    expect(two[0]).toBe(6);
    for (let i = 7; i <= 300; i++) send.frame(new Uint8Array([i & 0xff]));
    const big = new SendSession({ packets: 1000, bytes: 1 << 20 });
    const bigRecv = new ReceiveSession();
    const out: number[] = [];
    for (let i = 1; i <= 20_000; i++) {
      const p = bigRecv.accept(big.frame(new Uint8Array([i & 0xff])));
      if (p) out.push(p[0]!);
      big.ack(i);
    }
    expect(out).toHaveLength(20_000);
    expect(bigRecv.gaps + bigRecv.duplicates + bigRecv.malformed).toBe(0);
    expect(bigRecv.seq).toBe(20_000);
  });

  it('gives up the replay guarantee on overflow instead of growing, and counts the gap the receiver then sees', () => {
    const send = new SendSession({ packets: 3, bytes: 1 << 20 });
    const recv = new ReceiveSession();
    const overflows: boolean[] = [];
    const results = [1, 2, 3, 4, 5].map((n) => {
      const frame = send.frame(new Uint8Array([n]));
      overflows.push(send.justOverflowed);
      return { frame };
    });
    expect(overflows).toEqual([false, false, false, true, false]);
    expect(send.overflowed).toBe(true);
    expect(send.buffered).toBe(0);
    recv.accept(results[0]!.frame);
    recv.accept(results[4]!.frame);
    expect(recv.gaps).toBe(3);
    // buffering stays suspended while anything sent is unacknowledged…
    send.ack(4);
    expect(send.overflowed).toBe(true);
    send.frame(new Uint8Array([6]));
    expect(send.buffered).toBe(0);
    // …and resumes once the remote holds everything sent so far
    send.ack(6);
    expect(send.overflowed).toBe(false);
    const seventh = send.frame(new Uint8Array([7]));
    expect(send.buffered).toBe(1);
    expect(send.pending()).toEqual([seventh]);
    for (let n = 8; n <= 10; n++) send.frame(new Uint8Array([n]));
    expect(send.justOverflowed).toBe(true); // 4 > 3 packets: overflows again
    expect(send.overflows).toBe(2);
  });

  it('writes and reads every header length the same as the varint codec (1 to 5 bytes), small and large payloads', () => {
    const send = new SendSession({ packets: 10, bytes: 1 << 20 });
    const recv = new ReceiveSession();
    // Sequences around each header-length boundary: 2^7, 2^14, 2^21, 2^28 (the inline paths end there), 2^35.
    const checkpoints = [1, 127, 128, 16_383, 16_384, 16_385, 2_097_151, 2_097_152, 2_097_153, 2 ** 28 - 1, 2 ** 28, 2 ** 28 + 1, 2 ** 35 - 1, 2 ** 35];
    const header = new Uint8Array(8);
    for (const seq of checkpoints) {
      for (const size of [3, 200]) {
        // copied (small) and viewed (large) payloads; skip ahead: frame() numbers the next packet seq + 1
        const payload = new Uint8Array(size).map((_, i) => (seq + i) & 0xff);
        for (const transient of [false, true]) {
          send.seq = seq - 1;
          recv.seq = seq - 1;
          const frame = transient ? send.frameToSend(payload) : send.frame(payload);
          const h = writeVarint(header, 0, seq);
          expect(Array.from(frame.subarray(0, h))).toEqual(Array.from(header.subarray(0, h)));
          expect(frame.length).toBe(h + size);
          const got = recv.accept(frame);
          expect(got && Array.from(got)).toEqual(Array.from(payload));
          expect(recv.seq).toBe(seq);
        }
        send.ack(seq);
      }
    }
    expect(recv.malformed + recv.duplicates).toBe(0);
  });

  it('keeps a long run of acknowledged packets compact', () => {
    const send = new SendSession({ packets: 10, bytes: 1 << 20 });
    for (let i = 1; i <= 5000; i++) {
      send.frame(new Uint8Array(3));
      send.ack(i);
    }
    expect(send.buffered).toBe(0);
    expect(send.overflowed).toBe(false);
  });
});

describe('reconnect policy and link health', () => {
  it('backs off exponentially up to the cap', () => {
    const p = resolveReconnect({ backoffMs: 100, maxBackoffMs: 1000 })!;
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffAfter(p, n))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(resolveReconnect(false)).toBeUndefined();
    expect(resolveReconnect(true)).toMatchObject({ maxAttempts: 10 });
  });

  it('computes RTT, jitter and loss from heartbeats', () => {
    const h = new LinkHealth();
    h.reset(0);
    h.onPong(0, 10);
    h.onPong(100, 120);
    expect(h.lastRttMs).toBe(20);
    expect(h.rttMs).toBeCloseTo(10 + 10 / 8);
    expect(h.jitterMs).toBeCloseTo(10 / 16);
    h.onPong(500, 400); // from the future: forged, ignored
    expect(h.pongsReceived).toBe(2);
    // the remote pings every 100 ms of its clock; they arrive 5 ms later
    for (const s of [1, 2, 4, 5, 8]) h.onPing(s, s * 100, s * 100 + 5); // 3, 6, 7 lost
    expect(h.remoteIntervalMs()).toBe(100);
    expect(h.loss(805)).toBeCloseTo(3 / 8);
    // a blackout: ping 9 is not overdue before two intervals, then every missing one counts
    expect(h.loss(805 + 199)).toBeCloseTo(3 / 8);
    expect(h.loss(805 + 200)).toBeCloseTo(4 / 9);
    expect(h.loss(805 + 500)).toBeCloseTo(7 / 12);
  });

  it('estimates loss over a sliding window of the last LOSS_WINDOW pings', () => {
    const h = new LinkHealth();
    h.reset(0);
    const at = (s: number) => s * 100;
    for (let s = 1; s <= LOSS_WINDOW; s++) if (s !== 3) h.onPing(s, at(s), at(s));
    expect(h.loss(at(LOSS_WINDOW))).toBeCloseTo(1 / LOSS_WINDOW);
    for (let s = LOSS_WINDOW + 1; s <= LOSS_WINDOW + 3; s++) h.onPing(s, at(s), at(s));
    expect(h.loss(at(LOSS_WINDOW + 3))).toBe(0); // the gap slid out of the window
    h.onPing(LOSS_WINDOW + 2, at(LOSS_WINDOW + 2), at(LOSS_WINDOW + 4)); // a duplicate changes nothing
    expect(h.loss(at(LOSS_WINDOW + 4))).toBe(0);
    expect(h.loss(at(LOSS_WINDOW + 3 + LOSS_WINDOW + 1))).toBe(1); // a whole window overdue
    h.reset(0);
    expect(h.loss(1e9)).toBe(0); // nothing heard yet on a fresh connection
  });
});

describe('session replay ring', () => {
  it('keeps every unacknowledged frame intact through wrap-around, growth and partial acks (against a model)', () => {
    let state = 12345;
    const rand = (n: number) => {
      state = (state * 1103515245 + 12345) >>> 0;
      return state % n;
    };
    const send = new SendSession({ packets: 5000, bytes: 1 << 22 });
    const model: { seq: number; bytes: number[] }[] = [];
    for (let step = 0; step < 8000; step++) {
      if (rand(3) !== 0 || model.length === 0) {
        const len = rand(5) === 0 ? 200 + rand(3000) : rand(80);
        const data = new Uint8Array(len).map((_, i) => (step + i) & 0xff);
        const frame = send.frame(data);
        expect(Array.from(frame.subarray(frame.length - len))).toEqual(Array.from(data));
        model.push({ seq: send.seq, bytes: Array.from(frame) });
      } else {
        const upTo = model[rand(model.length)]!.seq;
        expect(send.ack(upTo)).toBe(true);
        while (model.length > 0 && model[0]!.seq <= upTo) model.shift();
      }
      if (step % 997 === 0) {
        // what a replay would resend right now: exactly the model, byte for byte
        expect(send.pending().map((f) => Array.from(f))).toEqual(model.map((m) => m.bytes));
      }
    }
    expect(send.overflows).toBe(0);
    expect(send.buffered).toBe(model.length);
    expect(send.bufferedBytes).toBe(model.reduce((n, m) => n + m.bytes.length, 0));
    const recv = new ReceiveSession();
    for (const f of send.pending()) expect(recv.accept(f)).toBeDefined();
    expect(recv.malformed).toBe(0);
  });
});
