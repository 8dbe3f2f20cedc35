/**
 * The virtual-network benchmark's yardstick and GC accounting.
 * @module
 */
import { PerformanceObserver } from 'node:perf_hooks';

/**
 * The yardstick: the floor under any engine that copies each payload once —
 * the same number of 32-byte heap copies as the scenario's messages, in
 * batches of one tick's messages, each batch kept alive for two ticks (about
 * the flight time). Measured right before every scenario run, so the ratio to
 * it does not depend on how loaded the machine is at that moment.
 */
export function copyFloor(messageBytes: number, messages: number, perTick: number): { wallS: number; cpuS: number; copies: number } {
  const payload = new Uint8Array(messageBytes);
  const ticks = Math.ceil(messages / perTick);
  const live: Uint8Array[][] = [];
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let t = 0; t < ticks; t++) {
    const batch: Uint8Array[] = new Array(perTick);
    for (let i = 0; i < perTick; i++) {
      const copy = new Uint8Array(messageBytes);
      copy.set(payload);
      batch[i] = copy;
    }
    live.push(batch);
    if (live.length > 2) live.shift();
  }
  const cpu = process.cpuUsage(cpu0);
  return { wallS: (performance.now() - t0) / 1000, cpuS: (cpu.user + cpu.system) / 1e6, copies: ticks * perTick };
}

/** GC pauses (ms) reported by V8, with their start time. */
export const gcPauses: { start: number; ms: number }[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push({ start: e.startTime, ms: e.duration });
}).observe({ entryTypes: ['gc'] });

/** Milliseconds of GC pause that started inside [t0, t1] (V8 reports pauses asynchronously: call after {@link settleGcReports}). */
export function gcPauseMs(t0: number, t1: number): number {
  let ms = 0;
  for (const g of gcPauses) if (g.start >= t0 && g.start <= t1) ms += g.ms;
  return ms;
}

/** Let the pending GC reports arrive. */
export async function settleGcReports(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 20));
}

