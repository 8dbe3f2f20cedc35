/**
 * Mesh mode of state sync: with no single host, every peer is the authority
 * of the objects it spawns. A {@link SyncPeer} composes one {@link SyncHost}
 * that replicates its own objects to every other peer (per-peer acknowledged
 * deltas, interest, the same wire format) and one {@link SyncClient} per
 * remote owner that applies that owner's objects.
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { ErrorCode, RtcmeshError } from '../errors.js';
import { checkOptions, checkPeerId, invalid } from '../util/validate.js';
import { SyncClient, type SyncClientStats } from './client.js';
import { SyncHost, type SyncHostStats } from './host.js';
import type { HostObject } from './host-object.js';
import type { InterestRule } from './interest.js';
import { OwnerTransports } from './owner-transports.js';
import type { Replica } from './replica.js';
import type { Fields, InferFields, Schema } from './schema.js';
import { checkTransport, SyncErrorCode, type SyncErrorEvent, type SyncTransport } from './types.js';

/** Options of a {@link SyncPeer}. */
export interface SyncPeerOptions {
  /** Every schema any peer can spawn, in the same order on every peer. */
  schemas: readonly Schema<any>[];
  /** Snapshots of this peer's objects per second (1–255). Default 30. */
  tickRate?: number;
  /** Which of this peer's objects each other peer sees. Default: all of them. */
  interest?: InterestRule;
  /** Largest snapshot part in bytes. Default 1100. */
  maxPartBytes?: number;
  /** Render remote objects this far behind their owner's newest snapshot, in ms. Default 100. */
  interpolationDelayMs?: number;
  /** Extrapolate moving remote objects at most this far, in ms. Default 250. */
  maxExtrapolationMs?: number;
  /** Most objects held per remote owner; snapshots spawning more are dropped (`LIMIT`). Default 100000. */
  maxObjectsPerOwner?: number;
}

/** Counters of a {@link SyncPeer}. */
export interface SyncPeerStats {
  /** What this peer sent of its own objects (and the acknowledgements it got). */
  sent: SyncHostStats;
  /** What it received, by remote owner id. */
  received: Record<number, SyncClientStats>;
  /** Every dropped inbound message by {@link SyncErrorCode}, sender and receivers together (owners that left included). */
  errors: Record<string, number>;
}

/** Events of a {@link SyncPeer}. Remote objects are named by `(owner, obj.id)`: every owner numbers its own objects. */
export interface SyncPeerEvents {
  /** A remote owner's object appeared here. */
  spawn: (obj: Replica<any>, owner: number) => void;
  /** A remote object changed. */
  update: (obj: Replica<any>, owner: number) => void;
  /** A remote object is gone (despawned, out of interest, or its owner left). */
  despawn: (obj: Replica<any>, owner: number) => void;
  /** Every part of `owner`'s tick `tick` was applied: its objects here equal the owner's at that tick. */
  snapshot: (owner: number, tick: number) => void;
  /** An inbound message was dropped (hostile or malformed); never thrown. */
  sync_error: (event: SyncErrorEvent) => void;
}

const EMPTY: ReadonlyMap<number, Replica<any>> = new Map();

/**
 * One peer of a mesh-mode sync: owner of the objects it spawns, replica of
 * everyone else's. Bind it to the peer's RPC endpoint with `rpcTransport`,
 * spawn and change your own objects in your update, call {@link tick} once
 * per tick and {@link poll} once per frame.
 */
export class SyncPeer extends EventEmitter<SyncPeerEvents> {
  /** The sender of this peer's own objects (spawn through {@link SyncPeer.spawn}). */
  readonly sender: SyncHost;
  private readonly transports: OwnerTransports;
  private readonly receivers = new Map<number, SyncClient>();
  private readonly errorCounts: Record<string, number> = {};
  private readonly clientOptions: ConstructorParameters<typeof SyncClient>[1];
  private readonly base: SyncTransport;
  private closed = false;

  constructor(transport: SyncTransport, options: SyncPeerOptions) {
    super();
    const o = checkOptions<SyncPeerOptions>(
      options,
      ['schemas', 'tickRate', 'interest', 'maxPartBytes', 'interpolationDelayMs', 'maxExtrapolationMs', 'maxObjectsPerOwner'],
      'SyncPeer options',
    );
    checkTransport(transport, 'SyncPeer transport');
    this.base = transport;
    this.clientOptions = {
      schemas: o.schemas!,
      ...(o.interpolationDelayMs !== undefined && { interpolationDelayMs: o.interpolationDelayMs }),
      ...(o.maxExtrapolationMs !== undefined && { maxExtrapolationMs: o.maxExtrapolationMs }),
      ...(o.maxObjectsPerOwner !== undefined && { maxObjects: o.maxObjectsPerOwner }),
    };
    this.transports = new OwnerTransports(transport, (peer, data) => this.firstSnapshot(peer, data));
    this.sender = new SyncHost(this.transports.sending(), {
      schemas: o.schemas!,
      ...(o.tickRate !== undefined && { tickRate: o.tickRate }),
      ...(o.interest !== undefined && { interest: o.interest }),
      ...(o.maxPartBytes !== undefined && { maxPartBytes: o.maxPartBytes }),
    });
    // Check the receiver options now rather than at the first snapshot.
    new SyncClient(this.transports.receiving(-1), this.clientOptions).close();
    this.sender.on('sync_error', (e) => this.forward(e));
    this.transports.onPeerLeft((peer) => this.dropOwner(peer));
  }

  /** This peer's id (the owner of what it spawns). */
  get id(): number {
    return this.base.ownId();
  }

  /** This peer's own objects by id. */
  get owned(): ReadonlyMap<number, HostObject<any>> {
    return this.sender.objects;
  }

  /** Spawn an object owned by this peer; every other peer gets it (within interest) at the next {@link tick}. */
  spawn<F extends Fields>(schema: Schema<F>, value: InferFields<F>): HostObject<F> {
    this.checkOpen();
    return this.sender.spawn(schema, value);
  }

  /** Despawn one of this peer's objects (also `obj.despawn()`). */
  despawn(obj: HostObject<any>): void {
    this.sender.despawn(obj);
  }

  /** Send this tick's snapshot of this peer's objects to every peer, then start the next tick. Once per tick, after your update. */
  tick(): void {
    this.checkOpen();
    this.sender.tick();
  }

  /**
   * Once per frame: acknowledge every owner's snapshots and move the render
   * time of their objects.
   * @param now the local time in ms (any monotonic clock)
   */
  poll(now: number): void {
    if (this.closed) return;
    if (typeof now !== 'number' || !Number.isFinite(now)) invalid('SyncPeer.poll() now', 'a finite number of milliseconds', now);
    for (const r of this.receivers.values()) r.poll(now);
  }

  /** Remote owners this peer holds a replica set of (peers that sent it a snapshot and are still connected). */
  owners(): number[] {
    return [...this.receivers.keys()];
  }

  /** Objects of remote `owner` by the owner's ids (empty when none). */
  objectsOf(owner: number): ReadonlyMap<number, Replica<any>> {
    checkPeerId(owner, 'objectsOf() owner');
    return this.receivers.get(owner)?.objects ?? EMPTY;
  }

  /** The receiver of `owner`'s objects (its tick, render time, counters), if any. */
  receiver(owner: number): SyncClient | undefined {
    checkPeerId(owner, 'receiver() owner');
    return this.receivers.get(owner);
  }

  /** Counters (a copy). */
  getStats(): SyncPeerStats {
    const received: Record<number, SyncClientStats> = {};
    for (const [owner, r] of this.receivers) received[owner] = r.getStats();
    return { sent: this.sender.getStats(), received, errors: { ...this.errorCounts } };
  }

  /** Stop: detach from the transport and forget every remote owner (objects stay readable until then). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sender.close();
    for (const r of this.receivers.values()) r.close();
    this.receivers.clear();
    this.transports.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new RtcmeshError(ErrorCode.CLOSED, 'this SyncPeer is closed; create a new one');
  }

  private forward(e: SyncErrorEvent): void {
    this.errorCounts[e.code] = (this.errorCounts[e.code] ?? 0) + 1;
    this.emit('sync_error', e);
  }

  /** A snapshot from a peer with no receiver yet: a connected peer becomes an owner; anyone else is dropped. */
  private firstSnapshot(peer: number, data: Uint8Array): void {
    if (this.closed) return;
    if (peer === this.base.ownId() || !this.base.peers().includes(peer)) {
      return this.forward({ code: SyncErrorCode.NOT_AUTHORITY, peer, message: `snapshot from ${peer}, which is not a connected peer` });
    }
    const r = new SyncClient(this.transports.receiving(peer), this.clientOptions);
    r.on('spawn', (obj) => this.emit('spawn', obj, peer));
    r.on('update', (obj) => this.emit('update', obj, peer));
    r.on('despawn', (obj) => this.emit('despawn', obj, peer));
    r.on('snapshot', (tick) => this.emit('snapshot', peer, tick));
    r.on('sync_error', (e) => this.forward(e));
    this.receivers.set(peer, r);
    r.receive(peer, data);
  }

  /** An owner left: its objects go with it. */
  private dropOwner(peer: number): void {
    const r = this.receivers.get(peer);
    if (r === undefined) return;
    this.receivers.delete(peer);
    r.close();
    for (const obj of r.objects.values()) this.emit('despawn', obj, peer);
  }
}
