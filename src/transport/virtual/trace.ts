/**
 * The network's event log: one text line per event (sends, drops, deliveries,
 * state changes), in the order they happened. With the same seed and the same
 * inputs, two runs export byte-identical traces.
 * @module
 */
import { checkBool, checkInt, checkOptions } from '../../util/validate.js';

/** Options of the event log. */
export interface TraceOptions {
  /** Record events (default false: tracing costs time and memory). */
  enabled?: boolean;
  /** Keep at most this many lines; later ones are counted but dropped (default 1 000 000). */
  limit?: number;
}

/** The event log of a {@link VirtualNetwork}. */
export class Trace {
  /** Whether events are being recorded. */
  enabled: boolean;
  /** Maximum number of lines kept. */
  limit: number;
  /** Lines dropped because the limit was reached. */
  overflow = 0;
  private readonly lines: string[] = [];

  constructor(options: TraceOptions = {}) {
    const o = checkOptions<TraceOptions>(options, ['enabled', 'limit'], 'Trace options');
    this.enabled = o.enabled === undefined ? false : checkBool(o.enabled, 'Trace options.enabled');
    this.limit = o.limit === undefined ? 1_000_000 : checkInt(o.limit, 0, 2 ** 31, 'Trace options.limit');
  }

  /** @internal Append one event at time `t`. */
  record(t: number, kind: string, detail: string): void {
    if (this.lines.length >= this.limit) {
      this.overflow++;
      return;
    }
    this.lines.push(`${t.toFixed(3)} ${kind} ${detail}`);
  }

  /** Lines recorded so far. */
  get length(): number {
    return this.lines.length;
  }

  /** The recorded lines (a copy). */
  entries(): string[] {
    return this.lines.slice();
  }

  /** The whole log as text, one event per line. */
  export(): string {
    return this.lines.length === 0 ? '' : this.lines.join('\n') + '\n';
  }

  /** Forget every recorded line. */
  clear(): void {
    this.lines.length = 0;
    this.overflow = 0;
  }
}
