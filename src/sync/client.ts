/**
 * The client side of state sync: applies snapshots from the authority on the
 * baseline they were built on, acknowledges complete ticks, keeps an
 * interpolation buffer, and streams numbered inputs.
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { ErrorCode, RtcmeshError } from '../errors.js';
import { checkInt, checkOptions, invalid } from '../util/validate.js';
import { BitReader, BitWriter, TruncatedError } from './bits.js';
import { checkInputSchema, checkSchemas, syncHash } from './schema-set.js';
import { InputBuffer, type SequencedInput } from './inputs.js';
import { float64Arena, int32Arena } from './arena.js';
import { Replica, type RenderClock } from './replica.js';
import type { Schema } from './schema.js';
import { checkTransport, newCounters, SyncErrorCode, type SyncCounters, type SyncErrorEvent, type SyncTransport } from './types.js';
import { DecodeStop, SnapshotReader, type Entry } from './snapshot-reader.js';
import { ENTRY_DESPAWN, ENTRY_FULL, ENTRY_UPDATE, KIND_CLIENT, KIND_SNAPSHOT, readSnapshotHeader, type SnapshotHeader } from './wire.js';

/** Options of a {@link SyncClient}. */
export interface SyncClientOptions {
  /** The host's schemas, same order. */
  schemas: readonly Schema<any>[];
  /** The host's input schema, if it takes inputs. */
  inputSchema?: Schema<any>;
  /** Render this far behind the newest snapshot, in ms. Default 100. */
  interpolationDelayMs?: number;
  /** Extrapolate moving objects at most this far past their newest sample, in ms. Default 250. */
  maxExtrapolationMs?: number;
  /** Most unacknowledged inputs sent per message (oldest first). Default 32. */
  inputRedundancy?: number;
  /** Most unacknowledged inputs kept; older ones are dropped. Default 256. */
  maxPendingInputs?: number;
  /** Most objects held; snapshots spawning more are dropped (`LIMIT`). Default 100000. */
  maxObjects?: number;
}

/** Counters of a {@link SyncClient}. */
export interface SyncClientStats extends SyncCounters {
  /** Snapshot parts applied. */
  partsApplied: number;
  /** Ticks whose every part was applied (each acknowledged). */
  ticksCompleted: number;
  /** Parts of a tick older than one already applied (loss of order; harmless). */
  staleParts: number;
  /** Parts received twice. */
  duplicateParts: number;
  inputsSent: number;
  /** Inputs dropped because more than `maxPendingInputs` were unacknowledged. */
  inputsDropped: number;
  objects: number;
  /** Times the host restarted under the same id and this client started over. */
  hostRestarts: number;
}

/** Events of a {@link SyncClient}. */
export interface SyncClientEvents {
  spawn: (obj: Replica<any>) => void;
  update: (obj: Replica<any>) => void;
  despawn: (obj: Replica<any>) => void;
  /** Every part of host tick `tick` was applied: the state equals the host's at that tick. */
  snapshot: (tick: number) => void;
  sync_error: (event: SyncErrorEvent) => void;
}

const COMPLETED_RING = 64;

/**
 * What a client knows of the host's ticks: the tick being assembled from its
 * parts, the ticks completed and acknowledged, and the host's clock offset.
 * A host restart replaces it whole.
 */
class HostTicks {
  /** Ring of completed ticks (−1: none). */
  readonly completed = new Int32Array(COMPLETED_RING).fill(-1);
  // Tick being assembled (the newest seen).
  latest = -1;
  latestParts = 0;
  partsGot = 0;
  readonly partSeen = new Uint8Array(32);
  latestIsReset = false;
  readonly touched = new Set<number>();
  prevApplied = -1;
  /** Baseline of the newest delta snapshot accepted: later ones use this or a newer one. */
  baselineFloor = -1;
  lastComplete = -1;
  ackSent = -1;
  // Time.
  arrivalPending = false;
  offset = NaN;
  renderT = -Infinity;
}

/**
 * Client of replicated state. Bind it to the RPC endpoint with
 * {@link rpcTransport}; call {@link poll} once per frame with the time (it
 * sends acknowledgements and inputs, and updates render values).
 */
export class SyncClient extends EventEmitter<SyncClientEvents> {
  private readonly objectMap = new Map<number, Replica<any>>();
  /** Render time shared with the replicas (they interpolate when read). */
  private readonly clock: RenderClock;
  private readonly schemas: readonly Schema<any>[];
  private readonly inputSchema: Schema<any> | undefined;
  private readonly hash: number;
  private readonly delay: number;
  private readonly maxExtrapolation: number;
  private readonly redundancy: number;
  private readonly maxObjects: number;
  private readonly inputs: InputBuffer;
  private readonly r = new BitReader();
  private readonly w = new BitWriter(256);
  private readonly header: SnapshotHeader = { schemaHash: 0, tick: 0, rate: 0, baselineDelta: 0, partIndex: 0, partCount: 1, inputAck: -1, entryCount: 0 };
  private readonly reader = new SnapshotReader();
  /** The replicas' baseline histories, in one buffer. */
  private readonly arena = int32Arena();
  /** The replicas' interpolation samples, in one buffer. */
  private readonly samples = float64Arena();
  /** What this client knows of the host's ticks; replaced whole when the host restarts. */
  private ticks = new HostTicks();
  private rate = 30;
  private inputsDirty = false;
  private closed = false;
  private readonly stats: SyncClientStats = {
    ...newCounters(),
    partsApplied: 0,
    ticksCompleted: 0,
    staleParts: 0,
    duplicateParts: 0,
    inputsSent: 0,
    inputsDropped: 0,
    objects: 0,
    hostRestarts: 0,
  };

  constructor(
    private readonly transport: SyncTransport,
    options: SyncClientOptions,
  ) {
    super();
    const o = checkOptions<SyncClientOptions>(
      options,
      ['schemas', 'inputSchema', 'interpolationDelayMs', 'maxExtrapolationMs', 'inputRedundancy', 'maxPendingInputs', 'maxObjects'],
      'SyncClient options',
    );
    checkTransport(transport, 'SyncClient transport');
    this.schemas = checkSchemas(o.schemas, 'SyncClient options.schemas');
    this.inputSchema = checkInputSchema(o.inputSchema, 'SyncClient options.inputSchema');
    this.hash = syncHash(this.schemas, this.inputSchema);
    this.delay = o.interpolationDelayMs === undefined ? 100 : checkInt(o.interpolationDelayMs, 0, 60_000, 'SyncClient options.interpolationDelayMs');
    this.maxExtrapolation = o.maxExtrapolationMs === undefined ? 250 : checkInt(o.maxExtrapolationMs, 0, 60_000, 'SyncClient options.maxExtrapolationMs');
    this.redundancy = o.inputRedundancy === undefined ? 32 : checkInt(o.inputRedundancy, 1, 1024, 'SyncClient options.inputRedundancy');
    this.inputs = new InputBuffer(o.maxPendingInputs === undefined ? 256 : checkInt(o.maxPendingInputs, 1, 65536, 'SyncClient options.maxPendingInputs'));
    this.maxObjects = o.maxObjects === undefined ? 100_000 : checkInt(o.maxObjects, 1, 2 ** 24, 'SyncClient options.maxObjects');
    this.clock = { t: -Infinity, newest: Infinity, maxExtrapolation: this.maxExtrapolation, epoch: 0 };
    transport.onMessage((peer, data) => this.receive(peer, data));
    // The host restarted under the same id: what this client holds is the old host's; start over.
    transport.onPeerRestarted?.((peer) => {
      if (!this.closed && peer === transport.authority()) this.startOver();
    });
  }

  /** Replicated objects by id. */
  get objects(): ReadonlyMap<number, Replica<any>> {
    return this.objectMap;
  }

  /** Newest host tick whose every part was applied (−1 before the first). */
  get tick(): number {
    return this.ticks.lastComplete;
  }

  /** The render time of the last {@link poll}, in host milliseconds (tick × 1000 / rate). */
  get renderTime(): number {
    return this.ticks.renderT;
  }

  /** Last input sequence number the host says it processed (0 before any). */
  get lastProcessedInput(): number {
    return this.inputs.acked;
  }

  /** Queue an input (checked against the input schema); returns its sequence number. Sent at the next {@link poll}, and again until acknowledged. */
  sendInput(input: unknown): number {
    this.checkOpen();
    if (this.inputSchema === undefined) throw new RtcmeshError(ErrorCode.INVALID_STATE, 'this SyncClient has no inputSchema; pass one (the same as the host\'s) to send inputs');
    const seq = this.inputs.push(this.inputSchema.toSlots(input, 'sendInput() input'));
    this.inputsDirty = true;
    return seq;
  }

  /** Inputs sent and not yet processed by the host, oldest first: what to replay on top of the latest authoritative state. */
  unacknowledgedInputs<T = unknown>(): SequencedInput<T>[] {
    const schema = this.inputSchema;
    if (schema === undefined) return [];
    return this.inputs.entries().map((s) => ({ seq: s.seq, input: schema.toValue(s.slots) as T }));
  }

  /** Prediction helper: call `apply` for every unacknowledged input, oldest first (reset your predicted state to the authoritative one first). */
  replay<T = unknown>(apply: (input: T, seq: number) => void): number {
    if (typeof apply !== 'function') invalid('replay() callback', 'a function (input, seq) => void', apply);
    const list = this.unacknowledgedInputs<T>();
    for (const { input, seq } of list) apply(input, seq);
    return list.length;
  }

  /**
   * Once per frame: send the acknowledgement and pending inputs to the host,
   * and move the render time to `now` − delay (each object's render values
   * follow when read).
   * @param now the local time in ms (any monotonic clock)
   */
  poll(now: number): void {
    if (this.closed) return;
    if (typeof now !== 'number' || !Number.isFinite(now)) invalid('SyncClient.poll() now', 'a finite number of milliseconds', now);
    if (this.ticks.arrivalPending && this.ticks.latest >= 0) {
      this.ticks.arrivalPending = false;
      const sample = (this.ticks.latest * 1000) / this.rate - now;
      this.ticks.offset = Number.isNaN(this.ticks.offset) ? sample : this.ticks.offset + (sample - this.ticks.offset) * 0.1;
    }
    this.sendClientMessage();
    if (Number.isNaN(this.ticks.offset)) return;
    const rt = Math.max(this.ticks.renderT, now + this.ticks.offset - this.delay);
    this.ticks.renderT = rt;
    // Replicas compute their render values from this when read.
    const c = this.clock;
    c.t = rt;
    c.newest = (this.ticks.latest * 1000) / this.rate;
    c.epoch++;
  }

  /** Counters (a copy). */
  getStats(): SyncClientStats {
    return { ...this.stats, errors: { ...this.stats.errors }, objects: this.objectMap.size, inputsDropped: this.inputs.dropped };
  }

  /** Stop: detach from the transport (objects stay readable). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.close();
  }

  /**
   * The host restarted: despawn every replica (events), forget the completed
   * ticks and the time offset (the new host numbers ticks from 1), and
   * renumber the unacknowledged inputs from 1 (the new host knows none).
   */
  private startOver(): void {
    this.stats.hostRestarts++;
    const gone = [...this.objectMap.values()];
    this.objectMap.clear();
    this.ticks = new HostTicks();
    this.clock.t = -Infinity;
    this.clock.newest = Infinity;
    this.inputs.renumber();
    this.inputsDirty = this.inputs.size > 0;
    for (const obj of gone) this.despawn(obj);
  }

  /** Remove `obj` (if still held), give its arena blocks back and tell the listeners. */
  private despawn(obj: Replica<any>): void {
    this.objectMap.delete(obj.id);
    obj.gone = true;
    obj.release();
    this.emit('despawn', obj);
  }

  private checkOpen(): void {
    if (this.closed) throw new RtcmeshError(ErrorCode.CLOSED, 'this SyncClient is closed; create a new one');
  }

  private sendClientMessage(): void {
    const ack = this.ticks.lastComplete > this.ticks.ackSent ? this.ticks.lastComplete : -1;
    if (ack < 0 && !(this.inputs.size > 0 && (this.inputsDirty || this.ticks.lastComplete >= 0))) return;
    const w = this.w;
    w.reset();
    w.bits(KIND_CLIENT, 2);
    w.bits(this.hash, 16);
    // Always carry the newest complete tick once there is one (a lost ack then costs nothing).
    const carry = this.ticks.lastComplete;
    w.bool(carry >= 0);
    if (carry >= 0) w.bits(carry, 32);
    const n = this.inputs.write(w, this.inputSchema, this.redundancy);
    const data = w.finish();
    if (this.transport.send(this.transport.authority(), data)) {
      this.ticks.ackSent = Math.max(this.ticks.ackSent, carry);
      this.inputsDirty = false;
      this.stats.inputsSent += n;
      this.stats.messagesSent++;
      this.stats.bytesSent += data.length;
    }
  }

  private report(code: SyncErrorCode, peer: number, message: string): void {
    this.stats.errors[code] = (this.stats.errors[code] ?? 0) + 1;
    this.emit('sync_error', { code, peer, message });
  }

  /** Handle one inbound message from `peer` (the transport calls this). */
  receive(peer: number, data: unknown): void {
    if (this.closed) return;
    if (!(data instanceof Uint8Array)) return this.report(SyncErrorCode.MALFORMED, peer, 'sync message is not binary');
    this.stats.messagesReceived++;
    this.stats.bytesReceived += data.length;
    if (peer !== this.transport.authority()) return this.report(SyncErrorCode.NOT_AUTHORITY, peer, `sync message from peer ${peer}, which is not the authority`);
    const r = this.r.reset(data);
    const h = this.header;
    let n = 0;
    try {
      const kind = r.bits(2);
      if (kind !== KIND_SNAPSHOT) return this.report(SyncErrorCode.MALFORMED, peer, `unexpected sync message kind ${kind} at a client`);
      readSnapshotHeader(r, h);
      if (h.baselineDelta === 0 && h.schemaHash !== this.hash) return this.report(SyncErrorCode.SCHEMA_MISMATCH, peer, 'the host uses other schemas (or input schema) than this client');
      if (h.tick < this.ticks.latest) return void this.stats.staleParts++;
      if (h.tick === this.ticks.latest) {
        if (this.ticks.partSeen[h.partIndex >>> 3]! & (1 << (h.partIndex & 7))) return void this.stats.duplicateParts++;
        if (h.partCount !== this.ticks.latestParts) return this.report(SyncErrorCode.MALFORMED, peer, `tick ${h.tick} announced ${this.ticks.latestParts} parts, now ${h.partCount}`);
      }
      if (h.baselineDelta > 0) {
        const b = h.tick - h.baselineDelta;
        if (this.ticks.completed[b % COMPLETED_RING] !== b) return this.report(SyncErrorCode.BASELINE_MISSING, peer, `snapshot ${h.tick} is built on tick ${b}, which this client has not completed`);
      }
      // Decode every entry before changing anything.
      const b = h.tick - h.baselineDelta;
      const dec = this.reader;
      const stop = dec.decode(r, h.entryCount, b, this.schemas, this.objectMap);
      if (stop === DecodeStop.UNKNOWN_OBJECT) return this.report(SyncErrorCode.UNKNOWN_OBJECT, peer, `snapshot ${h.tick} updates object ${dec.failId}, which this client does not have`);
      if (stop === DecodeStop.NO_BASELINE) return this.report(SyncErrorCode.BASELINE_MISSING, peer, `snapshot ${h.tick}: object ${dec.failId} has no value at baseline ${b}`);
      n = dec.count;
      const spawns = dec.spawns;
      if (r.remaining >= 8) throw new TruncatedError(`${r.remaining} bits after the last entry`);
      if (this.objectMap.size + spawns > this.maxObjects) return this.report(SyncErrorCode.LIMIT, peer, `snapshot ${h.tick} would exceed maxObjects (${this.maxObjects})`);
    } catch (err) {
      if (err instanceof TruncatedError) return this.report(SyncErrorCode.MALFORMED, peer, `bad snapshot: ${err.message}`);
      throw err;
    }
    this.apply(n);
  }

  private apply(n: number): void {
    const h = this.header;
    // The host's baselines for this client only grow: history older than this one is never needed again.
    if (h.baselineDelta > 0 && h.tick - h.baselineDelta > this.ticks.baselineFloor) this.ticks.baselineFloor = h.tick - h.baselineDelta;
    if (h.tick > this.ticks.latest) {
      if (this.ticks.latest >= 0) this.ticks.prevApplied = this.ticks.latest;
      this.ticks.latest = h.tick;
      this.ticks.latestParts = h.partCount;
      this.ticks.partsGot = 0;
      this.ticks.partSeen.fill(0);
      this.ticks.latestIsReset = h.baselineDelta === 0;
      this.ticks.touched.clear();
      if (h.rate > 0) this.rate = h.rate;
      this.ticks.arrivalPending = true;
    }
    const time = (h.tick * 1000) / this.rate;
    const holdTime = this.ticks.prevApplied >= 0 ? (this.ticks.prevApplied * 1000) / this.rate : -Infinity;
    const map = this.objectMap;
    for (let k = 0; k < n; k++) {
      const e = this.reader.at(k);
      if (e.kind === ENTRY_UPDATE) {
        this.applyUpdate(e, h.tick, time, holdTime);
        continue;
      }
      const existing = map.get(e.id);
      if (e.kind === ENTRY_DESPAWN) {
        if (existing !== undefined) this.despawn(existing);
        continue;
      }
      const schema = e.schema!;
      const count = schema.leaves.length;
      if (e.kind === ENTRY_FULL) {
        if (this.ticks.latestIsReset) this.ticks.touched.add(e.id);
        if (existing !== undefined && existing.schema === schema) {
          this.hold(existing, holdTime);
          for (let i = 0; i < count; i++) existing.slots[i] = e.slots[i]!;
          existing.tick = h.tick;
          existing.history.record(h.tick, existing.slots);
          existing.sample(time, existing.slots);
          existing.changed();
          this.emit('update', existing);
          continue;
        }
        if (existing !== undefined) this.despawn(existing);
        const obj = new Replica(e.id, schema, e.slots.slice(0, count), h.tick, this.clock, this.arena, this.samples);
        map.set(e.id, obj); // no sample yet: it renders its state until it first changes
        this.emit('spawn', obj);
        continue;
      }
    }
    if (h.inputAck >= 0) this.inputs.ack(h.inputAck);
    this.stats.partsApplied++;
    this.ticks.partSeen[h.partIndex >>> 3]! |= 1 << (h.partIndex & 7);
    if (++this.ticks.partsGot === this.ticks.latestParts) this.complete(h.tick);
  }

  private applyUpdate(e: Entry, tick: number, time: number, holdTime: number): void {
    const obj = e.replica!;
    obj.history.prune(this.ticks.baselineFloor);
    this.hold(obj, holdTime);
    const mask = e.mask;
    const slots = obj.slots;
    const n = slots.length;
    const coded = obj.schema.codedIndex;
    const leaves = obj.schema.leaves;
    for (let i = 0; i < n; i++) {
      if (mask[i] === 0) continue;
      const k = coded[i]!;
      slots[i] = k < 0 ? e.slots[i]! : leaves[i]!.coded!.fromCode(e.codes[k]!); // range checked when decoded
    }
    obj.tick = tick;
    obj.history.recordCodes(tick, e.codes, mask);
    obj.sample(time, slots);
    obj.changed();
    this.emit('update', obj);
  }

  /** Before an object changes: if it was unchanged through the previous applied tick, pin that as a sample (so a stop-then-move interpolates right). */
  private hold(obj: Replica<any>, holdTime: number): void {
    if (obj.lastSampleTime() < holdTime) obj.sample(holdTime, obj.slots);
  }

  private complete(tick: number): void {
    if (this.ticks.latestIsReset) {
      for (const [id, obj] of this.objectMap) {
        if (!this.ticks.touched.has(id)) this.despawn(obj);
      }
      this.ticks.touched.clear();
    }
    this.ticks.completed[tick % COMPLETED_RING] = tick;
    this.ticks.lastComplete = tick;
    this.stats.ticksCompleted++;
    this.emit('snapshot', tick);
  }
}
