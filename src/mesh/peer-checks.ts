/**
 * Argument and state checks of `WebRTCMultiplayerPeer.addPeer`,
 * `replaceConnection` and `putPacket`, in the documented order.
 * @module
 */
import { ErrorCode, RtcmeshError } from '../errors.js';
import { ConnectionState } from '../peer/enums.js';
import { WebRTCPeerConnection } from '../peer/peer-connection.js';
import { checkInt, checkOneOf, invalid } from '../util/validate.js';
import { MAX_CUSTOM_CHANNELS, channelIndexFor } from './channel-layout.js';
import { ConnectionStatus, MAX_PEER_ID, TARGET_PEER_SERVER, TransferMode } from './constants.js';
import type { MeshMode } from './types.js';

/** What `addPeer` checks against. */
export interface AddPeerState {
  mode: MeshMode | undefined;
  uniqueId: number;
  refuse: boolean;
  /** The peer id is in the table already. */
  present: boolean;
}

/** Throw the first failing check of `addPeer` (see its documentation for the order). */
export function checkAddPeer(state: AddPeerState, connection: WebRTCPeerConnection, peerId: number, unreliableLifetime: number): void {
    if (state.mode === undefined) {
      throw new RtcmeshError(ErrorCode.INVALID_STATE, 'addPeer(): call createServer(), createClient() or createMesh() first');
    }
    if (state.mode === 'client' && peerId !== TARGET_PEER_SERVER) {
      throw new RtcmeshError(ErrorCode.INVALID_PEER, `addPeer(): a client only connects to the server (peer 1), not to peer ${String(peerId)}`);
    }
    if (state.mode === 'server' && peerId === TARGET_PEER_SERVER) {
      throw new RtcmeshError(ErrorCode.INVALID_PEER, 'addPeer(): the server is peer 1 itself; clients have ids 2..2147483647');
    }
    checkInt(peerId, 1, MAX_PEER_ID, 'addPeer() peerId');
    if (peerId === state.uniqueId) {
      throw new RtcmeshError(ErrorCode.INVALID_PEER, `addPeer(): ${peerId} is this peer's own id`);
    }
    checkInt(unreliableLifetime, 0, 65535, 'addPeer() unreliableLifetime (ms)');
    if (state.refuse) {
      throw new RtcmeshError(ErrorCode.UNAUTHORIZED, `addPeer(): refuseNewConnections is on, so peer ${peerId} was refused`);
    }
    checkConnection(connection, 'addPeer()');
    if (state.present) {
      throw new RtcmeshError(ErrorCode.INVALID_PEER, `addPeer(): peer ${peerId} is already present; removePeer() it first`);
    }
}

/** The connection is a fresh {@link WebRTCPeerConnection} (state NEW). */
export function checkConnection(connection: WebRTCPeerConnection, what: string): void {
  if (!(connection instanceof WebRTCPeerConnection)) invalid(`${what} connection`, 'a WebRTCPeerConnection', connection);
  if (connection.getConnectionState() !== ConnectionState.NEW) {
    throw new RtcmeshError(ErrorCode.INVALID_STATE, `${what}: the connection must be in state NEW (fresh, or after initialize())`);
  }
}

const MODES = [TransferMode.UNRELIABLE, TransferMode.UNRELIABLE_ORDERED, TransferMode.RELIABLE] as const;

/** One of the three TransferModes (`transferMode`, custom channels). */
export function checkTransferMode(value: unknown, what: string): TransferMode {
  return checkOneOf(value, MODES, what);
}

/** The custom channels of `createServer`/`createClient`/`createMesh`: an array of at most 256 TransferModes. */
export function checkChannels(channels: unknown): asserts channels is TransferMode[] {
  if (!Array.isArray(channels)) invalid('channels', 'an array of TransferMode values', channels);
  if (channels.length > MAX_CUSTOM_CHANNELS) invalid('channels', `at most ${MAX_CUSTOM_CHANNELS} custom channels`, channels);
  channels.forEach((m, i) => checkTransferMode(m, `channels[${i}] (a TransferMode)`));
}

/** What `putPacket` checks against. */
export interface PutPacketState {
  mode: MeshMode | undefined;
  status: ConnectionStatus;
  customChannels: readonly TransferMode[];
}

/**
 * Throw the first failing check of `putPacket` before it sends (see its
 * documentation for the order); the index of the channel that
 * `transferChannel` and `transferMode` pick.
 */
export function checkPutPacket(state: PutPacketState, data: Uint8Array, channel: number, mode: TransferMode): number {
  if (!(data instanceof Uint8Array)) invalid('putPacket() data', 'a Uint8Array', data);
  if (state.mode === undefined || state.status === ConnectionStatus.DISCONNECTED) {
    throw new RtcmeshError(ErrorCode.INVALID_STATE, 'putPacket(): the multiplayer peer is not connected; create it and wait for CONNECTED');
  }
  const index = channelIndexFor(channel, mode);
  if (index >= 3 + state.customChannels.length) {
    throw new RtcmeshError(
      ErrorCode.INVALID_ARGUMENT,
      `putPacket(): transferChannel ${channel} does not exist; this peer has ${state.customChannels.length} custom channel(s)`,
    );
  }
  return index;
}
