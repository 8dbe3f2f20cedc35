/**
 * Bench debug switch: count every call a benchmark makes into node-datachannel
 * (channel and connection methods, and the message / buffered-amount-low
 * callbacks it receives), so stages can be compared per message.
 *
 * `watchNativeCalls()` must run before the first connection is created: it
 * replaces the `PeerConnection` export of node-datachannel's default object
 * (which the engine reads at construction) with one whose instances, and the
 * channels they create, count their calls. The native prototypes are frozen,
 * so the counters sit on the instances. Bench-only: never imported by `src/`.
 * @module
 */
import ndc from 'node-datachannel';

/** Calls per name, e.g. `dc.sendMessageBinary`, `pc.rtt`, `cb.onMessage`. */
export type CallCounts = Map<string, number>;

const counts: CallCounts = new Map();
let installed = false;

function bump(key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Shadow every method of `proto` on `obj` with a counting wrapper (callbacks it is given count too). */
function countOn(obj: object, kind: 'pc' | 'dc', proto: object): void {
  for (const name of Object.getOwnPropertyNames(proto)) {
    const method = (proto as Record<string, unknown>)[name];
    if (name === 'constructor' || typeof method !== 'function') continue;
    const key = `${kind}.${name}`;
    Object.defineProperty(obj, name, {
      configurable: true,
      writable: true,
      value: function (this: object, ...args: unknown[]) {
        bump(key);
        if (name.startsWith('on') && typeof args[0] === 'function') {
          const cb = args[0] as (...a: unknown[]) => unknown;
          const cbKey = `cb.${name}`;
          args[0] = (...a: unknown[]) => (bump(cbKey), cb(...a));
        }
        const result = (method as (...a: unknown[]) => unknown).apply(this, args);
        if (name === 'createDataChannel' && result !== null && typeof result === 'object') countOn(result, 'dc', (ndc.DataChannel as unknown as { prototype: object }).prototype);
        return result;
      },
    });
  }
}

/** Start counting (idempotent). Call before any connection exists. */
export function watchNativeCalls(): void {
  if (installed) return;
  installed = true;
  const Real = ndc.PeerConnection;
  const Counting = function (this: unknown, ...args: ConstructorParameters<typeof Real>) {
    const pc = new Real(...args);
    countOn(pc, 'pc', Real.prototype);
    return pc;
  } as unknown as typeof Real;
  Counting.prototype = Real.prototype;
  (ndc as { PeerConnection: typeof Real }).PeerConnection = Counting;
}

/** A copy of the counts so far. */
export function nativeCalls(): CallCounts {
  return new Map(counts);
}

/** Calls per message between two snapshots, as `name=rate` pairs (names with no calls left out). */
export function perMessage(before: CallCounts, after: CallCounts, messages: number): string {
  return [...after]
    .map(([k, v]) => [k, (v - (before.get(k) ?? 0)) / messages] as const)
    .filter(([, v]) => v > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v.toFixed(3)}`)
    .join(' ');
}
