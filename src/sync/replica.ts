/**
 * A replicated object on a client: the latest authoritative slots, and an
 * interpolation buffer (a small ring of timed samples of the numeric
 * continuous fields) that renders it a little in the past.
 * @module
 */
import type { BlockArena } from './arena.js';
import { CodeHistory, type HistoryArena } from './history.js';
import type { FieldValue, Fields, InferFields, Schema, SlotValue } from './schema.js';

/** Samples kept per object for interpolation. */
const RING = 16;
const NO_RING = { buf: new Float64Array(0) };

/**
 * Render clock a client shares with its replicas: {@link SyncClient.poll}
 * moves it; a replica computes its render values from it only when they are
 * read (objects nobody reads cost nothing per frame).
 * @internal
 */
export interface RenderClock {
  /** Render time in host ms (−Infinity before the first interpolating poll). */
  t: number;
  /** Time of the newest snapshot at that poll (host ms): a replica sampled then is moving. */
  newest: number;
  /** Extrapolation bound, ms. */
  maxExtrapolation: number;
  /** Bumped by every poll that moves the render time. */
  epoch: number;
}

const STILL_CLOCK: RenderClock = { t: -Infinity, newest: Infinity, maxExtrapolation: 0, epoch: 0 };

/** A replicated object as a client sees it. Read-only: the host owns it. */
export class Replica<F extends Fields = Fields> {
  /** @internal latest authoritative slot values */
  readonly slots: SlotValue[];
  /** @internal slot values at the render time (computed on read, see {@link renderSlots}) */
  private rendered: SlotValue[] | undefined;
  /** @internal clock epoch and {@link version} the rendered values were computed for */
  private renderedEpoch = -1;
  private renderedVersion = -1;
  /** @internal bumped whenever the latest state or the samples change */
  version = 0;
  /**
   * @internal samples, a block taken on the first one (still objects never
   * need one) from the client's sample arena or an own holder: RING times
   * (host ms), then RING rows of the interpolated slots' values, from {@link ringAt}
   */
  private ringHolder: { buf: Float64Array } = NO_RING;
  private ringAt = 0;
  /** @internal samples stored / next write index */
  count = 0;
  head = 0;
  /** Host tick of the latest state applied. */
  tick: number;
  /** @internal coded slot values by tick (baselines of delta-coded updates) */
  readonly history: CodeHistory;
  private lastTime = -Infinity;
  /** @internal despawned */
  gone = false;

  /** @internal */
  constructor(
    /** Id the host gave the object. */
    readonly id: number,
    readonly schema: Schema<F>,
    slots: SlotValue[],
    tick: number,
    /** @internal the owning client's render clock */
    private readonly clock: RenderClock = STILL_CLOCK,
    /** @internal the owning client's history arena */
    arena?: HistoryArena,
    /** @internal the owning client's sample arena */
    private readonly samples?: BlockArena<Float64Array>,
  ) {
    this.slots = slots;
    this.tick = tick;
    this.history = new CodeHistory(schema, arena);
    this.history.record(tick, slots);
  }

  /** Latest authoritative value of a field. */
  get<K extends keyof F & string>(key: K): FieldValue<F[K]> {
    return this.schema.get(this.slots, key);
  }

  /** Latest authoritative value (a fresh object). */
  get state(): InferFields<F> {
    return this.schema.toValue(this.slots);
  }

  /** Value of a field at the client's render time (numeric fields interpolated, others latest). */
  renderGet<K extends keyof F & string>(key: K): FieldValue<F[K]> {
    return this.schema.get(this.renderSlots, key);
  }

  /** The whole value at the render time (a fresh object). */
  get render(): InferFields<F> {
    return this.schema.toValue(this.renderSlots);
  }

  /** @internal time of the newest sample, or −Infinity */
  lastSampleTime(): number {
    return this.lastTime;
  }

  /** @internal the replica left the client: give its arena blocks back */
  release(): void {
    this.history.release();
    if (this.ringHolder === this.samples) this.samples.release(this.ringAt, RING * (1 + this.schema.interpolated.length));
    this.ringHolder = NO_RING;
    this.count = 0;
  }

  /** @internal the latest state changed (render values are recomputed at the next read) */
  changed(): void {
    this.version++;
  }

  /**
   * @internal Slot values at the client's render time, computed when read
   * (and cached until the next poll or change): non-interpolated slots are
   * the latest; interpolated ones come from the samples around the render
   * time; past the newest, they extrapolate up to `maxExtrapolation` ms when
   * the object was moving at the newest snapshot, else hold.
   */
  get renderSlots(): readonly SlotValue[] {
    const c = this.clock;
    if (this.renderedEpoch !== c.epoch || this.renderedVersion !== this.version) {
      this.renderedEpoch = c.epoch;
      this.renderedVersion = this.version;
      const slots = this.slots;
      const rs = (this.rendered ??= slots.slice());
      const leaves = this.schema.leaves;
      // Before the first poll (or without samples) the render value is the latest.
      const interp = c.epoch > 0 && this.count > 0;
      for (let i = 0; i < slots.length; i++) if (!interp || !leaves[i]!.interpolate) rs[i] = slots[i]!;
      if (interp) this.interpolateInto(c.t, c.maxExtrapolation, this.lastTime >= c.newest);
    }
    return this.rendered!;
  }

  /** @internal append a sample of the interpolated slots of `slots` at `time` */
  sample(time: number, slots: readonly SlotValue[]): void {
    const idx = this.schema.interpolated;
    if (idx.length === 0) return;
    if (this.ringHolder === NO_RING) {
      const size = RING * (1 + idx.length);
      if (this.samples !== undefined) {
        this.ringAt = this.samples.alloc(size);
        this.ringHolder = this.samples;
      } else this.ringHolder = { buf: new Float64Array(size) };
    }
    const ring = this.ringHolder.buf;
    const o = this.ringAt;
    if (this.count > 0 && this.lastSampleTime() >= time) {
      // same (or older) time: overwrite the newest
      this.head = (this.head + RING - 1) % RING;
      this.count--;
    }
    const at = this.head;
    ring[o + at] = time;
    this.lastTime = time;
    const base = at * idx.length;
    for (let i = 0; i < idx.length; i++) ring[o + RING + base + i] = slots[idx[i]!] as number;
    this.head = (at + 1) % RING;
    if (this.count < RING) this.count++;
    this.version++;
  }

  private interpolateInto(rt: number, maxExtrapolation: number, moving: boolean): void {
    const idx = this.schema.interpolated;
    const rs = this.rendered!;
    if (idx.length === 0 || this.count === 0) return;
    const n = idx.length;
    const ring = this.ringHolder.buf;
    const o = this.ringAt;
    const first = this.head + RING - this.count; // slot of the oldest sample, before % RING
    let hi = this.count - 1;
    while (hi >= 0 && ring[o + (first + hi) % RING]! > rt) hi--;
    if (hi < 0) {
      const s = (first % RING) * n;
      for (let i = 0; i < n; i++) rs[idx[i]!] = ring[o + RING + s + i]!;
      return;
    }
    if (hi < this.count - 1) {
      const a = (first + hi) % RING;
      const b = (first + hi + 1) % RING;
      const ta = ring[o + a]!;
      const f = (rt - ta) / (ring[o + b]! - ta);
      for (let i = 0; i < n; i++) {
        const va = ring[o + RING + a * n + i]!;
        rs[idx[i]!] = va + (ring[o + RING + b * n + i]! - va) * f;
      }
      return;
    }
    const last = (first + hi) % RING;
    if (!moving || hi === 0) {
      for (let i = 0; i < n; i++) rs[idx[i]!] = ring[o + RING + last * n + i]!;
      return;
    }
    const prev = (first + hi - 1) % RING;
    const tl = ring[o + last]!;
    const dt = tl - ring[o + prev]!;
    const ahead = Math.min(rt - tl, maxExtrapolation);
    for (let i = 0; i < n; i++) {
      const vl = ring[o + RING + last * n + i]!;
      rs[idx[i]!] = dt > 0 ? vl + ((vl - ring[o + RING + prev * n + i]!) * ahead) / dt : vl;
    }
  }
}
