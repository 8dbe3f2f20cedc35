/**
 * The sans-IO contract shared by every protocol-state object above the
 * engines (multiplayer peer and its links, lobby, signaling client and server
 * core, RPC request table, ticker, sync): inputs arrive through methods,
 * `poll(now)` advances the object to `now`, and `nextDeadline()` says when it
 * next has something to do. Such an object arms no timer, reads no clock and
 * draws no randomness of its own: drivers (the `drivers/` folders) own timers,
 * sockets and the wall clock, and randomness comes from an injected
 * {@link RandomSource}.
 * @module
 */

/** Something a driver advances in time. */
export interface Pollable {
  /** Advance to `now` (milliseconds on the driver's clock): emit due events, queue due output. */
  poll(now: number): void;
  /**
   * The soonest time (same clock as `poll`) at which `poll` has something to
   * do: a past or present time when input is waiting, `Infinity` when idle.
   */
  nextDeadline(): number;
}

/** Where protocol objects draw randomness from. */
export interface RandomSource {
  /** Uniform integer in [min, max] (both inclusive; max − min < 2^32). */
  int(min: number, max: number): number;
  /** Uniform float in [0, 1). */
  float(): number;
  /** `length` random bytes. */
  bytes(length: number): Uint8Array;
}

/** Random integer in [min, max] drawn from 32-bit words without modulo bias. */
export function uniformInt(nextUint32: () => number, min: number, max: number): number {
  const span = max - min + 1;
  const limit = Math.floor(0x100000000 / span) * span;
  for (;;) {
    const v = nextUint32();
    if (v < limit) return min + (v % span);
  }
}

/** The platform's CSPRNG (Node 20+ and browsers): the default {@link RandomSource}. */
export const cryptoRandom: RandomSource = {
  int(min: number, max: number): number {
    const buf = new Uint32Array(1);
    return uniformInt(() => (globalThis.crypto.getRandomValues(buf), buf[0]!), min, max);
  },
  float(): number {
    const buf = new Uint32Array(1);
    globalThis.crypto.getRandomValues(buf);
    return buf[0]! / 4294967296;
  },
  bytes(length: number): Uint8Array {
    const buf = new Uint8Array(length);
    globalThis.crypto.getRandomValues(buf);
    return buf;
  },
};

/** A seeded {@link RandomSource} from a generator of uniform 32-bit words (the virtual network's `Rng`). */
export function seededRandom(rng: { nextUint32(): number }): RandomSource {
  const next = () => rng.nextUint32();
  return {
    int: (min, max) => uniformInt(next, min, max),
    float: () => next() / 4294967296,
    bytes(length) {
      const buf = new Uint8Array(length);
      for (let i = 0; i < length; i++) buf[i] = next() & 0xff;
      return buf;
    },
  };
}

/** Hex string of `bytes` random bytes from `random`. */
export function randomHex(random: RandomSource, bytes: number): string {
  let out = '';
  for (const b of random.bytes(bytes)) out += b.toString(16).padStart(2, '0');
  return out;
}

/** The soonest of several deadlines (`Infinity` for none). */
export function soonest(...deadlines: number[]): number {
  let min = Infinity;
  for (const d of deadlines) if (d < min) min = d;
  return min;
}
