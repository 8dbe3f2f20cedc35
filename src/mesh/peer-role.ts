/**
 * The role of a multiplayer peer: server, client or mesh member, its own
 * id, its custom channels and its connection status. Taken by
 * `createServer`/`createClient`/`createMesh` (with their checks), given up
 * by `close()`; a client's status follows the link to the server.
 * @module
 */
import { ErrorCode, RtcmeshError } from '../errors.js';
import { checkInt } from '../util/validate.js';
import { ConnectionStatus, MAX_PEER_ID, MIN_PEER_ID, TARGET_PEER_SERVER, type TransferMode } from './constants.js';
import { checkChannels } from './peer-checks.js';
import type { MeshMode } from './types.js';

/** Role, id, custom channels and status of one multiplayer peer. */
export class PeerRole {
  /** The role taken, or undefined before (and after `close()`). */
  mode: MeshMode | undefined = undefined;
  uniqueId = 0;
  status: ConnectionStatus = ConnectionStatus.DISCONNECTED;
  customChannels: TransferMode[] = [];

  /** `createServer()`: id 1, CONNECTED at once. */
  server(channels: TransferMode[]): void {
    this.take('server', 1, channels, ConnectionStatus.CONNECTED);
  }

  /** `createClient(id)`: CONNECTING until the link to the server opens. */
  client(id: number, channels: TransferMode[]): void {
    checkInt(id, MIN_PEER_ID, MAX_PEER_ID, 'createClient() id (1 is the server)');
    this.take('client', id, channels, ConnectionStatus.CONNECTING);
  }

  /** `createMesh(id)`: CONNECTED at once. */
  mesh(id: number, channels: TransferMode[]): void {
    checkInt(id, 1, MAX_PEER_ID, 'createMesh() id');
    this.take('mesh', id, channels, ConnectionStatus.CONNECTED);
  }

  private take(mode: MeshMode, id: number, channels: TransferMode[], status: ConnectionStatus): void {
    checkChannels(channels);
    if (this.mode !== undefined) {
      throw new RtcmeshError(ErrorCode.INVALID_STATE, `this multiplayer peer is already a ${this.mode}; call close() before creating it again`);
    }
    this.mode = mode;
    this.uniqueId = id;
    this.customChannels = [...channels];
    this.status = status;
  }

  /** A link opened: a client is CONNECTED (its only link is the server's). */
  linkOpened(): void {
    if (this.mode === 'client') this.status = ConnectionStatus.CONNECTED;
  }

  /** A peer was removed: a client that lost the server is DISCONNECTED. */
  peerRemoved(peerId: number): void {
    if (this.mode === 'client' && peerId === TARGET_PEER_SERVER) this.status = ConnectionStatus.DISCONNECTED;
  }

  /** Give the role up (`close()`): no mode, id 0, no custom channels, DISCONNECTED. */
  clear(): void {
    this.mode = undefined;
    this.uniqueId = 0;
    this.customChannels = [];
    this.status = ConnectionStatus.DISCONNECTED;
  }
}
