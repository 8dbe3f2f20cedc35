/**
 * The ticker's real-time loop: runs a {@link Ticker} (or any
 * {@link Pollable}) on the wall clock through the {@link RealtimeDriver},
 * polling it at each `nextDeadline()`. The only place in the RPC layer that
 * owns a timer; `Ticker.start()` delegates here.
 * @module
 */
import { RealtimeDriver } from '../../drivers/realtime.js';
import type { Clock } from '../../util/clock.js';
import type { Pollable } from '../../util/sans-io.js';

/** A running loop over one pollable. */
export class TickerLoop {
  private driver: RealtimeDriver | undefined;

  /**
   * @param target what to poll (a Ticker).
   * @param clock the target's clock: `poll(now)` gets its time, deadlines are on it.
   * @param onError a poll threw; return true to keep running. On false the
   *   loop stops and the error is rethrown outside the driver (an uncaught exception).
   */
  constructor(
    private readonly target: Pollable,
    private readonly clock: Clock,
    private readonly onError: (error: unknown) => boolean,
  ) {}

  /** Start polling (the first poll happens on the next macrotask). Keeps the process alive while running. */
  start(): void {
    if (this.driver) return;
    const driver = new RealtimeDriver({
      clock: this.clock,
      keepAlive: true,
      onError: (err) => {
        if (this.onError(err)) return;
        if (this.driver === driver) this.stop();
        queueMicrotask(() => {
          throw err;
        });
      },
    });
    this.driver = driver;
    driver.add(this.target);
  }

  /** Stop polling and release the timer. */
  stop(): void {
    this.driver?.stop();
    this.driver = undefined;
  }

  get running(): boolean {
    return this.driver !== undefined;
  }
}
