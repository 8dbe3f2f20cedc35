/**
 * The WebSocket server's I/O path (issue #13, speed): frames written as raw
 * WebSocket frames, several per socket write; received frames handled in
 * bounded slices per event-loop turn, reading paused past the inbox limits,
 * and a socket's close handled after the frames it sent before it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { encodeTextFrames, Outbox } from '../../src/signaling/drivers/outbox.js';
import { BATCH_FRAMES, DEFAULT_INBOX_OPTIONS, Inbox } from '../../src/signaling/drivers/inbox.js';
import type { Connection } from '../../src/signaling/drivers/connection.js';
import { cleanup, raw, startServer, T, type Raw } from './helpers.js';

afterEach(cleanup);

async function joinedRaw(url: string, lobby: string): Promise<{ r: Raw; id: number }> {
  const r = await raw(url);
  r.send({ type: 'join', lobby });
  const joined = await r.next((m) => m.type === 'joined');
  return { r, id: joined.id as number };
}

/** Decode server (unmasked) text frames from `buf`. */
function decodeFrames(buf: Buffer): string[] {
  const out: string[] = [];
  let o = 0;
  while (o < buf.length) {
    expect(buf[o]).toBe(0x81);
    let len = buf[o + 1]!;
    o += 2;
    if (len === 126) {
      len = buf.readUInt16BE(o);
      o += 2;
    } else if (len === 127) {
      expect(buf.readUInt32BE(o)).toBe(0);
      len = buf.readUInt32BE(o + 4);
      o += 8;
    }
    out.push(buf.toString('utf8', o, o + len));
    o += len;
  }
  return out;
}

describe('signaling server output', () => {
  it('encodes text frames of every length form (7-bit, 16-bit, 64-bit), multi-byte text included, back to back in one buffer', () => {
    const texts = ['', 'a'.repeat(125), 'b'.repeat(126), 'é'.repeat(32_767), 'c'.repeat(65_535), 'd'.repeat(65_536), '€'.repeat(30_000), '{"x":"ü"}'];
    const buf = encodeTextFrames(texts);
    const headers = texts.reduce((n, t) => {
      const len = Buffer.byteLength(t);
      return n + (len < 126 ? 2 : len < 65536 ? 4 : 10);
    }, 0);
    expect(buf.length).toBe(headers + texts.reduce((n, t) => n + Buffer.byteLength(t), 0));
    expect(decodeFrames(buf)).toEqual(texts);
    // Many frames at once (the reusable length table grows).
    const many = Array.from({ length: 300 }, (_, i) => `m${i}`);
    expect(decodeFrames(encodeTextFrames(many))).toEqual(many);
  });

  it('relays frames of every length form through a real server to a real client, in order, several sent in one turn', async () => {
    const { url } = await startServer({ maxMessageBytes: 200_000, rateLimit: { messages: 1000, windowMs: 1000, bytes: 10_000_000 } });
    const a = await joinedRaw(url, 'sizes');
    const b = await joinedRaw(url, 'sizes');
    const sdps = ['', 'x'.repeat(80), 'y'.repeat(120), 'é'.repeat(32_000), 'z'.repeat(65_530), '€'.repeat(30_000), 'v=0 ü'];
    // All sent at once: the server gets them in one or a few reads and writes them to b together.
    for (const sdp of sdps) a.r.send({ type: 'offer', to: b.id, sdp });
    const from = b.r.messages.length;
    await b.r.next((m) => m.type === 'offer' && m.sdp === 'v=0 ü', from, T);
    const got = b.r.messages.slice(from).filter((m) => m.type === 'offer');
    expect(got.map((m) => m.sdp)).toEqual(sdps);
    expect(got.every((m) => m.from === a.id)).toBe(true);
  });
});

describe('signaling server output, bounded', () => {
  it('writes at most its budget per turn and the rest next turn, every socket once with all its frames in order', async () => {
    const writes: string[][] = [];
    const slots = Array.from({ length: 100 }, (_, k) => ({
      out: undefined as string | string[] | undefined,
      outChars: 0,
      ws: {
        readyState: WebSocket.OPEN,
        write: (buf: Buffer) => {
          writes.push([String(k), ...decodeFrames(buf)]);
          const until = performance.now() + 1; // 1 ms per socket write: 8 ms cannot take all 100
          while (performance.now() < until);
        },
      },
    }));
    const outbox = new Outbox(() => true, () => false, 8);
    for (const slot of slots) outbox.send(slot, 'a');
    for (const slot of slots) outbox.send(slot, 'b');
    let writtenWhenTimerRan = -1;
    outbox.flush(8);
    const first = writes.length;
    setTimeout(() => (writtenWhenTimerRan = writes.length), 0);
    await new Promise<void>((resolve) => {
      const check = () => (writes.length === 100 && writtenWhenTimerRan >= 0 ? resolve() : setImmediate(check));
      check();
    });
    expect(first).toBeGreaterThanOrEqual(8);
    expect(first).toBeLessThan(100);
    expect(writtenWhenTimerRan).toBeLessThan(100);
    expect(writes).toEqual(slots.map((_, k) => [String(k), 'a', 'b']));
  });
});

describe('signaling server output buffer', () => {
  it('encodes into one reused buffer while sockets take their writes whole, and never reuses a buffer a socket still holds', () => {
    /** A socket that takes writes whole (`holds` false) or keeps them (as a socket whose kernel buffer is full). */
    const socket = (holds: boolean) => {
      const written: Buffer[] = [];
      return {
        written,
        slot: {
          out: undefined as string | string[] | undefined,
          outChars: 0,
          batch: true,
          ws: {
            readyState: WebSocket.OPEN,
            bufferedAmount: 0,
            write(buf: Buffer) {
              written.push(buf);
              if (holds) this.bufferedAmount += buf.length;
            },
          },
        },
      };
    };
    const outbox = new Outbox(() => true);
    const fast = [socket(false), socket(false)];
    const slow = socket(true);
    const other = socket(false);
    outbox.send(fast[0]!.slot, '{"n":1}');
    outbox.send(fast[1]!.slot, '{"n":2}');
    outbox.send(fast[1]!.slot, '{"n":3}');
    outbox.flush();
    // Both written from the same memory (the first write was done with it before the second).
    expect(fast[0]!.written[0]!.buffer).toBe(fast[1]!.written[0]!.buffer);
    expect(decodeFrames(fast[1]!.written[0]!)).toEqual(['[{"n":2},{"n":3}]']);
    outbox.send(slow.slot, '{"slow":1}');
    outbox.send(other.slot, '{"other":1}');
    outbox.flush();
    // The slow socket keeps its bytes: the next write went to other memory, and what the slow socket holds is intact.
    expect(other.written[0]!.buffer).not.toBe(slow.written[0]!.buffer);
    expect(decodeFrames(slow.written[0]!)).toEqual(['{"slow":1}']);
    expect(decodeFrames(other.written[0]!)).toEqual(['{"other":1}']);
    // A socket with bytes waiting gets a buffer of its own, never the shared one.
    outbox.send(slow.slot, '{"slow":2}');
    outbox.flush();
    expect(slow.written[1]!.buffer).not.toBe(other.written[0]!.buffer);
    expect(decodeFrames(slow.written[0]!)).toEqual(['{"slow":1}']);
    expect(decodeFrames(slow.written[1]!)).toEqual(['{"slow":2}']);
  });
});

describe('signaling server input', () => {
  it('handles what a socket sent before it closed, then its close: the relay arrives before peer_detached', async () => {
    const { url } = await startServer();
    const a = await joinedRaw(url, 'order');
    const b = await joinedRaw(url, 'order');
    const from = b.r.messages.length;
    for (let i = 0; i < 20; i++) a.r.send({ type: 'candidate', to: b.id, candidate: `c${i}`, mid: '0', index: 0 });
    a.r.ws.close(); // after its frames (terminate() would drop what the client has not written yet)
    const detached = await b.r.next((m) => m.type === 'peer_detached' || m.type === 'peer_left', from, T);
    expect(detached.id).toBe(a.id);
    const seen = b.r.messages.slice(from);
    const at = seen.indexOf(detached);
    expect(seen.slice(0, at).filter((m) => m.type === 'candidate').map((m) => m.candidate)).toEqual(Array.from({ length: 20 }, (_, i) => `c${i}`));
  });

  it('yields to the event loop between slices and pauses a socket past its limits until its frames are handled', async () => {
    const paused: boolean[] = [];
    const fake = {
      inboxed: 0,
      inboxedBytes: 0,
      paused: false,
      ws: { pause: () => paused.push(true), resume: () => paused.push(false) },
    } as unknown as Connection;
    let handled = 0;
    let handledWhenTimerRan = -1;
    let slices = 0;
    const inbox = new Inbox(
      {
        frame: () => {
          // A timer armed while the first slice runs: it must run before the last frame is handled.
          if (handled++ === 0) setTimeout(() => (handledWhenTimerRan = handled), 0);
          // 1 ms of work per frame: a slice (8 ms) cannot take all 100.
          const until = performance.now() + 1;
          while (performance.now() < until);
        },
        closed: () => {},
        afterSlice: () => slices++,
      },
      { sliceMs: 8, pauseFrames: 32, pauseBytes: 64 * 1024 },
    );
    for (let i = 0; i < 100; i++) inbox.push(fake, Buffer.from('{"type":"seal"}'), false);
    // Paused once past 32 frames waiting; nothing handled yet (handling waits for the end of the turn).
    expect(paused).toEqual([true]);
    expect(fake.paused).toBe(true);
    expect(handled).toBe(0);
    await new Promise<void>((resolve) => {
      const check = () => (inbox.size === 0 && handledWhenTimerRan >= 0 ? resolve() : setImmediate(check));
      check();
    });
    expect(handled).toBe(100);
    // The timer ran between slices, not after all 100 frames.
    expect(handledWhenTimerRan).toBeGreaterThanOrEqual(32);
    expect(handledWhenTimerRan).toBeLessThan(100);
    expect(slices).toBeGreaterThan(1);
    // Read again once half its queue was handled; nothing held for it any more.
    expect(paused).toEqual([true, false]);
    expect(fake.inboxed).toBe(0);
    expect(fake.inboxedBytes).toBe(0);
  });

  it('handles frames on arrival within the turn budget, writing after each batch; past the budget they wait, in order', async () => {
    const fake = { inboxed: 0, inboxedBytes: 0, paused: false, ws: { pause() {}, resume() {} } } as unknown as Connection;
    const handled: number[] = [];
    const writes: number[] = [];
    const inbox = new Inbox(
      {
        frame: (_c, data) => {
          handled.push(data.readUInt32BE(0));
          // 0.5 ms of work per frame: the 8 ms budget ends within the second batch.
          const until = performance.now() + 0.5;
          while (performance.now() < until);
        },
        closed: () => {},
        afterSlice: () => writes.push(handled.length),
      },
      { ...DEFAULT_INBOX_OPTIONS, sliceMs: 8 },
    );
    const frame = (i: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(i);
      return b;
    };
    for (let i = 0; i < 200; i++) inbox.push(fake, frame(i), false);
    // Handled on arrival: whole batches until the budget was used, each batch's output written after it.
    expect(handled.length).toBeGreaterThanOrEqual(BATCH_FRAMES);
    expect(handled.length % BATCH_FRAMES).toBe(0);
    expect(handled.length).toBeLessThan(200);
    expect(writes).toEqual(Array.from({ length: handled.length / BATCH_FRAMES }, (_, k) => (k + 1) * BATCH_FRAMES));
    expect(inbox.size).toBe(200 - handled.length);
    await new Promise<void>((resolve) => {
      const check = () => (inbox.size === 0 ? resolve() : setImmediate(check));
      check();
    });
    // Every frame once, in the order received.
    expect(handled).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(fake.inboxed).toBe(0);
    expect(fake.inboxedBytes).toBe(0);
  });

  it('reads accepted TCP sockets into one shared read buffer (Node\'s onread mode), not through data events, and still relays in order', async () => {
    const { server, url } = await startServer({ maxMessageBytes: 200_000, rateLimit: { messages: 1000, windowMs: 1000, bytes: 10_000_000 } });
    const a = await joinedRaw(url, 'shared');
    const b = await joinedRaw(url, 'shared');
    const sockets = [...(server as unknown as { conns: Set<Connection> }).conns].map((c) => c.ws.socket as unknown as Record<symbol, unknown> & { listenerCount(e: string): number });
    expect(sockets).toHaveLength(2);
    const bufferKey = Object.getOwnPropertySymbols(sockets[0]!).find((k) => k.description === 'kBuffer')!;
    for (const s of sockets) {
      expect(Buffer.isBuffer(s[bufferKey])).toBe(true);
      expect(s.listenerCount('data')).toBe(0);
    }
    // One buffer for every socket.
    expect(sockets[0]![bufferKey]).toBe(sockets[1]![bufferKey]);
    // Frames of several sizes (larger than the read buffer, split across reads, several in one read), in order.
    const from = b.r.messages.length;
    const sdps = ['x'.repeat(100), 'é'.repeat(40_000), 'z', 'y'.repeat(65_000), 'end'];
    for (const sdp of sdps) a.r.send({ type: 'offer', to: b.id, sdp });
    await b.r.next((m) => m.type === 'offer' && m.sdp === 'end', from, T);
    expect(b.r.messages.slice(from).filter((m) => m.type === 'offer').map((m) => m.sdp)).toEqual(sdps);
  });

  it('bounds what waits per socket in bytes too: a socket sending large frames is paused past 64 KiB', () => {
    const fake = { inboxed: 0, inboxedBytes: 0, paused: false, ws: { pause() {}, resume() {} } } as unknown as Connection;
    // Every frame waits for the end of the turn (not handled on arrival), as past the turn's budget.
    const inbox = new Inbox({ frame: () => {}, closed: () => {}, afterSlice: () => {} }, { ...DEFAULT_INBOX_OPTIONS, onArrival: false });
    inbox.push(fake, Buffer.alloc(40_000), false);
    expect(fake.paused).toBe(false);
    inbox.push(fake, Buffer.alloc(40_000), false);
    expect(fake.paused).toBe(true);
    inbox.clear();
    expect(inbox.size).toBe(0);
    expect(fake.inboxed).toBe(0);
  });

  it('a server under a flood of frames from many sockets still answers a new socket and relays for it', async () => {
    const { url } = await startServer({ rateLimit: { messages: 100_000, windowMs: 1000, bytes: 1e9 } });
    const a = await joinedRaw(url, 'flood');
    const b = await joinedRaw(url, 'flood');
    // Each of 20 sockets sends 2000 relays at once (40 000 frames queued at the server).
    const flooders = await Promise.all(Array.from({ length: 20 }, () => joinedRaw(url, 'flood')));
    for (const f of flooders) for (let i = 0; i < 2000; i++) f.r.send({ type: 'candidate', to: b.id, candidate: 'x', mid: '0', index: 0 });
    const late = await joinedRaw(url, 'flood-late');
    expect(late.id).toBe(1);
    const from = b.r.messages.length;
    a.r.send({ type: 'offer', to: b.id, sdp: 'still here' });
    await b.r.next((m) => m.type === 'offer' && m.sdp === 'still here', from, 30_000);
    expect(b.r.ws.readyState).toBe(WebSocket.OPEN);
  }, 60_000);
});
