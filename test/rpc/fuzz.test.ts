import { describe, expect, it } from 'vitest';
import { TransferMode } from '../../src/mesh/types.js';
import { FrameKind, encode, encodeHeader } from '../../src/rpc/codec.js';
import { FakeHub } from './fake-mesh.js';
import { World } from './harness.js';

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

describe('fuzz', () => {
  it('100 000 random and mutated messages: no throw, no crash, every bad one reported', async () => {
    const hub = new FakeHub();
    const meshes = [hub.add(1, 'server'), hub.add(2, 'client'), hub.add(3, 'client')];
    hub.link(1, 2);
    hub.link(1, 3);
    const world = new World(meshes, { maxMessageSize: 4096 });
    await world.ready();
    const r = rng(0xc0ffee);
    const int = (n: number) => Math.floor(r() * n);
    const sum = world.ep(1).getTableChecksum();
    const names = world.ep(1).getRegisteredNames();
    const anyValue = (): unknown => {
      switch (int(9)) {
        case 0: return int(1000) - 500;
        case 1: return 'x'.repeat(int(20));
        case 2: return null;
        case 3: return [int(5), 'a'];
        case 4: return { k: int(3) };
        case 5: return new Uint8Array(int(8));
        case 6: return names[int(names.length)];
        case 7: return new Map([[int(3), 'v']]);
        default: return r() < 0.5;
      }
    };
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
    const targets = [1, 2, 3];
    const froms = [1, 2, 3, 4];
    let fed = 0;
    const thrown: unknown[] = [];
    const errorsBefore = world.errors.length;
    for (let i = 0; i < 100_000; i++) {
      let bytes: Uint8Array;
      const kind = int(4);
      if (kind === 0) {
        bytes = new Uint8Array(int(64));
        for (let j = 0; j < bytes.length; j++) bytes[j] = int(256);
      } else {
        bytes = seeds[int(seeds.length)]!();
        const flips = 1 + int(4);
        for (let f = 0; f < flips && bytes.length > 0; f++) {
          const op = int(3);
          const at = int(bytes.length);
          if (op === 0) bytes[at] = int(256);
          else if (op === 1) bytes = bytes.subarray(0, at);
          else bytes = concat(bytes, bytes.subarray(at));
        }
        if (kind === 3) bytes = bytes.slice(); // unmodified-length copy sometimes
      }
      const to = world.ep(targets[int(3)]!);
      try {
        to.receive(bytes, froms[int(4)]!, int(3), int(3) as TransferMode);
      } catch (err) {
        thrown.push(err);
      }
      fed++;
      if ((i & 1023) === 0) {
        // Flush replies the fuzz provoked, and let peers process them, without throwing.
        try {
          world.round();
        } catch (err) {
          thrown.push(err);
        }
      }
    }
    expect(fed).toBe(100_000);
    expect(thrown).toEqual([]);
    expect(world.errors.length - errorsBefore).toBeGreaterThan(50_000);
    // The system still works.
    world.log.length = 0;
    // (Peer-list frames "from peer 1" may have rewritten the clients' view of each other, as a
    // misbehaving server could; the server's own links are unaffected.)
    world.ep(1).rpcId(3, 'seq', 1);
    await expect(world.settle(world.ep(3).request(1, 'ping'))).resolves.toBe(1);
    expect(world.log.filter((l) => l.name === 'seq').map((l) => [l.at, l.sender])).toEqual([[3, 1]]);
  });
});

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
