import { describe, expect, it } from 'vitest';
import { TransferMode } from '../../src/mesh/types.js';
import { FrameKind, encode, encodeHeader } from '../../src/rpc/codec.js';
import { FakeHub } from './fake-mesh.js';
import { World, concat } from './harness.js';

/** Small deterministic PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MAX_MESSAGE = 4096;
const TOTAL = 100_000;

/**
 * Extension types worth aiming at: msgpack's timestamp (-1) and everything
 * msgpackr's decoder knows (undefined 0, big bigint 0x42, Error 0x65,
 * structured-clone id / pointer 0x69 / 0x70, record definition 0x72, Set 0x73,
 * typed arrays 0x74, RegExp 0x78, bundled strings 0x62), plus unknown ones.
 */
const EXT_TYPES = [0xff, 0xff, 0xff, 0x00, 0x42, 0x65, 0x69, 0x70, 0x72, 0x73, 0x74, 0x78, 0x62, 0x01, 0x7f, 0x80, 0xfe];

describe('fuzz', () => {
  it('100 000 random, mutated, oversized, record-heavy and extension-typed messages: no throw, no crash, every bad one reported', async () => {
    const hub = new FakeHub();
    const meshes = [hub.add(1, 'server'), hub.add(2, 'client'), hub.add(3, 'client')];
    hub.link(1, 2);
    hub.link(1, 3);
    const world = new World(meshes, { maxMessageSize: MAX_MESSAGE });
    await world.ready();
    const r = rng(0xc0ffee);
    const int = (n: number) => Math.floor(r() * n);
    const pick = <T,>(xs: readonly T[]): T => xs[int(xs.length)]!;
    const randomBytes = (n: number) => {
      const b = new Uint8Array(n);
      for (let j = 0; j < n; j++) b[j] = int(256);
      return b;
    };
    const sum = world.ep(1).getTableChecksum();
    const names = world.ep(1).getRegisteredNames();
    const echoId = names.indexOf('echo');
    const anyValue = (): unknown => {
      switch (int(12)) {
        case 0: return int(1000) - 500;
        case 1: return 'x'.repeat(int(20));
        case 2: return null;
        case 3: return [int(5), 'a'];
        case 4: return { k: int(3) };
        case 5: return new Uint8Array(int(8));
        case 6: return names[int(names.length)];
        case 7: return new Map([[int(3), 'v']]);
        case 8: return new Date(int(2 ** 40) - 2 ** 39);
        case 9: return BigInt(int(2 ** 30)) * BigInt(int(2 ** 30)) - 2n ** 58n;
        case 10: return Math.fround(r() * 1000);
        default: return r() < 0.5;
      }
    };
    /**
     * A nested structure of records (plain objects) with many shapes, Maps and
     * arrays, of at most about `budget` nodes (messages are capped at 4 KiB anyway).
     */
    const recordTree = (depth: number, budget = { left: 300 }): unknown => {
      if (depth <= 0 || budget.left <= 0 || r() < 0.15) return anyValue();
      budget.left--;
      switch (int(4)) {
        case 0: {
          // A fresh shape: up to 80 keys, so one message defines many records.
          const o: Record<string, unknown> = {};
          const keys = 1 + int(int(4) === 0 ? 80 : 6);
          for (let k = 0; k < keys; k++) o[`k${int(200)}`] = recordTree(depth - 1, budget);
          return o;
        }
        case 1: {
          // The same shape repeated: record reuse.
          const shape = int(40);
          return Array.from({ length: 1 + int(12) }, () => ({ [`s${shape}`]: recordTree(depth - 2, budget), t: int(9) }));
        }
        case 2:
          return new Map([[recordTree(depth - 1, budget), recordTree(depth - 1, budget)]]);
        default:
          return [recordTree(depth - 1, budget), recordTree(depth - 1, budget)];
      }
    };
    /** One msgpack extension value (fixext 1–16 or ext8), sometimes followed by a value its reader consumes. */
    const extValue = (): Uint8Array => {
      const type = r() < 0.85 ? pick(EXT_TYPES) : int(256);
      const len = pick([1, 2, 4, 8, 12, 16, int(40)]);
      const fix: Record<number, number> = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 };
      const head = fix[len] !== undefined ? [fix[len]!, type] : [0xc7, len, type];
      const tail = r() < 0.3 ? encode(pick([['Error', 'boom'], ['a+', 'g'], [1, 2, 3], 'str', recordTree(2)])) : new Uint8Array(0);
      return concat(new Uint8Array(head), randomBytes(len), tail);
    };
    /** An array header for `n` elements (sometimes lying about n). */
    const arrayHead = (n: number) => new Uint8Array([0x90 | Math.min(15, r() < 0.1 ? int(16) : n)]);
    const method = () => (r() < 0.5 ? encode(echoId) : encode(pick(names)));

    // Well-formed messages of every frame kind with random contents; mutation starts from these.
    const seeds: (() => Uint8Array)[] = [
      () => concat(encodeHeader(sum), encode([FrameKind.CALL, int(names.length + 3), [anyValue()]])),
      () => concat(encodeHeader(sum), encode([FrameKind.CALL, names[int(names.length)], [anyValue(), anyValue()]])),
      () => concat(encodeHeader(sum), encode([FrameKind.REQUEST, names[int(names.length)], [anyValue()], int(1e6)])),
      () => concat(encodeHeader(sum), encode([FrameKind.RESULT, int(100), anyValue()])),
      () => concat(encodeHeader(sum), encode([FrameKind.FAILURE, int(100), anyValue(), anyValue()])),
      () => concat(encodeHeader(sum), encode([FrameKind.RELAY, int(7) - 3, int(4), [int(4), anyValue(), [anyValue()], int(9)]])),
      () => concat(encodeHeader(sum), encode([FrameKind.RELAYED, int(5), [int(4), anyValue(), [anyValue()]]])),
      () => concat(encodeHeader(sum), encode([FrameKind.HELLO, anyValue(), anyValue()])),
      () => concat(encodeHeader(sum), encode([FrameKind.PEERS, int(4), [int(6), anyValue()]])),
      () => concat(encodeHeader(int(2) ? sum : int(1e9)), encode([int(12), anyValue(), anyValue(), anyValue()])),
    ];
    // Large and nested msgpackr records, and deep raw nesting, in requests (answered, so re-encoded),
    // calls and relays (re-encoded by peer 1 for other clients). Encoding trees of many record shapes
    // is slow, so a pool of them is built once and mutated copies are fed.
    const recordSeeds: (() => Uint8Array)[] = [
      () => concat(encodeHeader(sum), encode([FrameKind.REQUEST, 'echo', [recordTree(8)], int(1e6)])),
      () => concat(encodeHeader(sum), encode([FrameKind.CALL, pick(names), [recordTree(6), recordTree(6)]])),
      () => concat(encodeHeader(sum), encode([FrameKind.RELAY, pick([0, 1, 2, 3, -2, -3]), int(4), [FrameKind.REQUEST, 'echo', [recordTree(6)], int(1e6)]])),
      () => concat(encodeHeader(sum), encode([FrameKind.RESULT, int(100), recordTree(8)]), encode([FrameKind.CALL, 'seq', [recordTree(4)]])),
      () => {
        // [1, echo, [[[[ … nil ]]]], id]: nesting as deep as the message allows.
        const depth = 1 + int(MAX_MESSAGE - 16);
        const b = new Uint8Array(depth);
        b.fill(0x91);
        return concat(encodeHeader(sum), new Uint8Array([0x94, FrameKind.REQUEST]), encode(echoId), b, new Uint8Array([0xc0]), encode(int(1e6)));
      },
    ];
    const recordPool = Array.from({ length: 200 }, (_, i) => recordSeeds[i % 4]!());
    const deepNesting = recordSeeds[4]!;
    // Extension values where arguments, results, relayed frames and headers go.
    const extSeeds: (() => Uint8Array)[] = [
      () => concat(encodeHeader(sum), new Uint8Array([0x94, FrameKind.REQUEST]), method(), arrayHead(1), extValue(), encode(int(1e6))),
      () => concat(encodeHeader(sum), new Uint8Array([0x93, FrameKind.CALL]), method(), arrayHead(2), extValue(), extValue()),
      () => concat(encodeHeader(sum), new Uint8Array([0x93, FrameKind.RESULT]), encode(int(100)), extValue()),
      () => concat(encodeHeader(sum), new Uint8Array([0x94, FrameKind.RELAY]), encode(pick([0, 1, 3, -3])), encode(int(4)), new Uint8Array([0x94, FrameKind.REQUEST]), method(), arrayHead(1), extValue(), encode(int(1e6))),
      () => concat(encodeHeader(sum), new Uint8Array([0x93, FrameKind.RELAYED]), encode(int(5)), new Uint8Array([0x93, FrameKind.CALL]), method(), arrayHead(1), extValue()),
      () => concat(extValue(), encode([FrameKind.CALL, 'seq', [1]])), // the header itself
      () => concat(encodeHeader(sum), arrayHead(3), extValue(), extValue(), extValue()), // the frame kind
      // Bundled strings (0x62) sending the reader back to byte 0: read forever without the codec's progress check.
      () => concat(new Uint8Array([0xa0, 0xa0, 0xd6, 0x62, 0xff, 0xff, 0xff, 0xfc]), encode(anyValue())),
    ];
    // Oversized messages are views into one random buffer: cheap to make, and never read.
    const big = randomBytes(MAX_MESSAGE * 4);
    big.set(concat(encodeHeader(sum), encode([FrameKind.CALL, 'seq', [1]])));

    const targets = [1, 2, 3];
    const froms = [1, 2, 3, 4];
    const fed = { random: 0, mutated: 0, records: 0, extensions: 0, oversized: 0, atLimit: 0 };
    let oversizeUnreported = 0;
    let atLimitRefused = 0;
    const thrown: unknown[] = [];
    const errorCount = () => [1, 2, 3].reduce((n, id) => n + Object.values(world.ep(id).getStats().errors).reduce((a, b) => a + b, 0), 0);
    const errorsBefore = errorCount();
    // Problems the endpoint's last-resort catch had to turn into reports (code paths that threw).
    const defensive: string[] = [];
    for (const id of [1, 2, 3]) world.ep(id).on('rpc_error', (e) => void (e.message.startsWith('frame handling failed') && defensive.push(e.message)));
    for (let i = 0; i < TOTAL; i++) {
      let bytes: Uint8Array;
      const kind = int(16);
      if (kind < 3) {
        bytes = randomBytes(int(64));
        fed.random++;
      } else if (kind === 3) {
        // Over the limit (by 1 byte to 3 × the limit), or exactly at it.
        const atLimit = r() < 0.1;
        bytes = big.subarray(0, atLimit ? MAX_MESSAGE : MAX_MESSAGE + 1 + int(MAX_MESSAGE * 3 - 1));
        if (atLimit) fed.atLimit++;
        else fed.oversized++;
      } else {
        let source: (() => Uint8Array)[];
        if (kind < 7) (source = extSeeds), fed.extensions++;
        else if (kind < 9) (source = r() < 0.8 ? [() => pick(recordPool).slice()] : [deepNesting]), fed.records++;
        else (source = seeds), fed.mutated++;
        bytes = pick(source)();
        const flips = kind >= 13 ? 0 : 1 + int(4); // some stay as built
        for (let f = 0; f < flips && bytes.length > 0; f++) {
          const op = int(3);
          const at = int(bytes.length);
          if (op === 0) bytes[at] = int(256);
          else if (op === 1) bytes = bytes.subarray(0, at);
          else bytes = concat(bytes, bytes.subarray(at));
        }
      }
      const to = world.ep(targets[int(3)]!);
      const errorsAt = world.errors.length;
      try {
        to.receive(bytes, froms[int(4)]!, int(3), int(3) as TransferMode);
      } catch (err) {
        thrown.push(err);
      }
      const tooLarge = world.errors.length === errorsAt + 1 && world.errors.at(-1)!.code === 'FRAME_TOO_LARGE';
      if (bytes.length > MAX_MESSAGE && !tooLarge) oversizeUnreported++;
      if (bytes.length === MAX_MESSAGE && tooLarge) atLimitRefused++;
      if ((i & 1023) === 0) {
        // Flush replies the fuzz provoked, and let peers process them, without throwing.
        try {
          world.round();
        } catch (err) {
          thrown.push(err);
        }
        world.errors.splice(0, world.errors.length - 16); // keep memory flat; counts are in getStats()
      }
    }
    const total = Object.values(fed).reduce((a, b) => a + b, 0);
    expect(total).toBe(TOTAL);
    expect(fed.oversized).toBeGreaterThan(TOTAL / 20);
    expect(fed.extensions).toBeGreaterThan(TOTAL / 8);
    expect(fed.records).toBeGreaterThan(TOTAL / 12);
    expect(thrown).toEqual([]);
    expect(defensive.slice(0, 5)).toEqual([]);
    expect(oversizeUnreported).toBe(0);
    expect(atLimitRefused).toBe(0);
    const stats = [1, 2, 3].map((id) => world.ep(id).getStats());
    const count = (code: string) => stats.reduce((n, s) => n + (s.errors[code] ?? 0), 0);
    expect(count('FRAME_TOO_LARGE')).toBeGreaterThanOrEqual(fed.oversized);
    expect(errorCount() - errorsBefore).toBeGreaterThan(TOTAL / 2);
    // The system still works, values of every kind included.
    world.log.length = 0;
    world.errors.length = 0;
    // (Peer-list frames "from peer 1" may have rewritten the clients' view of each other, as a
    // misbehaving server could; the server's own links are unaffected.)
    world.ep(1).rpcId(3, 'seq', 1);
    await expect(world.settle(world.ep(3).request(1, 'ping'))).resolves.toBe(1);
    expect(world.log.filter((l) => l.name === 'seq').map((l) => [l.at, l.sender])).toEqual([[3, 1]]);
    const value = { a: [64, 100, 127], d: new Date(1_700_000_000_123), n: 2n ** 64n - 1n, m: new Map([[{ k: 1 }, 'v']]) };
    await expect(world.settle(world.ep(2).request(1, 'echo', value))).resolves.toEqual(value);
  });
});
