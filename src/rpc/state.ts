/**
 * What the parts of an {@link RpcEndpoint} share: the mesh, the method table,
 * the counters, the topology (mesh / server / client), the authority, the
 * current tick, and how problems are reported. Internal to the RPC layer.
 * @module
 */
import { TransferMode, type MultiplayerPeer } from '../mesh/types.js';
import { FrameKind } from './codec.js';
import type { MethodTable, RpcEntry } from './registry.js';
import { RpcErrorCode, type RpcErrorEvent } from './types.js';

// Frame kinds as module constants: the dispatch switch runs once per frame.
export const CALL = FrameKind.CALL;
export const REQUEST = FrameKind.REQUEST;
export const RESULT = FrameKind.RESULT;
export const FAILURE = FrameKind.FAILURE;
export const RELAY = FrameKind.RELAY;
export const RELAYED = FrameKind.RELAYED;
export const HELLO = FrameKind.HELLO;
export const PEERS = FrameKind.PEERS;

/** Longest RPC name. */
export const MAX_NAME_LENGTH = 255;

/** Counters of an endpoint, by `RpcEndpoint.getStats`. */
export interface RpcStats {
  /** Calls and requests sent (each target counted once per link). */
  framesSent: number;
  /** Messages handed to the mesh. */
  messagesSent: number;
  messagesReceived: number;
  framesReceived: number;
  /** Handlers run (remote and local). */
  callsDispatched: number;
  /** Frames relayed by this endpoint (peer 1 in server mode). */
  framesRelayed: number;
  /** Inbound problems by {@link RpcErrorCode}. */
  errors: Record<string, number>;
  /** Requests waiting for an answer. */
  pendingRequests: number;
}

/** How a frame reached us. */
export interface Arrival {
  /** Peer whose link it came on. */
  link: number;
  /** Effective sender (the origin for relayed frames). */
  sender: number;
  channel: number;
  mode: TransferMode;
  /** The message header matched our checksum: integer method ids are valid. */
  idsValid: boolean;
}

/** The mesh's role as the RPC layer sees it. */
export type Topology = 'mesh' | 'server' | 'client';

/** What the shared state tells the endpoint (which owns the events). */
export interface EndpointHooks {
  /** An `rpc_error` to emit. */
  report(event: RpcErrorEvent): void;
  /** A peer became reachable (client mode: another client the server told us about). */
  peerConnected(id: number): void;
  /** A peer is unreachable: cancel its requests and tell the user. */
  peerGone(id: number): void;
}

/**
 * A received value in an error message. Never throws: decoded records may carry
 * a `toString` key (String() would throw) and bigints defeat JSON.stringify.
 */
export function show(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}…` : v);
    case 'bigint':
      return `${v}n`;
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(v);
    default:
      return v === null ? 'null' : Array.isArray(v) ? 'an array' : v instanceof Uint8Array ? 'binary data' : 'an object';
  }
}

/** State shared by the endpoint's modules. */
export class EndpointState {
  topology: Topology = 'mesh';
  /** Peer allowed to call `'authority'` RPCs. */
  authority: number;
  /** Sender of the RPC whose handler is running (Godot's get_remote_sender_id()); 0 outside a handler. */
  remoteSender = 0;
  /** Tick handlers see as `ctx.tick`. */
  tick = 0;
  closed = false;
  readonly stats: RpcStats = {
    framesSent: 0,
    messagesSent: 0,
    messagesReceived: 0,
    framesReceived: 0,
    callsDispatched: 0,
    framesRelayed: 0,
    errors: {},
    pendingRequests: 0,
  };

  constructor(
    readonly mesh: MultiplayerPeer,
    readonly table: MethodTable,
    authority: number,
    private readonly hooks: EndpointHooks,
  ) {
    this.authority = authority;
  }

  /** Count and emit an inbound problem. */
  report(event: RpcErrorEvent): void {
    this.stats.errors[event.code] = (this.stats.errors[event.code] ?? 0) + 1;
    this.hooks.report(event);
  }

  malformed(arrival: Arrival, what: string): void {
    this.report({ code: RpcErrorCode.MALFORMED_FRAME, senderId: arrival.sender, message: what });
  }

  peerConnected(id: number): void {
    this.hooks.peerConnected(id);
  }

  peerGone(id: number): void {
    this.hooks.peerGone(id);
  }

  /** Re-read the mesh's role (server / client / mesh); cached because calls ask on every send. */
  refreshTopology(): void {
    try {
      this.topology = !this.mesh.isServerRelaySupported() ? 'mesh' : this.mesh.isServer() ? 'server' : 'client';
    } catch {
      this.topology = 'mesh';
    }
  }

  isClientMode(): boolean {
    return this.topology === 'client';
  }

  isServerMode(): boolean {
    return this.topology === 'server';
  }

  /** The mesh's peer ids (a copy; empty when the mesh cannot tell). */
  peerIds(): number[] {
    try {
      return [...this.mesh.getPeerIds()];
    } catch {
      return [];
    }
  }

  /** How a call of `entry` from this peer (`me`) to itself arrives. */
  localArrival(me: number, entry: RpcEntry): Arrival {
    return { link: me, sender: me, channel: entry.channel, mode: this.deliveryMode(entry), idsValid: true };
  }

  /**
   * The transfer mode receivers see for `entry`: its `transferMode` on the
   * default channels; on a custom channel, that channel's own mode when the
   * mesh tells (a WebRTCMultiplayerPeer does), so a local run's `ctx.mode`
   * matches the remote runs'.
   */
  private deliveryMode(entry: RpcEntry): TransferMode {
    if (entry.channel === 0) return entry.transferMode;
    const mesh = this.mesh as MultiplayerPeer & { getCustomChannels?: () => readonly TransferMode[] };
    if (typeof mesh.getCustomChannels !== 'function') return entry.transferMode;
    try {
      return mesh.getCustomChannels()[entry.channel - 1] ?? entry.transferMode;
    } catch {
      return entry.transferMode;
    }
  }
}
