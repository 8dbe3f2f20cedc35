/**
 * Link conditions: what one direction of a virtual link does to packets, and
 * the validation that turns user options into a checked, complete form.
 * @module
 */
import { checkOneOf, checkOptions, invalid } from '../../util/validate.js';

/** Shape of the random jitter added to the base latency. */
export type JitterDistribution = 'uniform' | 'normal' | 'exponential';

/** Random delay added to each packet. Jitter can reorder packets, as netem does. */
export interface JitterOptions {
  /**
   * Spread in milliseconds: `uniform` adds U(-ms, +ms); `normal` adds N(0, ms²)
   * (standard deviation `ms`); `exponential` adds an exponential delay of mean `ms`.
   * The total delay never goes below zero.
   */
  ms: number;
  /** Default `uniform`. */
  distribution?: JitterDistribution;
}

/**
 * Bursty loss by the Gilbert–Elliott model: a two-state Markov chain stepped
 * once per packet. Mean loss = (p·lossBad + r·lossGood) / (p + r);
 * mean burst length in packets ≈ 1 / r.
 */
export interface GilbertElliottOptions {
  /** Probability of moving good → bad per packet. */
  p: number;
  /** Probability of moving bad → good per packet. */
  r: number;
  /** Loss probability in the good state (default 0). */
  lossGood?: number;
  /** Loss probability in the bad state (default 1). */
  lossBad?: number;
}

/** Packet loss: independent (`rate`) and/or bursty (`gilbertElliott`); both apply. */
export interface LossOptions {
  /** Independent loss probability per packet, 0..1. */
  rate?: number;
  gilbertElliott?: GilbertElliottOptions;
}

/** A scheduled outage of one direction (or both, through {@link VirtualNetwork.link}). */
export interface OutageOptions {
  /** Start, in network time (ms since the network was created). */
  atMs: number;
  /** Length in ms. */
  durationMs: number;
}

/** What one direction of a link does to packets. Every field is optional. */
export interface LinkConditions {
  /** One-way base delay in ms (default 0). */
  latencyMs?: number;
  /** Random extra delay; a number is shorthand for uniform ± that many ms. */
  jitter?: number | JitterOptions;
  /** Loss; a number is shorthand for `{ rate }`. */
  loss?: number | LossOptions;
  /** Probability that a packet arrives twice (SCTP discards the copy, as a real stack does). */
  duplicate?: number;
  /** Probability that a packet is held back by `reorderDelayMs`, letting later ones overtake it. */
  reorder?: number;
  /** Extra delay of a reordered packet (default 10 ms). */
  reorderDelayMs?: number;
  /** Bandwidth cap in kilobits per second (1 kbit = 1000 bits); 0 or unset = unlimited. */
  bandwidthKbps?: number;
  /**
   * Bytes the bottleneck queue holds before it drops (tail drop); default 64 KiB.
   * Connections offer it only what fits and keep the rest in their send
   * buffer (`bufferedAmount`), so their own traffic backs up rather than drops.
   */
  queueBytes?: number;
  /** Bytes added to each packet's size for the bandwidth cap (IP/UDP/DTLS/SCTP headers); default 48. */
  overheadBytes?: number;
}

/** @internal Checked, complete conditions. */
export interface ResolvedConditions {
  latencyMs: number;
  jitterMs: number;
  jitterDistribution: JitterDistribution;
  lossRate: number;
  ge: { p: number; r: number; lossGood: number; lossBad: number } | null;
  duplicate: number;
  reorder: number;
  reorderDelayMs: number;
  /** Bytes per ms; 0 = unlimited. */
  bytesPerMs: number;
  queueBytes: number;
  overheadBytes: number;
}

const KEYS = ['latencyMs', 'jitter', 'loss', 'duplicate', 'reorder', 'reorderDelayMs', 'bandwidthKbps', 'queueBytes', 'overheadBytes'];

function num(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) invalid(what, `a number from ${min} to ${max}`, value);
  return value;
}

function prob(value: unknown, what: string): number {
  return num(value, what, 0, 1);
}

/** The conditions of a perfect link (no delay, no loss). */
export const PERFECT: ResolvedConditions = Object.freeze({
  latencyMs: 0,
  jitterMs: 0,
  jitterDistribution: 'uniform',
  lossRate: 0,
  ge: null,
  duplicate: 0,
  reorder: 0,
  reorderDelayMs: 10,
  bytesPerMs: 0,
  queueBytes: 65536,
  overheadBytes: 48,
}) as ResolvedConditions;

/**
 * Check `value` and merge it over `base` (fields not given keep their value).
 * @throws RtcmeshError INVALID_ARGUMENT / UNKNOWN_OPTION naming the field.
 */
export function resolveConditions(value: unknown, base: ResolvedConditions, what: string): ResolvedConditions {
  const c = checkOptions<LinkConditions>(value, KEYS, what);
  const out: ResolvedConditions = { ...base, ge: base.ge ? { ...base.ge } : null };
  if (c.latencyMs !== undefined) out.latencyMs = num(c.latencyMs, `${what}.latencyMs`, 0, 3_600_000);
  if (c.jitter !== undefined) {
    if (typeof c.jitter === 'number') {
      out.jitterMs = num(c.jitter, `${what}.jitter`, 0, 3_600_000);
      out.jitterDistribution = 'uniform';
    } else {
      const j = checkOptions<JitterOptions>(c.jitter, ['ms', 'distribution'], `${what}.jitter`);
      out.jitterMs = num(j.ms, `${what}.jitter.ms`, 0, 3_600_000);
      out.jitterDistribution = j.distribution === undefined ? 'uniform' : checkOneOf(j.distribution, ['uniform', 'normal', 'exponential'] as const, `${what}.jitter.distribution`);
    }
  }
  if (c.loss !== undefined) {
    if (typeof c.loss === 'number') {
      out.lossRate = prob(c.loss, `${what}.loss`);
      out.ge = null;
    } else {
      const l = checkOptions<LossOptions>(c.loss, ['rate', 'gilbertElliott'], `${what}.loss`);
      out.lossRate = l.rate === undefined ? 0 : prob(l.rate, `${what}.loss.rate`);
      if (l.gilbertElliott === undefined) out.ge = null;
      else {
        const g = checkOptions<GilbertElliottOptions>(l.gilbertElliott, ['p', 'r', 'lossGood', 'lossBad'], `${what}.loss.gilbertElliott`);
        out.ge = {
          p: prob(g.p, `${what}.loss.gilbertElliott.p`),
          r: num(g.r, `${what}.loss.gilbertElliott.r`, Number.MIN_VALUE, 1),
          lossGood: g.lossGood === undefined ? 0 : prob(g.lossGood, `${what}.loss.gilbertElliott.lossGood`),
          lossBad: g.lossBad === undefined ? 1 : prob(g.lossBad, `${what}.loss.gilbertElliott.lossBad`),
        };
      }
    }
  }
  if (c.duplicate !== undefined) out.duplicate = prob(c.duplicate, `${what}.duplicate`);
  if (c.reorder !== undefined) out.reorder = prob(c.reorder, `${what}.reorder`);
  if (c.reorderDelayMs !== undefined) out.reorderDelayMs = num(c.reorderDelayMs, `${what}.reorderDelayMs`, 0, 3_600_000);
  if (c.bandwidthKbps !== undefined) out.bytesPerMs = num(c.bandwidthKbps, `${what}.bandwidthKbps`, 0, 1e9) / 8;
  if (c.queueBytes !== undefined) out.queueBytes = num(c.queueBytes, `${what}.queueBytes`, 0, 2 ** 40);
  if (c.overheadBytes !== undefined) out.overheadBytes = num(c.overheadBytes, `${what}.overheadBytes`, 0, 65536);
  return out;
}

/** @internal Back to the public shape (for `conditions()` getters). */
export function toPublic(r: ResolvedConditions): LinkConditions {
  const out: LinkConditions = {
    latencyMs: r.latencyMs,
    jitter: { ms: r.jitterMs, distribution: r.jitterDistribution },
    loss: r.ge ? { rate: r.lossRate, gilbertElliott: { ...r.ge } } : { rate: r.lossRate },
    duplicate: r.duplicate,
    reorder: r.reorder,
    reorderDelayMs: r.reorderDelayMs,
    bandwidthKbps: r.bytesPerMs * 8,
    queueBytes: r.queueBytes,
    overheadBytes: r.overheadBytes,
  };
  return out;
}

/** @internal Mean one-way delay in ms (base + mean jitter contribution). */
export function meanDelay(r: ResolvedConditions): number {
  return r.latencyMs + (r.jitterDistribution === 'exponential' ? r.jitterMs : 0);
}
