/**
 * A connected {@link MultiplayerPeer} that sends nowhere and holds nothing,
 * for measuring a layer above the mesh alone (no network, no native code).
 */
import { EventEmitter } from 'eventemitter3';
import { ConnectionStatus, TransferMode, type MultiplayerPeer, type MultiplayerPeerEvents } from '../../src/mesh/types.js';

/** Peer `id` (1 or 2) of a two-peer mesh; `putPacket` only counts bytes. */
export class NullMesh extends EventEmitter<MultiplayerPeerEvents> implements MultiplayerPeer {
  targetPeer = 0;
  transferMode = TransferMode.RELIABLE;
  transferChannel = 0;
  refuseNewConnections = false;
  bytes = 0;
  /** `putPacket` keeps nothing (as rtcmesh's own mesh, which copies): the RPC layer sends from its encoder's buffer, as it does over the real mesh. */
  readonly copiesPutPackets = true;
  constructor(private readonly id: number) {
    super();
  }
  putPacket(data: Uint8Array): void {
    this.bytes += data.length;
  }
  getAvailablePacketCount(): number {
    return 0;
  }
  getPacket(): Uint8Array | undefined {
    return undefined;
  }
  getPacketPeer(): number {
    return 0;
  }
  getPacketChannel(): number {
    return 0;
  }
  getPacketMode(): TransferMode {
    return TransferMode.RELIABLE;
  }
  getUniqueId(): number {
    return this.id;
  }
  isServer(): boolean {
    return this.id === 1;
  }
  isServerRelaySupported(): boolean {
    return false;
  }
  getConnectionStatus(): ConnectionStatus {
    return ConnectionStatus.CONNECTED;
  }
  getMaxPacketSize(): number {
    return 65536;
  }
  getPeerIds(): number[] {
    return [3 - this.id];
  }
  poll(): void {}
  close(): void {}
}
