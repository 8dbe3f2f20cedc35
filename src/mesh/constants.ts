/**
 * Constants of the mesh layer (Godot MultiplayerPeer enums, targets, peer id range).
 * A leaf module: the health modules import it without depending on the peer contract.
 * @module
 */

/** How a packet is delivered (Godot MultiplayerPeer.TransferMode). */
export const TransferMode = { UNRELIABLE: 0, UNRELIABLE_ORDERED: 1, RELIABLE: 2 } as const;
export type TransferMode = (typeof TransferMode)[keyof typeof TransferMode];

/** Whether the multiplayer peer is usable. */
export const ConnectionStatus = { DISCONNECTED: 0, CONNECTING: 1, CONNECTED: 2 } as const;
export type ConnectionStatus = (typeof ConnectionStatus)[keyof typeof ConnectionStatus];

/** Target every connected peer. */
export const TARGET_PEER_BROADCAST = 0;
/** Target the server (peer id 1). */
export const TARGET_PEER_SERVER = 1;
/** Smallest and largest non-server peer id (31-bit, never 0 or 1). */
export const MIN_PEER_ID = 2;
export const MAX_PEER_ID = 2147483647;
