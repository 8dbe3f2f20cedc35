/**
 * The multiplayer-peer API of an object that holds a
 * {@link WebRTCMultiplayerPeer} (the lobby): every call and every event
 * subscription is forwarded to {@link MultiplayerPeerFacade.mesh}, so the
 * holder is used exactly as the mesh would be (game loops, `RpcEndpoint`,
 * tests). Composition: the facade owns a mesh, it is not one.
 * @module
 */
import type { EventEmitter } from 'eventemitter3';
import type { ErrorCode } from '../errors.js';
import type { ConnectionStatus, TransferMode } from './constants.js';
import type { LinkStats, MeshStats } from './health/stats.js';
import type { MeshEvents, MeshMode, PeerInfo, WebRTCMultiplayerPeer } from './multiplayer-peer.js';
import type { MultiplayerPeer, TakenPacket } from './types.js';

type Names = EventEmitter.EventNames<MeshEvents>;
type Listener<T extends Names> = EventEmitter.EventListener<MeshEvents, T>;

/** Forwards the whole multiplayer-peer API to {@link mesh}. */
export abstract class MultiplayerPeerFacade implements MultiplayerPeer {
  /** @param mesh the multiplayer peer this object holds and forwards to. */
  constructor(readonly mesh: WebRTCMultiplayerPeer) {}

  /** `putPacket` sends or copies its bytes before it returns: the array may be reused. */
  readonly copiesPutPackets = true;

  /** Advance to `now`; see the holder's documentation. */
  abstract poll(now?: number): void;

  /** Close; see the holder's documentation. */
  abstract close(): void;

  // ---- events (subscriptions go to the mesh) ----

  eventNames(): Names[] {
    return this.mesh.eventNames();
  }
  listeners<T extends Names>(event: T): Listener<T>[] {
    return this.mesh.listeners(event);
  }
  listenerCount(event: Names): number {
    return this.mesh.listenerCount(event);
  }
  emit<T extends Names>(event: T, ...args: EventEmitter.EventArgs<MeshEvents, T>): boolean {
    return this.mesh.emit(event, ...args);
  }
  on<T extends Names>(event: T, fn: Listener<T>, context?: unknown): this {
    this.mesh.on(event, fn, context);
    return this;
  }
  addListener<T extends Names>(event: T, fn: Listener<T>, context?: unknown): this {
    return this.on(event, fn, context);
  }
  once<T extends Names>(event: T, fn: Listener<T>, context?: unknown): this {
    this.mesh.once(event, fn, context);
    return this;
  }
  removeListener<T extends Names>(event: T, fn?: Listener<T>, context?: unknown, once?: boolean): this {
    this.mesh.removeListener(event, fn, context, once);
    return this;
  }
  off<T extends Names>(event: T, fn?: Listener<T>, context?: unknown, once?: boolean): this {
    return this.removeListener(event, fn, context, once);
  }
  removeAllListeners(event?: Names): this {
    this.mesh.removeAllListeners(event);
    return this;
  }

  // ---- properties ----

  /** See {@link WebRTCMultiplayerPeer.targetPeer}. */
  get targetPeer(): number {
    return this.mesh.targetPeer;
  }
  set targetPeer(id: number) {
    this.mesh.targetPeer = id;
  }
  /** See {@link WebRTCMultiplayerPeer.transferMode}. */
  get transferMode(): TransferMode {
    return this.mesh.transferMode;
  }
  set transferMode(mode: TransferMode) {
    this.mesh.transferMode = mode;
  }
  /** See {@link WebRTCMultiplayerPeer.transferChannel}. */
  get transferChannel(): number {
    return this.mesh.transferChannel;
  }
  set transferChannel(channel: number) {
    this.mesh.transferChannel = channel;
  }
  /** See {@link WebRTCMultiplayerPeer.refuseNewConnections}. */
  get refuseNewConnections(): boolean {
    return this.mesh.refuseNewConnections;
  }
  set refuseNewConnections(value: boolean) {
    this.mesh.refuseNewConnections = value;
  }

  // ---- packets ----

  /** See {@link WebRTCMultiplayerPeer.putPacket}. */
  putPacket(data: Uint8Array): void {
    this.mesh.putPacket(data);
  }
  /** See {@link WebRTCMultiplayerPeer.getAvailablePacketCount}. */
  getAvailablePacketCount(): number {
    return this.mesh.getAvailablePacketCount();
  }
  /** See {@link WebRTCMultiplayerPeer.getPacket}. */
  getPacket(): Uint8Array | undefined {
    return this.mesh.getPacket();
  }
  /** See {@link WebRTCMultiplayerPeer.takePacket}. */
  takePacket(into: TakenPacket): boolean {
    return this.mesh.takePacket(into);
  }
  /** See {@link WebRTCMultiplayerPeer.getPacketPeer}. */
  getPacketPeer(): number {
    return this.mesh.getPacketPeer();
  }
  /** See {@link WebRTCMultiplayerPeer.getPacketChannel}. */
  getPacketChannel(): number {
    return this.mesh.getPacketChannel();
  }
  /** See {@link WebRTCMultiplayerPeer.getPacketError}. */
  getPacketError(): ErrorCode | undefined {
    return this.mesh.getPacketError();
  }
  /** See {@link WebRTCMultiplayerPeer.getPacketMode}. */
  getPacketMode(): TransferMode {
    return this.mesh.getPacketMode();
  }

  // ---- peers and state ----

  /** See {@link WebRTCMultiplayerPeer.removePeer}. */
  removePeer(peerId: number): void {
    this.mesh.removePeer(peerId);
  }
  /** See {@link WebRTCMultiplayerPeer.disconnectPeer}. */
  disconnectPeer(peerId: number, force = false): void {
    this.mesh.disconnectPeer(peerId, force);
  }
  /** See {@link WebRTCMultiplayerPeer.getPeer}. */
  getPeer(peerId: number): PeerInfo | undefined {
    return this.mesh.getPeer(peerId);
  }
  /** See {@link WebRTCMultiplayerPeer.getPeers}. */
  getPeers(): PeerInfo[] {
    return this.mesh.getPeers();
  }
  /** See {@link WebRTCMultiplayerPeer.getPeerIds}. */
  getPeerIds(): number[] {
    return this.mesh.getPeerIds();
  }
  /** See {@link WebRTCMultiplayerPeer.hasPeer}. */
  hasPeer(peerId: number): boolean {
    return this.mesh.hasPeer(peerId);
  }
  /** See {@link WebRTCMultiplayerPeer.getUniqueId}. */
  getUniqueId(): number {
    return this.mesh.getUniqueId();
  }
  /** See {@link WebRTCMultiplayerPeer.generateUniqueId}. */
  generateUniqueId(): number {
    return this.mesh.generateUniqueId();
  }
  /** See {@link WebRTCMultiplayerPeer.isServer}. */
  isServer(): boolean {
    return this.mesh.isServer();
  }
  /** See {@link WebRTCMultiplayerPeer.getMode}. */
  getMode(): MeshMode | undefined {
    return this.mesh.getMode();
  }
  /** See {@link WebRTCMultiplayerPeer.getCustomChannels}. */
  getCustomChannels(): readonly TransferMode[] {
    return this.mesh.getCustomChannels();
  }
  /** See {@link WebRTCMultiplayerPeer.isServerRelaySupported}. */
  isServerRelaySupported(): boolean {
    return this.mesh.isServerRelaySupported();
  }
  /** See {@link WebRTCMultiplayerPeer.getConnectionStatus}. */
  getConnectionStatus(): ConnectionStatus {
    return this.mesh.getConnectionStatus();
  }
  /** See {@link WebRTCMultiplayerPeer.getMaxPacketSize}. */
  getMaxPacketSize(): number {
    return this.mesh.getMaxPacketSize();
  }

  // ---- monitoring ----

  /** See {@link WebRTCMultiplayerPeer.getStats}. */
  getStats(): MeshStats {
    return this.mesh.getStats();
  }
  /** See {@link WebRTCMultiplayerPeer.getLinkStats}. */
  getLinkStats(peerId: number): LinkStats | undefined {
    return this.mesh.getLinkStats(peerId);
  }
  /** See {@link WebRTCMultiplayerPeer.getClosedLinkStats}. */
  getClosedLinkStats(peerId: number): LinkStats | undefined {
    return this.mesh.getClosedLinkStats(peerId);
  }
}
