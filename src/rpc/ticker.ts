/**
 * Ticker: the fixed-timestep game loop. Each tick polls every endpoint (mesh
 * poll + inbound dispatch in arrival order), runs the user's update, then
 * flushes every endpoint's batches. After a slow tick it catches up by at most
 * `maxCatchUp` ticks and counts the rest as an overrun.
 *
 * Sans-IO: the ticker is a state machine ({@link Ticker.poll}`(now)` runs the
 * ticks due at `now`, {@link Ticker.nextDeadline} is the next tick's time). Its
 * real-time loop lives in `drivers/ticker-loop.ts`; {@link Ticker.start} uses it.
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { ErrorCode, RtcmeshError } from '../errors.js';
import { realClock, type Clock } from '../util/clock.js';
import type { Pollable } from '../util/sans-io.js';
import { checkClock, checkInt, checkOptions, invalid } from '../util/validate.js';
import { TickerLoop } from './drivers/ticker-loop.js';
import type { RpcEndpoint } from './endpoint.js';
import type { RpcMethods } from './types.js';

/** Options of a {@link Ticker}. */
export interface TickerOptions {
  /** Ticks per second. Default 60. */
  rate?: number;
  /** Time source. Default: the real clock. Use a virtual one and call {@link Ticker.advance} to simulate. */
  clock?: Clock;
  /** Most ticks run by one {@link Ticker.advance} to catch up. Default 5. */
  maxCatchUp?: number;
  /** The game update, run between dispatch and flush. */
  update?: (tick: number, dtMs: number) => void;
}

/** Events of a {@link Ticker}. */
export interface TickerEvents {
  /** A tick finished. */
  tick: (tick: number) => void;
  /** `advance()` was behind by more than `maxCatchUp` ticks; `skipped` ticks were dropped. */
  overrun: (skipped: number) => void;
  /** The update threw while the real-time driver ran it (with step/advance/poll it is rethrown). */
  update_error: (error: unknown) => void;
}

const OPTION_KEYS = ['rate', 'clock', 'maxCatchUp', 'update'] as const;

/** Fixed-timestep loop over one or more {@link RpcEndpoint}s. */
export class Ticker extends EventEmitter<TickerEvents> implements Pollable {
  /** Milliseconds per tick. */
  readonly dtMs: number;
  readonly rate: number;
  readonly maxCatchUp: number;
  private readonly clock: Clock;
  private readonly endpoints: RpcEndpoint<RpcMethods>[];
  private update: ((tick: number, dtMs: number) => void) | undefined;
  private nextAt: number | undefined;
  private loop: TickerLoop | undefined;
  /** Ticks run so far. */
  tick = 0;
  /** Times `advance()` fell more than `maxCatchUp` ticks behind. */
  overruns = 0;
  /** Ticks dropped by overruns. */
  skippedTicks = 0;

  constructor(endpoints: RpcEndpoint<any> | readonly RpcEndpoint<any>[], options?: TickerOptions) {
    super();
    const list = Array.isArray(endpoints) ? [...endpoints] : [endpoints];
    for (const e of list) {
      if (e === null || typeof e !== 'object' || typeof (e as RpcEndpoint).poll !== 'function') invalid('Ticker endpoints', 'RpcEndpoint objects', e);
    }
    this.endpoints = list as RpcEndpoint<RpcMethods>[];
    const o = checkOptions<TickerOptions>(options, OPTION_KEYS, 'Ticker options');
    this.rate = o.rate === undefined ? 60 : checkInt(o.rate, 1, 10_000, 'Ticker options.rate');
    this.dtMs = 1000 / this.rate;
    this.maxCatchUp = o.maxCatchUp === undefined ? 5 : checkInt(o.maxCatchUp, 1, 1000, 'Ticker options.maxCatchUp');
    if (o.clock !== undefined) checkClock(o.clock, 'Ticker options.clock');
    this.clock = o.clock ?? realClock;
    if (o.update !== undefined && typeof o.update !== 'function') invalid('Ticker options.update', 'a function', o.update);
    this.update = o.update;
  }

  /** Replace the update callback. */
  onUpdate(update: ((tick: number, dtMs: number) => void) | undefined): void {
    if (update !== undefined && typeof update !== 'function') invalid('Ticker update', 'a function or undefined', update);
    this.update = update;
  }

  /**
   * Run exactly one tick: poll → dispatch → update → flush. The endpoints take
   * this ticker's tick number, so handlers' `ctx.tick` is the `tick` the update gets.
   * @param now the time of this tick on the endpoints' clock (request timeouts);
   *   default: each endpoint reads its own clock.
   */
  step(now?: number): void {
    if (now !== undefined && (typeof now !== 'number' || Number.isNaN(now))) invalid('Ticker.step() now', 'a number or undefined', now);
    this.tick++;
    for (const e of this.endpoints) {
      if (now === undefined) e.poll(this.tick);
      else e.pollAt(now, this.tick);
    }
    try {
      this.update?.(this.tick, this.dtMs);
    } finally {
      for (const e of this.endpoints) e.flush();
    }
    this.emit('tick', this.tick);
  }

  /**
   * Run the ticks that are due at `now`: none if it is early, up to
   * `maxCatchUp` if it is late (the rest are skipped and counted as an
   * overrun). The first call runs one tick and starts the schedule. Returns the
   * number of ticks run. Sans-IO: reads no clock (drivers and simulations call it).
   */
  poll(now: number): number {
    if (typeof now !== 'number' || Number.isNaN(now)) invalid('Ticker.poll() now', 'a number (a time on the ticker clock)', now);
    if (this.nextAt === undefined) this.nextAt = now;
    if (now < this.nextAt) return 0;
    const due = Math.floor((now - this.nextAt) / this.dtMs) + 1;
    const run = Math.min(due, this.maxCatchUp);
    for (let i = 0; i < run; i++) this.step(now);
    this.nextAt += due * this.dtMs; // skipped ticks are not made up
    if (due > run) {
      const skipped = due - run;
      this.overruns++;
      this.skippedTicks += skipped;
      this.emit('overrun', skipped);
    }
    return run;
  }

  /** When the next tick is due (ticker clock); before the first {@link poll}, `-Infinity` (due now). */
  nextDeadline(): number {
    return this.nextAt ?? -Infinity;
  }

  /** {@link poll} at the configured clock's `now()`. */
  advance(): number {
    return this.poll(this.clock.now());
  }

  /**
   * Start the real-time driver (`drivers/ticker-loop.ts`): ticks run on the
   * configured clock at their deadlines. An update that throws is emitted as
   * `update_error`; with no listener the loop stops and the error is rethrown.
   */
  start(): void {
    if (this.loop?.running) throw new RtcmeshError(ErrorCode.INVALID_STATE, 'the ticker is already running; call stop() first');
    this.loop = new TickerLoop(this, this.clock, (err) => {
      this.emit('update_error', err);
      return this.listenerCount('update_error') > 0;
    });
    this.loop.start();
  }

  /** Stop the real-time driver. */
  stop(): void {
    this.loop?.stop();
    this.loop = undefined;
  }

  /** Whether the real-time driver is running. */
  get running(): boolean {
    return this.loop?.running ?? false;
  }
}
