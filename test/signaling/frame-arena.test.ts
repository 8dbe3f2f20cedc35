/**
 * The inbox's ring for queued frames (src/signaling/drivers/frame-arena.ts):
 * frames come back intact in arrival order across the ring's wrap, a frame
 * that does not fit is refused (the inbox then keeps its own copy), and space
 * freed by the oldest frames is used again.
 */
import { describe, expect, it } from 'vitest';
import { FrameArena } from '../../src/signaling/drivers/frame-arena.js';

const frame = (n: number, fill: number) => Buffer.alloc(n, fill);

describe('FrameArena', () => {
  it('gives back each frame intact, oldest first, while more are put in behind them and the ring wraps', () => {
    const arena = new FrameArena(1000);
    const queue: { at: number; n: number; fill: number }[] = [];
    const mismatched: number[] = [];
    let fill = 0;
    let refused = 0;
    // Put 3 frames, take 2, over and over: the ring wraps many times.
    for (let round = 0; round < 200; round++) {
      for (let k = 0; k < 3; k++) {
        const n = 40 + ((round * 7 + k * 13) % 180);
        const f = ++fill & 0xff;
        const at = arena.put(frame(n, f));
        if (at < 0) refused++;
        else queue.push({ at, n, fill: f });
      }
      for (let k = 0; k < 2 && queue.length > 0; k++) {
        const { at, n, fill: f } = queue.shift()!;
        const view = arena.view(at, n);
        if (view.length !== n || view.some((b) => b !== f)) mismatched.push(at);
        arena.release(at, n);
      }
    }
    while (queue.length > 0) {
      const { at, n, fill: f } = queue.shift()!;
      if (arena.view(at, n).some((b) => b !== f)) mismatched.push(at);
      arena.release(at, n);
    }
    expect(mismatched).toEqual([]);
    expect(refused).toBeGreaterThan(0); // the ring filled up (more put than taken) and refused the overflow
  });

  it('refuses a frame over a quarter of the ring, and empty frames', () => {
    const arena = new FrameArena(1000);
    expect(arena.put(frame(251, 1))).toBe(-1);
    expect(arena.put(Buffer.alloc(0))).toBe(-1);
    expect(arena.put(frame(250, 1))).toBe(0);
  });

  it('uses the space before the oldest frame once the end is full, and not beyond it', () => {
    const arena = new FrameArena(1000);
    const a = arena.put(frame(250, 1));
    const b = arena.put(frame(250, 2));
    const c = arena.put(frame(250, 3));
    expect([a, b, c]).toEqual([0, 250, 500]);
    expect(arena.put(frame(250, 4))).toBe(750);
    expect(arena.put(frame(10, 5))).toBe(-1); // full
    arena.release(a, 250);
    expect(arena.put(frame(200, 6))).toBe(0); // wrapped into the freed start
    expect(arena.put(frame(60, 7))).toBe(-1); // would run into frame b
    expect(arena.put(frame(50, 8))).toBe(200);
    expect(arena.view(b, 250).every((x) => x === 2)).toBe(true);
  });

  it('starts again from the beginning once empty', () => {
    const arena = new FrameArena(1000);
    const a = arena.put(frame(200, 1));
    const b = arena.put(frame(200, 2));
    arena.release(a, 200);
    arena.release(b, 200);
    expect(arena.put(frame(250, 3))).toBe(0);
  });
});
