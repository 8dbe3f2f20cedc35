/**
 * The authority side of state sync: spawns replicated objects and, each
 * tick, sends every peer one snapshot (in parts when large) holding only what
 * changed since the last snapshot that peer acknowledged.
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { ErrorCode, RtcmeshError } from '../errors.js';
import { realClock, type Clock } from '../util/clock.js';
import { checkClock, checkInt, checkOptions, checkPeerId, invalid } from '../util/validate.js';
import { BitReader, TruncatedError } from './bits.js';
import { ChangeLog, SLOT_SPAN, sortKeys } from './change-log.js';
import { HostObject } from './host-object.js';
import { int32Arena } from './arena.js';
import type { HistoryArena } from './history.js';
import { SnapshotWriter } from './snapshot-writer.js';
import { InputQueue, readInputs, type SequencedInput } from './inputs.js';
import type { InterestRule } from './interest.js';
import { PeerState } from './peer-state.js';
import type { Fields, InferFields, Schema } from './schema.js';
import { checkInputSchema, checkSchemas, syncHash } from './schema-set.js';
import { checkTransport, newCounters, SyncErrorCode, type SyncCounters, type SyncErrorEvent, type SyncTransport } from './types.js';
import { KIND_CLIENT, KIND_SNAPSHOT, WINDOW } from './wire.js';

/** Options of a {@link SyncHost}. */
export interface SyncHostOptions {
  /** Every schema that can be spawned, in the same order on host and clients. */
  schemas: readonly Schema<any>[];
  /** Schema of client inputs (same on host and clients). Default: no inputs. */
  inputSchema?: Schema<any>;
  /** Snapshots per second (1–255), used by clients to time interpolation. Default 30. */
  tickRate?: number;
  /** Who sees what. Default: every peer sees every object. */
  interest?: InterestRule;
  /** Largest snapshot part in bytes; a bigger snapshot is split between objects. Default 1100 (one datagram). */
  maxPartBytes?: number;
  /** Most inputs accepted in one client message. Default 64. */
  maxInputsPerMessage?: number;
  /** Most inputs queued per peer awaiting the game; more are refused (and resent by the client). Default 128. */
  maxQueuedInputs?: number;
  /** Time source for the acknowledgement round trip (`ackRttMs`); pass the virtual network's clock in simulations. Default: `performance.now()`. */
  clock?: Clock;
}

/** Counters of a {@link SyncHost}. */
export interface SyncHostStats extends SyncCounters {
  snapshotsSent: number;
  partsSent: number;
  /** Snapshots sent as a reset (no usable acknowledged baseline). */
  resetsSent: number;
  acksReceived: number;
  inputsReceived: number;
  /** Input sequence numbers a client never delivered (it gave up on them). */
  inputsSkipped: number;
  objects: number;
  peers: number;
  /**
   * Smoothed round trip from sending a snapshot to receiving its
   * acknowledgement, in ms, by peer id (peers without one yet are absent).
   * It includes the client's frame time (acks go out at its next `poll`).
   */
  ackRttMs: Record<number, number>;
}

/** Events of a {@link SyncHost}. */
export interface SyncHostEvents {
  /** An inbound message was dropped (hostile or malformed); never thrown. */
  sync_error: (event: SyncErrorEvent) => void;
}

const PART_RESERVE = 24; // bytes left for the transport's framing inside maxPartBytes

/**
 * Host (authority) of replicated state. Bind it to an RPC endpoint with
 * {@link rpcTransport}, spawn objects, change them in your update, and call
 * {@link tick} once per tick after the update (before the endpoint flushes).
 */
export class SyncHost extends EventEmitter<SyncHostEvents> {
  /** The tick being built: changes made now are sent by the next {@link tick}. */
  currentTick = 1;
  private readonly objectMap = new Map<number, HostObject<any>>();
  /** Objects by slot index (reused after despawn). */
  private readonly bySlot: (HostObject<any> | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  private capacity = 64;
  private readonly peerStates = new Map<number, PeerState>();
  private readonly schemas: readonly Schema<any>[];
  private readonly schemaIndex = new Map<Schema<any>, number>();
  private readonly inputSchema: Schema<any> | undefined;
  private readonly hash: number;
  private readonly rate: number;
  private readonly interest: InterestRule | undefined;
  private readonly maxPartBytes: number;
  private readonly maxInputsPerMessage: number;
  private readonly maxQueuedInputs: number;
  private readonly clock: Clock;
  private nextId = 1;
  private closed = false;
  /** Objects changed (or spawned) in the tick being built. */
  private dirty: HostObject<any>[] = [];
  /** Objects changed in the tick being sent (what incremental interest re-tests). */
  private changedNow: HostObject<any>[] = [];
  /** Slot of each of {@link changedNow} (−1: despawned), and whether the peer being updated sees it. */
  private changedSlots = new Int32Array(64);
  private changedVisible = new Uint8Array(64);
  /** Tick each slot last changed, ids by slot, and the recent changes peers' snapshots walk. */
  private readonly log = new ChangeLog(64);
  private readonly writer = new SnapshotWriter(this.bySlot, this.objectMap);
  private readonly r = new BitReader();
  private keys = new Float64Array(1024);
  private readonly baselineCounts = new Map<number, number>();
  /** @internal objects' code histories */
  readonly historyArena: HistoryArena = int32Arena();
  private readonly stats: SyncHostStats = {
    ...newCounters(),
    snapshotsSent: 0,
    partsSent: 0,
    resetsSent: 0,
    acksReceived: 0,
    inputsReceived: 0,
    inputsSkipped: 0,
    objects: 0,
    peers: 0,
    ackRttMs: {},
  };

  constructor(
    private readonly transport: SyncTransport,
    options: SyncHostOptions,
  ) {
    super();
    const o = checkOptions<SyncHostOptions>(options, ['schemas', 'inputSchema', 'tickRate', 'interest', 'maxPartBytes', 'maxInputsPerMessage', 'maxQueuedInputs', 'clock'], 'SyncHost options');
    checkTransport(transport, 'SyncHost transport');
    this.schemas = checkSchemas(o.schemas, 'SyncHost options.schemas');
    this.schemas.forEach((s, i) => this.schemaIndex.set(s, i));
    this.inputSchema = checkInputSchema(o.inputSchema, 'SyncHost options.inputSchema');
    this.hash = syncHash(this.schemas, this.inputSchema);
    this.rate = o.tickRate === undefined ? 30 : checkInt(o.tickRate, 1, 255, 'SyncHost options.tickRate');
    if (o.interest !== undefined && (o.interest === null || typeof o.interest.collect !== 'function')) invalid('SyncHost options.interest', 'an InterestRule (SpatialInterest or visibleWhen(…))', o.interest);
    this.interest = o.interest;
    this.maxPartBytes = o.maxPartBytes === undefined ? 1100 : checkInt(o.maxPartBytes, 64, 1 << 20, 'SyncHost options.maxPartBytes');
    this.maxInputsPerMessage = o.maxInputsPerMessage === undefined ? 64 : checkInt(o.maxInputsPerMessage, 1, 1024, 'SyncHost options.maxInputsPerMessage');
    this.maxQueuedInputs = o.maxQueuedInputs === undefined ? 128 : checkInt(o.maxQueuedInputs, 1, 65536, 'SyncHost options.maxQueuedInputs');
    if (o.clock !== undefined) checkClock(o.clock, 'SyncHost options.clock');
    this.clock = o.clock ?? realClock;
    transport.onMessage((peer, data) => this.receive(peer, data));
    transport.onPeerLeft((peer) => this.forgetPeer(peer));
    // A restarted peer holds nothing and numbers its inputs from 1 again: start it over (a reset at the next tick).
    transport.onPeerRestarted?.((peer) => this.forgetPeer(peer));
  }

  /** Live objects by id. */
  get objects(): ReadonlyMap<number, HostObject<any>> {
    return this.objectMap;
  }

  /** Spawn an object of `schema` (one of the host's schemas) with a complete initial value. */
  spawn<F extends Fields>(schema: Schema<F>, value: InferFields<F>): HostObject<F> {
    this.checkOpen();
    const index = this.schemaIndex.get(schema);
    if (index === undefined) invalid('spawn() schema', 'one of the schemas given to the SyncHost', schema);
    if (this.nextId > 2 ** 32 - 2) throw new RtcmeshError(ErrorCode.INVALID_STATE, 'object ids are exhausted (2^32 spawns); create a new SyncHost');
    const slots = schema.toSlots(value, `spawn(${schema.name})`);
    const slot = this.freeSlots.pop() ?? this.bySlot.length;
    const obj = new HostObject<F>(this.nextId++, schema, index, slots, this, slot);
    this.bySlot[slot] = obj;
    if (this.bySlot.length > this.capacity) {
      this.capacity *= 2;
      for (const p of this.peerStates.values()) p.resize(this.capacity);
      this.log.resize(this.capacity);
    }
    this.log.idAt[slot] = obj.id;
    this.log.lastChangedAt[slot] = this.currentTick;
    this.objectMap.set(obj.id, obj);
    return obj;
  }

  /** @internal an object changed for the first time in the current tick */
  markDirty(obj: HostObject<any>): void {
    this.dirty.push(obj);
    if (obj.index < this.log.lastChangedAt.length) this.log.lastChangedAt[obj.index] = this.currentTick; // (a spawn sets it once its slot exists)
  }

  /** Despawn an object (also `obj.despawn()`); clients remove it at the next snapshot they take. */
  despawn(obj: HostObject<any>): void {
    if (!(obj instanceof HostObject)) invalid('despawn() object', 'a HostObject of this host', obj);
    if (!obj.alive || this.objectMap.get(obj.id) !== obj) return;
    obj.alive = false;
    this.objectMap.delete(obj.id);
    for (const p of this.peerStates.values()) {
      if (p.visible(obj.index)) p.depart(obj.index, obj.id, this.currentTick);
      p.seen[obj.index >>> 5]! &= ~(1 << (obj.index & 31));
    }
    this.bySlot[obj.index] = undefined;
    this.freeSlots.push(obj.index);
    obj.history.release();
  }

  /**
   * Send this tick's snapshot to every peer, then start the next tick. Call
   * once per tick after your update (a `Ticker` update works), before the
   * RPC endpoint flushes.
   */
  tick(): void {
    this.checkOpen();
    const t = this.currentTick;
    const changed = this.dirty;
    // No peer's baseline goes below its current one (they only grow; a reset needs none): older history can go.
    let floor = t;
    // The baseline most peers will be sent a delta from: changed objects are encoded against it below, while their data is in cache.
    let common = -1;
    let most = 0;
    const counts = this.baselineCounts;
    counts.clear();
    for (const p of this.peerStates.values()) {
      const b = p.baseline;
      if (b < 0) continue;
      if (b < floor) floor = b;
      if (t - b > WINDOW) continue;
      const c = (counts.get(b) ?? 0) + 1;
      counts.set(b, c);
      if (c > most) {
        most = c;
        common = b;
      }
    }
    for (const obj of changed) {
      if (!obj.alive) continue;
      obj.history.prune(floor);
      obj.history.record(t, obj.slots, obj.changed);
      if (common >= 0) this.writer.prepare(obj, common, t);
    }
    this.dirty = this.changedNow;
    this.dirty.length = 0;
    this.changedNow = changed;
    if (this.changedSlots.length < changed.length) {
      this.changedSlots = new Int32Array(changed.length * 2);
      this.changedVisible = new Uint8Array(changed.length * 2);
    }
    for (let i = 0; i < changed.length; i++) this.changedSlots[i] = changed[i]!.alive ? changed[i]!.index : -1;
    this.log.update(this.changedSlots, changed.length, t);
    const peers = this.transport.peers();
    for (const id of peers) if (!this.peerStates.has(id)) this.peerStates.set(id, new PeerState(new InputQueue(this.maxQueuedInputs), this.capacity));
    if (this.peerStates.size > peers.length) {
      const present = new Set(peers);
      for (const id of this.peerStates.keys()) if (!present.has(id)) this.forgetPeer(id);
    }
    this.interest?.prepare?.(this.objectMap);
    for (const [id, p] of this.peerStates) this.snapshot(id, p, t);
    this.currentTick = t + 1;
  }

  /** Next input of `peer` in sequence order (each exactly once), or undefined. Marks it processed (acknowledged in the next snapshots). */
  takeInput<T = unknown>(peer: number): SequencedInput<T> | undefined {
    checkPeerId(peer, 'takeInput() peer');
    const s = this.peerStates.get(peer)?.inputs.take();
    if (s === undefined || this.inputSchema === undefined) return undefined;
    return { seq: s.seq, input: this.inputSchema.toValue(s.slots) as T };
  }

  /** Inputs of `peer` waiting to be taken. */
  pendingInputs(peer: number): number {
    checkPeerId(peer, 'pendingInputs() peer');
    return this.peerStates.get(peer)?.inputs.size ?? 0;
  }

  /** Peers currently replicated to. */
  getPeerIds(): number[] {
    return [...this.peerStates.keys()];
  }

  /** Ids of the objects `peer` currently has in its interest. */
  visibleTo(peer: number): number[] {
    checkPeerId(peer, 'visibleTo() peer');
    const p = this.peerStates.get(peer);
    if (p === undefined) return [];
    const out: number[] = [];
    for (const slot of p.slots()) out.push(this.bySlot[slot]!.id);
    return out;
  }

  /** Counters (a copy). */
  getStats(): SyncHostStats {
    let skipped = 0;
    for (const p of this.peerStates.values()) skipped += p.inputs.skipped;
    const ackRttMs: Record<number, number> = {};
    for (const [id, p] of this.peerStates) if (p.ackRtt >= 0) ackRttMs[id] = p.ackRtt;
    return { ...this.stats, errors: { ...this.stats.errors }, objects: this.objectMap.size, peers: this.peerStates.size, inputsSkipped: skipped, ackRttMs };
  }

  /** Stop: detach from the transport and forget every peer (objects stay readable). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.close();
    for (const id of [...this.peerStates.keys()]) this.forgetPeer(id);
  }

  private forgetPeer(peer: number): void {
    if (this.peerStates.delete(peer)) this.interest?.forget?.(peer);
  }

  // ------------------------------------------------------------ snapshots

  private updateInterest(p: PeerState, peer: number, t: number): void {
    p.now = t;
    if (p.interestKnown) {
      // Incremental: only the objects that changed this tick can have changed visibility.
      const changed = this.changedNow;
      const n = changed.length;
      const visible = this.changedVisible;
      let done = true;
      if (this.interest === undefined) visible.fill(1, 0, n);
      else done = this.interest.update?.(peer, changed, visible, p.enter, p.leave) === true;
      if (done) {
        const slots = this.changedSlots;
        const vis = p.vis;
        for (let i = 0; i < n; i++) {
          const slot = slots[i]!;
          if (slot < 0) continue; // despawned
          const inside = (vis[slot >>> 5]! >>> (slot & 31)) & 1;
          if (visible[i] === inside) continue; // the common case: no change
          if (inside === 0) p.enter(changed[i]!);
          else p.leave(changed[i]!);
        }
        return;
      }
    }
    p.interestKnown = true;
    const seen = p.seen;
    seen.fill(0);
    const add = (obj: HostObject<any>) => {
      const slot = obj.index;
      const bit = 1 << (slot & 31);
      if ((seen[slot >>> 5]! & bit) !== 0 || !obj.alive) return;
      seen[slot >>> 5]! |= bit;
      if (!p.visible(slot)) {
        p.add(slot, t);
        if (p.left.size > 0) p.left.delete(obj.id);
      }
    };
    if (this.interest === undefined) for (const obj of this.objectMap.values()) add(obj);
    else this.interest.collect(peer, this.objectMap, add);
    // What the query did not report left.
    const vis = p.vis;
    for (let w = 0; w < vis.length; w++) {
      for (let gone = vis[w]! & ~seen[w]!; gone !== 0; gone &= gone - 1) {
        const slot = w * 32 + 31 - Math.clz32(gone & -gone);
        p.depart(slot, this.bySlot[slot]!.id, t);
      }
    }
  }

  private snapshot(peer: number, p: PeerState, t: number): void {
    this.updateInterest(p, peer, t);
    const b = p.baseline >= 0 && t - p.baseline <= WINDOW ? p.baseline : -1;
    const need = p.count + (p.hasLeft ? p.left.size : 0);
    if (this.keys.length < need) this.keys = new Float64Array(need * 2);
    // Keys carry the slot below the entry (id * 4 + kind) while slots fit, so no lookup by id is needed.
    const mul = this.capacity <= SLOT_SPAN ? SLOT_SPAN : 1;
    const sorted = sortKeys(this.keys, this.log.entryKeys(p, b, t, mul, this.keys));
    const h = this.writer.header;
    h.schemaHash = this.hash;
    h.tick = t;
    h.rate = this.rate;
    h.baselineDelta = b < 0 ? 0 : t - b;
    h.inputAck = p.inputs.lastProcessed > 0 ? p.inputs.lastProcessed : -1;
    const budget = Math.max(64, Math.min(this.maxPartBytes, this.transport.maxMessageSize()) - PART_RESERVE);
    const parts = this.writer.write(sorted, b, mul, t, budget);
    p.sent[t % WINDOW] = t;
    p.sentAt[t % WINDOW] = this.clock.now();
    p.lastSent = t;
    this.stats.snapshotsSent++;
    if (b < 0) this.stats.resetsSent++;
    for (const part of parts) {
      if (this.transport.send(peer, part)) {
        this.stats.partsSent++;
        this.stats.messagesSent++;
        this.stats.bytesSent += part.length;
      }
    }
  }

  // ------------------------------------------------------------ inbound

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
    const r = this.r.reset(data);
    try {
      const kind = r.bits(2);
      if (kind === KIND_SNAPSHOT) return this.report(SyncErrorCode.NOT_AUTHORITY, peer, `peer ${peer} sent a snapshot to the authority`);
      if (kind !== KIND_CLIENT) return this.report(SyncErrorCode.MALFORMED, peer, `unknown sync message kind ${kind}`);
      if (r.bits(16) !== this.hash) return this.report(SyncErrorCode.SCHEMA_MISMATCH, peer, `peer ${peer} uses other schemas (or input schema) than this host`);
      const ack = r.bool() ? r.bits(32) : -1;
      const { firstSeq, inputs, tooMany } = readInputs(r, this.inputSchema, this.maxInputsPerMessage);
      const p = this.peerStates.get(peer);
      if (p === undefined) {
        if (!this.transport.peers().includes(peer)) return this.report(SyncErrorCode.NOT_AUTHORITY, peer, `message from ${peer}, which is not a replicated peer`);
        return; // a peer that joins this tick: its state starts at the next tick()
      }
      if (ack >= 0) this.acknowledge(peer, p, ack);
      if (tooMany) return this.report(SyncErrorCode.INPUT_FLOOD, peer, `peer ${peer} sent more than ${this.maxInputsPerMessage} inputs in one message`);
      if (inputs.length > 0) {
        const before = p.inputs.lastReceived;
        const refused = p.inputs.accept(firstSeq, inputs);
        this.stats.inputsReceived += Math.max(0, p.inputs.lastReceived - before);
        if (refused > 0) this.report(SyncErrorCode.INPUT_FLOOD, peer, `peer ${peer} has ${this.maxQueuedInputs} inputs queued; ${refused} refused`);
      }
    } catch (err) {
      if (err instanceof TruncatedError) return this.report(SyncErrorCode.MALFORMED, peer, `bad client message: ${err.message}`);
      throw err;
    }
  }

  private acknowledge(peer: number, p: PeerState, tick: number): void {
    if (tick > p.lastSent || (tick > p.lastSent - WINDOW && p.sent[tick % WINDOW] !== tick)) {
      return this.report(SyncErrorCode.BAD_ACK, peer, `peer ${peer} acknowledged tick ${tick}, which was never sent to it`);
    }
    this.stats.acksReceived++;
    if (p.sent[tick % WINDOW] === tick && tick > p.baseline) {
      // The first ack of a newer tick times its round trip (repeats of an old one would not).
      const sample = this.clock.now() - p.sentAt[tick % WINDOW]!;
      p.ackRtt = p.ackRtt < 0 ? sample : p.ackRtt + (sample - p.ackRtt) / 8;
      p.baseline = tick;
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new RtcmeshError(ErrorCode.CLOSED, 'this SyncHost is closed; create a new one');
  }
}
