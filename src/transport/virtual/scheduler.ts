/**
 * The virtual network's clock and event queue: a binary heap of timed events,
 * ordered by (time, insertion order) so runs are reproducible.
 *
 * In `virtual` mode nothing happens until {@link VirtualClock.advance} or
 * {@link VirtualClock.runUntil} is called; events run synchronously inside
 * those calls. In `realtime` mode the clock follows `performance.now()`
 * (monotonic, never wall-clock) and one timer wakes it for the next event; the
 * timer exists only while live events are queued, so an idle network keeps no
 * process alive.
 * @module
 */
import { ErrorCode, RtcmeshError } from '../../errors.js';
import type { Clock } from '../../util/clock.js';
import { checkOneOf, checkOptions, invalid } from '../../util/validate.js';

/** Something the scheduler calls; objects instead of closures keep hot paths allocation-light. */
export interface Task {
  fire(arg: unknown): void;
}

/** A scheduled event (returned by the clock's internal `schedule`). */
export interface TimerHandle {
  readonly at: number;
  /** @internal */ cancelled: boolean;
}

class Entry implements TimerHandle {
  cancelled = false;
  /** Entries scheduled right after this one for the same time (a bucket: one heap slot). */
  more: Entry[] | null = null;
  constructor(
    readonly at: number,
    readonly seq: number,
    readonly task: Task,
    readonly arg: unknown,
  ) {}
}

/** How the clock advances. */
export type ClockMode = 'virtual' | 'realtime';

/** Options of {@link VirtualClock.runUntil}. */
export interface RunUntilOptions {
  /** Give up after this much simulated time (default 60 000 ms). */
  maxMs?: number;
  /** Check the predicate at least this often (default 10 ms), even with no events. */
  stepMs?: number;
}

/** Resolve after one macrotask, so pending microtasks and immediates run first. */
function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  return new Promise((resolve) => (g.setImmediate ? g.setImmediate(resolve) : setTimeout(resolve, 0)));
}

/** Check the arguments of runUntil()/runUntilAsync() (`what` names the call); the options with defaults. */
function runArgs(predicate: unknown, options: RunUntilOptions, what: string): Required<RunUntilOptions> {
  if (typeof predicate !== 'function') invalid(`${what} predicate`, 'a function', predicate);
  const opts = checkOptions<RunUntilOptions>(options, ['maxMs', 'stepMs'], `${what} options`);
  const maxMs = opts.maxMs ?? 60_000;
  const stepMs = opts.stepMs ?? 10;
  if (typeof maxMs !== 'number' || !(maxMs >= 0) || !Number.isFinite(maxMs)) invalid(`${what} maxMs`, 'a finite number ≥ 0', maxMs);
  if (typeof stepMs !== 'number' || !(stepMs > 0) || !Number.isFinite(stepMs)) invalid(`${what} stepMs`, 'a finite number > 0', stepMs);
  return { maxMs, stepMs };
}

function before(x: Entry, y: Entry): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}

/**
 * A monotonic clock (implements {@link Clock}) with an event queue. Hand it to
 * the mesh and RPC layers so they run on simulated time.
 */
export class VirtualClock implements Clock {
  readonly mode: ClockMode;
  private current = 0;
  private seq = 0;
  private heap: Entry[] = [];
  /** The bucket that received the latest schedule() call; same-time calls join it. */
  private bucket: Entry | undefined;
  private live = 0;
  private running = false;
  private asyncRunning = false;
  private closed = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;
  private readonly origin: number;
  /** Events fired so far (a cost measure for benchmarks). */
  eventsFired = 0;

  constructor(mode: ClockMode = 'virtual') {
    this.mode = checkOneOf(mode, ['virtual', 'realtime'] as const, 'VirtualClock mode');
    this.origin = performance.now();
  }

  /** Milliseconds since the network was created. Never goes backwards. */
  now(): number {
    if (this.mode === 'realtime' && !this.running) {
      const t = performance.now() - this.origin;
      if (t > this.current) this.current = t;
    }
    return this.current;
  }

  /** Events queued and not cancelled. */
  pending(): number {
    return this.live;
  }

  /** @internal Time of the soonest live event (Infinity when none is queued). */
  nextEventAt(): number {
    if (this.live === 0) return Infinity;
    return this.peekLive()?.at ?? Infinity;
  }

  /**
   * @internal Advance to time `t` (no earlier than now), running every event
   * due on the way, like {@link advance}. Virtual mode only.
   */
  advanceTo(t: number, what = 'advanceTo()'): void {
    this.requireVirtual(what);
    this.runTo(t > this.current ? t : this.current, undefined);
  }

  /** @internal Run `task.fire(arg)` at time `at` (clamped to now). */
  schedule(at: number, task: Task, arg?: unknown): TimerHandle {
    const now = this.current;
    const entry = new Entry(at > now ? at : now, this.seq++, task, arg);
    if (this.closed) {
      entry.cancelled = true;
      return entry;
    }
    const bucket = this.bucket;
    if (bucket !== undefined && bucket.at === entry.at) (bucket.more ??= []).push(entry);
    else {
      this.push(entry);
      this.bucket = entry;
    }
    this.live++;
    if (this.mode === 'realtime' && !this.running) this.arm();
    return entry;
  }

  /** @internal Cancel a scheduled event (no-op when fired or cancelled). */
  cancel(handle: TimerHandle | undefined): void {
    if (!handle || handle.cancelled) return;
    handle.cancelled = true;
    this.live--;
    if (this.live === 0) {
      this.heap = [];
      this.bucket = undefined;
      this.disarm();
    }
  }

  /**
   * Advance simulated time by `ms`, running every event due on the way, in
   * order. Virtual mode only.
   * @throws RtcmeshError INVALID_STATE in realtime mode, INVALID_ARGUMENT for a bad `ms`.
   */
  advance(ms: number): void {
    this.requireVirtual('advance()');
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) invalid('advance() ms', 'a finite number ≥ 0', ms);
    this.runTo(this.current + ms, undefined);
  }

  /**
   * Advance until `predicate()` is true, checking after every event and at
   * least every `stepMs`. Returns true when it became true, false when `maxMs`
   * of simulated time passed first. Virtual mode only.
   */
  runUntil(predicate: () => boolean, options: RunUntilOptions = {}): boolean {
    this.requireVirtual('runUntil()');
    const { maxMs, stepMs } = runArgs(predicate, options, 'runUntil()');
    if (predicate()) return true;
    const end = this.current + maxMs;
    while (this.current < end) {
      const target = Math.min(end, this.current + stepMs);
      if (this.runTo(target, predicate)) return true;
      if (predicate()) return true;
    }
    return predicate();
  }

  /**
   * Like {@link runUntil}, for code that also waits on promises or timers
   * (async signaling, `await` in game code): after every `stepMs` of simulated
   * time it yields to the JavaScript event loop (one macrotask), so microtasks
   * and immediates queued by callbacks run before the next step. Virtual mode only.
   */
  async runUntilAsync(predicate: () => boolean, options: RunUntilOptions = {}): Promise<boolean> {
    this.requireVirtual('runUntilAsync()');
    const { maxMs, stepMs } = runArgs(predicate, options, 'runUntilAsync()');
    if (this.asyncRunning) {
      throw new RtcmeshError(ErrorCode.INVALID_STATE, 'runUntilAsync()/advanceAsync() is already running on this clock; await it before starting another');
    }
    this.asyncRunning = true;
    try {
      await yieldToEventLoop();
      if (predicate()) return true;
      const end = this.current + maxMs;
      while (this.current < end && !this.closed) {
        if (this.runTo(Math.min(end, this.current + stepMs), predicate)) return true;
        await yieldToEventLoop();
        if (predicate()) return true;
      }
      return predicate();
    } finally {
      this.asyncRunning = false;
    }
  }

  /** Advance by `ms` like {@link advance}, yielding to the event loop every `stepMs` (default 10) like {@link runUntilAsync}. */
  async advanceAsync(ms: number, options: { stepMs?: number } = {}): Promise<void> {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) invalid('advanceAsync() ms', 'a finite number ≥ 0', ms);
    const opts = checkOptions<{ stepMs?: number }>(options, ['stepMs'], 'advanceAsync() options');
    await this.runUntilAsync(() => false, { maxMs: ms, ...(opts.stepMs !== undefined && { stepMs: opts.stepMs }) });
  }

  /** @internal Drop every event and timer; the clock stays readable. */
  close(): void {
    this.closed = true;
    this.heap = [];
    this.bucket = undefined;
    this.live = 0;
    this.disarm();
  }

  private requireVirtual(what: string): void {
    if (this.mode !== 'virtual') {
      throw new RtcmeshError(ErrorCode.INVALID_STATE, `${what} is only for clock 'virtual'; this network runs in real time and advances by itself`);
    }
    if (this.running) {
      throw new RtcmeshError(ErrorCode.INVALID_STATE, `${what} was called from inside a network event; call it from outside the simulation's callbacks`);
    }
  }

  /** Run events with time ≤ `end`; stop early (returning true) when `predicate` holds. */
  private runTo(end: number, predicate: (() => boolean) | undefined): boolean {
    this.running = true;
    try {
      while (this.heap.length > 0) {
        const top = this.heap[0]!;
        if (top.at > end) break;
        this.pop();
        if (top.at > this.current) this.current = top.at;
        if (!top.cancelled && this.fireOne(top) && predicate !== undefined && predicate()) {
          this.requeueRest(top, 0);
          return true;
        }
        const more = top.more;
        if (more !== null) {
          // Entries appended while this bucket runs are picked up by the growing loop.
          for (let i = 0; i < more.length; i++) {
            const e = more[i]!;
            if (!e.cancelled && this.fireOne(e) && predicate !== undefined && predicate()) {
              this.requeueRest(top, i + 1);
              return true;
            }
          }
        }
        if (this.bucket === top) this.bucket = undefined;
      }
      if (end > this.current) this.current = end;
      return false;
    } finally {
      this.running = false;
      if (this.live === 0) {
        this.heap = [];
        this.bucket = undefined;
      }
    }
  }

  private fireOne(e: Entry): boolean {
    e.cancelled = true;
    this.live--;
    this.eventsFired++;
    e.task.fire(e.arg);
    return true;
  }

  /** Put back the entries of `bucket` from `from` on (runUntil stopped inside it). */
  private requeueRest(bucket: Entry, from: number): void {
    if (this.bucket === bucket) this.bucket = undefined;
    const rest = bucket.more?.slice(from).filter((e) => !e.cancelled) ?? [];
    bucket.more = null;
    const head = rest.shift();
    if (head === undefined) return;
    head.more = rest.length > 0 ? rest : null;
    this.push(head);
  }

  private arm(): void {
    const top = this.peekLive();
    if (!top) {
      this.disarm();
      return;
    }
    if (this.timer !== undefined && this.timerAt <= top.at) return;
    this.disarm();
    this.timerAt = top.at;
    const delay = Math.max(0, top.at - this.now());
    this.timer = setTimeout(this.onTimer, delay);
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.closed) return;
    const t = performance.now() - this.origin;
    this.runTo(Math.max(t, this.current), undefined);
    this.arm();
  };

  /** The heap's first bucket that still holds a live event (its time is the next event's), dropping wholly cancelled ones. */
  private peekLive(): Entry | undefined {
    const h = this.heap;
    while (h.length > 0) {
      const top = h[0]!;
      if (!top.cancelled) return top;
      const more = top.more;
      if (more !== null) for (let i = 0; i < more.length; i++) if (!more[i]!.cancelled) return top;
      // Same-time calls must not join a bucket that left the heap.
      if (this.bucket === top) this.bucket = undefined;
      this.pop();
    }
    return undefined;
  }

  private push(e: Entry): void {
    const h = this.heap;
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (!before(e, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = e;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    const n = h.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && before(h[r]!, h[l]!)) c = r;
      if (!before(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}
