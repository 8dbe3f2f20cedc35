/**
 * The motion and bookkeeping the real-WebRTC sync tests share: objects
 * circling, and the host's state recorded per tick so a client's completed
 * tick can be compared with it field for field.
 */
import type { SlotValue, SyncHost } from '../api.js';

/** Host state by tick: object id → slot values. */
export type TickHistory = Map<number, Map<number, SlotValue[]>>;

/** An object of the tests' mover schema (pos vec3, yaw, hp). */
interface Mover {
  readonly id: number;
  set(values: { pos: { x: number; y: number; z: number }; yaw: number; hp: number }): unknown;
}

/** Moves every object one step around its circle of 100 m at host turn `turn`. */
export function circle(objects: readonly Mover[], turn: number): void {
  for (const o of objects) {
    const a = turn / 20 + o.id;
    o.set({ pos: { x: 100 * Math.cos(a), y: 100 * Math.sin(a), z: o.id }, yaw: Math.sin(a) * 3, hp: (turn + o.id) % 256 });
  }
}

/** Runs one host tick and records the state it snapshotted, keeping the last `keep` ticks. */
export function tickAndRecord(host: SyncHost, history: TickHistory, keep: number): void {
  const built = host.currentTick;
  host.tick();
  history.set(built, new Map([...host.objects.values()].map((o) => [o.id, [...o.slots]])));
  history.delete(built - keep);
}
