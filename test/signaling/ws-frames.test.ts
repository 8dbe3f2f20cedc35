/**
 * The signaling server's own WebSocket framing (issue #13, speed): the frame
 * parser (src/signaling/drivers/ws-frames.ts) on hand-built client frames —
 * every length form, masks, fragments with control frames between them,
 * frames split anywhere across reads, and each protocol error with the close
 * code `ws` uses — then the real server on a raw TCP socket: handshake,
 * ping/pong, close handshake, bad frames closed with their code.
 */
import { connect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { encodeCloseFrame, encodeControlFrame, encodeTextFrame, type FrameSink, type FrameState, headerBytes, initialFrameState, readFrames, writeHeader } from '../../src/signaling/drivers/ws-frames.js';
import { Outbox, type OutboxSlot } from '../../src/signaling/drivers/outbox.js';
import { ServerSocket, type ServerSocketEvents } from '../../src/signaling/drivers/ws-socket.js';
import { cleanup, raw, startServer, T, waitUntil } from './helpers.js';

afterEach(cleanup);

interface Opts {
  fin?: boolean;
  mask?: boolean;
  rsv?: number;
  /** Declared length (default the payload's). */
  len?: number;
}

/** A client frame (masked unless told otherwise). */
function frame(opcode: number, payload: Buffer | string, o: Opts = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const len = o.len ?? data.length;
  const mask = o.mask ?? true;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const buf = Buffer.alloc(head + (mask ? 4 : 0) + data.length);
  buf[0] = ((o.fin ?? true) ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | opcode;
  if (len < 126) buf[1] = len;
  else if (len < 65536) {
    buf[1] = 126;
    buf.writeUInt16BE(len, 2);
  } else {
    buf[1] = 127;
    buf.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    buf.writeUInt32BE(len >>> 0, 6);
  }
  if (mask) buf[1]! |= 0x80;
  let p = head;
  const key = [0x37, 0xfa, 0x21, 0x3d];
  if (mask) {
    for (const k of key) buf[p++] = k;
  }
  for (let i = 0; i < data.length; i++) buf[p + i] = mask ? data[i]! ^ key[i % 4]! : data[i]!;
  return buf;
}

type Event = [string, ...unknown[]];

/** One read buffer for every chunk, as the server reads sockets (`transient`); scribbled over after each parse. */
const READ_BUFFER = Buffer.alloc(128 * 1024);

/** Parse `chunks` in order with a recording sink (`transient`: each read into {@link READ_BUFFER}, as the server reads). */
function parse(chunks: Buffer[], maxPayload = 0, transient = false): Event[] {
  const s: FrameState = initialFrameState();
  const events: Event[] = [];
  const sink: FrameSink<FrameState> = {
    message: (_s, data, isBinary) => events.push(['message', isBinary ? data.toString('hex') : data.toString('utf8'), isBinary]),
    ping: (_s, payload) => events.push(['ping', payload.toString()]),
    pong: () => events.push(['pong']),
    close: (_s, code, reason) => events.push(['close', code, reason]),
    error: (_s, code, _message, errCode) => events.push(['error', code, errCode]),
  };
  for (const c of chunks) {
    if (!transient) {
      readFrames(s, Buffer.from(c), sink, maxPayload);
      continue;
    }
    c.copy(READ_BUFFER);
    readFrames(s, READ_BUFFER, sink, maxPayload, c.length, true);
    // The next read overwrites the buffer: anything the parser kept a view of would change.
    READ_BUFFER.fill(0xee, 0, c.length);
  }
  return events;
}

/** `buf` cut into pieces of `size` bytes. */
function pieces(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

describe('frame parser', () => {
  it('reads payloads of every length form (0, 125, 126, 65535, 65536) in one chunk and split at every size', () => {
    for (const len of [0, 1, 125, 126, 127, 65535, 65536, 70_000]) {
      const text = 'a'.repeat(len);
      expect(parse([frame(1, text)])).toEqual([['message', text, false]]);
      const both = Buffer.concat([frame(1, text), frame(1, 'next')]);
      for (const size of len > 1000 ? [1, 3, 4096, 65_537] : [1, 2, 3, 5, 7]) {
        if (len > 1000 && size === 1) continue; // byte by byte checked below on the short ones
        expect(parse(pieces(both, size))).toEqual([['message', text, false], ['message', 'next', false]]);
      }
    }
    const long = frame(1, 'é'.repeat(40_000));
    expect(parse(pieces(long, 1)).length).toBe(1);
  });

  it('parses reads into one reused buffer (as the server reads) as it parses buffers of their own: what it keeps past a read is copied', () => {
    const euro = Buffer.from('€');
    const streams = [
      Buffer.concat([frame(1, 'a'.repeat(70_000)), frame(1, 'next'), frame(1, 'x'.repeat(300))]),
      Buffer.concat([frame(1, euro.subarray(0, 1), { fin: false }), frame(9, 'p'), frame(0, euro.subarray(1), { fin: false }), frame(0, 'z'.repeat(200))]),
      Buffer.concat([frame(2, Buffer.from([1, 2, 3]), { fin: false }), frame(0, Buffer.from([4]))]),
    ];
    for (const all of streams) {
      const expected = parse([all]);
      expect(expected.length).toBeGreaterThan(0);
      for (const size of [1, 2, 3, 7, 100, 4096, 65_537]) expect(parse(pieces(all, size), 0, true)).toEqual(expected);
    }
  });

  it('keeps a frame trickling in one byte per read in a bounded number of buffers', () => {
    const s: FrameState = initialFrameState();
    const got: string[] = [];
    const sink: FrameSink<FrameState> = { message: (_s, d) => void got.push(d.toString()), ping() {}, pong() {}, close() {}, error() {} };
    let most = 0;
    for (const piece of pieces(frame(1, 'z'.repeat(5000)), 1)) {
      readFrames(s, Buffer.from(piece), sink, 0);
      most = Math.max(most, s.parts?.length ?? 0);
    }
    expect(got).toEqual(['z'.repeat(5000)]);
    expect(most).toBeLessThanOrEqual(32);
    expect(s.parts).toBeUndefined();
  });

  it('unmasks every payload byte (lengths not a multiple of 4) and reads binary as bytes, unchecked', () => {
    for (const text of ['x', 'xy', 'xyz', 'wxyz', 'vwxyz', '€ü']) expect(parse([frame(1, text)])).toEqual([['message', text, false]]);
    expect(parse([frame(2, Buffer.from([0xff, 0xfe, 0x00]))])).toEqual([['message', 'fffe00', true]]);
  });

  it('reassembles fragments, answers control frames between them, keeps UTF-8 split across fragments', () => {
    const euro = Buffer.from('€'); // 3 bytes, split across two fragments
    const chunks = [
      frame(1, Buffer.concat([Buffer.from('a'), euro.subarray(0, 2)]), { fin: false }),
      frame(9, 'p1'),
      frame(0, Buffer.concat([euro.subarray(2), Buffer.from('b')]), { fin: false }),
      frame(10, ''),
      frame(0, 'c'),
      frame(2, Buffer.from([1]), { fin: false }),
      frame(0, Buffer.from([2])),
    ];
    expect(parse(chunks)).toEqual([['ping', 'p1'], ['pong'], ['message', 'a€bc', false], ['message', '0102', true]]);
    expect(parse(pieces(Buffer.concat(chunks), 3))).toEqual([['ping', 'p1'], ['pong'], ['message', 'a€bc', false], ['message', '0102', true]]);
  });

  it('closes with 1002 on protocol errors and reads nothing after', () => {
    const after = frame(1, 'after');
    const cases: [Buffer, string][] = [
      [frame(0, 'x'), 'WS_ERR_INVALID_OPCODE'], // continuation with nothing to continue
      [Buffer.concat([frame(1, 'a', { fin: false }), frame(1, 'b')]), 'WS_ERR_INVALID_OPCODE'], // new message inside a fragmented one
      [frame(3, 'x'), 'WS_ERR_INVALID_OPCODE'],
      [frame(7, 'x'), 'WS_ERR_INVALID_OPCODE'],
      [frame(0xb, 'x'), 'WS_ERR_INVALID_OPCODE'],
      [frame(1, 'x', { rsv: 4 }), 'WS_ERR_UNEXPECTED_RSV_1'], // no compression was negotiated
      [frame(1, 'x', { rsv: 1 }), 'WS_ERR_UNEXPECTED_RSV_1'],
      [frame(1, 'x', { mask: false }), 'WS_ERR_EXPECTED_MASK'],
      [frame(9, 'x', { fin: false }), 'WS_ERR_EXPECTED_FIN'],
      [frame(9, 'p'.repeat(126)), 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH'],
      [frame(8, Buffer.from([3])), 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH'],
      [frame(8, Buffer.from([0x03, 0xed])), 'WS_ERR_INVALID_CLOSE_CODE'], // 1005 may not be sent
      [frame(8, Buffer.from([0x03, 0xe7])), 'WS_ERR_INVALID_CLOSE_CODE'], // 999
      [frame(8, Buffer.from([0x13, 0x88])), 'WS_ERR_INVALID_CLOSE_CODE'], // 5000
    ];
    for (const [bytes, errCode] of cases) {
      const events = parse([Buffer.concat([bytes, after])]);
      expect(events.filter((e) => e[0] === 'error')).toEqual([['error', 1002, errCode]]);
      expect(events.at(-1)![0]).toBe('error');
      expect(events.some((e) => e[1] === 'after')).toBe(false);
    }
  });

  it('closes with 1009 past maxPayload on the frame header, before the payload arrives, and across fragments', () => {
    const header = frame(1, 'x'.repeat(200)).subarray(0, 8); // header + mask only
    expect(parse([header], 100)).toEqual([['error', 1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH']]);
    expect(parse([frame(1, 'x'.repeat(100))], 100)).toEqual([['message', 'x'.repeat(100), false]]);
    expect(parse([frame(1, 'x'.repeat(60), { fin: false }), frame(0, 'y'.repeat(41))], 100)).toEqual([['error', 1009, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH']]);
    const huge = Buffer.from([0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]); // length over 2^53 - 1
    expect(parse([huge])).toEqual([['error', 1009, 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH']]);
  });

  it('closes with 1007 on a text message or close reason that is not UTF-8', () => {
    expect(parse([frame(1, Buffer.from([0x61, 0xc3]))])).toEqual([['error', 1007, 'WS_ERR_INVALID_UTF8']]);
    expect(parse([frame(1, Buffer.from([0xc3]), { fin: false }), frame(0, Buffer.from([0x28]))])).toEqual([['error', 1007, 'WS_ERR_INVALID_UTF8']]);
    expect(parse([frame(8, Buffer.from([0x03, 0xe8, 0xff]))])).toEqual([['error', 1007, 'WS_ERR_INVALID_UTF8']]);
  });

  it("reports the peer's close code and reason (1005 when none) and reads nothing after", () => {
    expect(parse([Buffer.concat([frame(8, Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from('bye ü')])), frame(1, 'after')])])).toEqual([['close', 4000, 'bye ü']]);
    expect(parse([frame(8, '')])).toEqual([['close', 1005, '']]);
  });
});

describe('frame writer', () => {
  it('writes each length form with the shortest header', () => {
    for (const len of [0, 125, 126, 65535, 65536]) {
      const buf = Buffer.alloc(headerBytes(len));
      expect(writeHeader(buf, 0, len)).toBe(len < 126 ? 2 : len < 65536 ? 4 : 10);
      expect(buf[0]).toBe(0x81);
      const declared = buf[1]! < 126 ? buf[1] : buf[1] === 126 ? buf.readUInt16BE(2) : buf.readUInt32BE(6);
      expect(declared).toBe(len);
    }
    expect([...encodeTextFrame('hi')]).toEqual([0x81, 2, 0x68, 0x69]);
  });

  it('writes control and close frames, the reason cut to 123 bytes of UTF-8', () => {
    expect([...encodeControlFrame(9)]).toEqual([0x89, 0]);
    expect([...encodeControlFrame(10, Buffer.from('ab'))]).toEqual([0x8a, 2, 0x61, 0x62]);
    expect([...encodeCloseFrame()]).toEqual([0x88, 0]);
    const close = encodeCloseFrame(1008, 'é'.repeat(100));
    expect(close[1]).toBeLessThanOrEqual(125);
    expect(close.readUInt16BE(2)).toBe(1008);
    expect(close.subarray(4).toString()).toBe('é'.repeat(61));
  });
});

describe('pings with the output', () => {
  it('the outbox writes a due ping with the waiting frames, in the same write', () => {
    const writes: [string, boolean][] = [];
    const slot: OutboxSlot = { out: undefined, outChars: 0, ws: { readyState: 1, write: (buf, ping) => void writes.push([buf.toString('hex'), ping === true]) } };
    const outbox = new Outbox(() => true);
    outbox.send(slot, 'a');
    slot.pingDue = true;
    outbox.flush();
    outbox.send(slot, 'b');
    outbox.flush();
    expect(writes).toEqual([
      [encodeTextFrame('a').toString('hex'), true],
      [encodeTextFrame('b').toString('hex'), false],
    ]);
    expect(slot.pingDue).toBe(false);
  });

  it('a ServerSocket writes frames and the ping after them as one socket write', () => {
    // A socket whose writes are recorded and which never reads anything.
    const written: Buffer[] = [];
    const duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, done) {
        written.push(Buffer.from(chunk));
        done();
      },
    });
    const events: ServerSocketEvents = { message() {}, pong() {}, error() {}, close() {} };
    const s = new ServerSocket(duplex, events, 1024);
    s.write(encodeTextFrame('x'), true);
    expect(written.map((b) => [...b])).toEqual([[0x81, 1, 0x78, 0x89, 0]]);
    s.terminate();
    s.write(encodeTextFrame('y'));
    expect(written.length).toBe(1); // nothing once closing
  });
});

/** A raw TCP client: the handshake by hand, then whatever bytes the test writes. */
async function tcpClient(url: string, request?: string): Promise<{ socket: Socket; head: string; received: () => Buffer; ended: Promise<void> }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  cleanupSockets.push(socket);
  let data = Buffer.alloc(0);
  const waiters = new Set<() => void>();
  socket.on('data', (d: Buffer) => {
    data = Buffer.concat([data, d]);
    for (const w of waiters) w();
  });
  socket.on('error', () => {});
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    request ??
      `GET / HTTP/1.1\r\nHost: ${hostname}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no handshake answer')), T);
    const check = () => {
      if (data.includes('\r\n\r\n') || socket.destroyed) {
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      }
    };
    waiters.add(check);
    socket.once('close', check);
    check();
  });
  const end = data.indexOf('\r\n\r\n');
  const head = data.subarray(0, end).toString();
  const offset = end + 4;
  return { socket, head, received: () => data.subarray(offset), ended };
}
const cleanupSockets: Socket[] = [];
afterEach(() => {
  for (const s of cleanupSockets.splice(0)) s.destroy();
});

/** Server frames in `buf`: [opcode, payload]. */
function serverFrames(buf: Buffer): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  let o = 0;
  while (o + 2 <= buf.length) {
    let len = buf[o + 1]! & 0x7f;
    let h = 2;
    if (len === 126) [len, h] = [buf.readUInt16BE(o + 2), 4];
    else if (len === 127) [len, h] = [buf.readUInt32BE(o + 6), 10];
    if (o + h + len > buf.length) break;
    out.push([buf[o]! & 0x0f, buf.subarray(o + h, o + h + len)]);
    o += h + len;
  }
  return out;
}

describe('server on its own framing', () => {
  it('answers the handshake with the RFC 6455 accept digest and refuses bad requests with their status', async () => {
    const { url } = await startServer();
    const ok = await tcpClient(url);
    expect(ok.head).toMatch(/^HTTP\/1\.1 101 /);
    expect(ok.head).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    const badKey = await tcpClient(url, 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n');
    expect(badKey.head).toMatch(/^HTTP\/1\.1 400 /);
    const badVersion = await tcpClient(url, 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 12\r\n\r\n');
    expect(badVersion.head).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('takes a message in fragments with a ping between them (answered with a pong), and frames sent right behind the request', async () => {
    const { url } = await startServer();
    const join = Buffer.from(JSON.stringify({ type: 'join', lobby: 'frag' }));
    const c = await tcpClient(url);
    c.socket.write(Buffer.concat([frame(1, join.subarray(0, 5), { fin: false }), frame(9, 'hello'), frame(0, join.subarray(5, 9), { fin: false })]));
    c.socket.write(frame(0, join.subarray(9)));
    await waitUntil(() => serverFrames(c.received()).some(([op, p]) => op === 1 && p.toString().includes('"joined"')), 'joined after fragments', T);
    const frames = serverFrames(c.received());
    expect(frames[0]).toEqual([10, Buffer.from('hello')]);
    // A join written in the same packet as the upgrade request (the server's `head`).
    const { hostname, port } = new URL(url);
    const eager = connect(Number(port), hostname);
    cleanupSockets.push(eager);
    let got = '';
    eager.on('data', (d: Buffer) => (got += d.toString('latin1')));
    await new Promise<void>((resolve) => eager.once('connect', () => resolve()));
    eager.write(
      Buffer.concat([
        Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`),
        frame(1, join),
      ]),
    );
    await waitUntil(() => got.includes('"joined"'), 'joined from the head', T);
  });

  it.each([
    ['bad UTF-8', frame(1, Buffer.from([0x7b, 0xff])), 1007],
    ['a bad opcode', frame(5, 'x'), 1002],
    ['an unmasked frame', frame(1, '{}', { mask: false }), 1002],
  ])('closes a socket sending %s with %i and counts it', async (_what, bytes, code) => {
    const { url, server } = await startServer();
    const c = await tcpClient(url);
    c.socket.write(bytes);
    await c.ended;
    const close = serverFrames(c.received()).find(([op]) => op === 8);
    expect(close?.[1].readUInt16BE(0)).toBe(code);
    expect(server.getStats().abuseClosed).toBe(1);
  });

  it("finishes the close handshake with the peer's code, and answers a ws client's ping", async () => {
    const { url } = await startServer();
    const r = await raw(url);
    const pong = new Promise<string>((resolve) => r.ws.once('pong', (d: Buffer) => resolve(d.toString())));
    r.ws.ping('are you there');
    expect(await pong).toBe('are you there');
    r.ws.close(4321, 'done');
    expect(await r.closed).toEqual({ code: 4321, reason: 'done' });
    expect(r.ws.readyState).toBe(WebSocket.CLOSED);
  });
});
