/** The mesh layer: WebRTCMultiplayerPeer and lobby join. @module */
export * from './types.js';
export { WebRTCMultiplayerPeer } from './multiplayer-peer.js';
export type { MeshEvents, MeshMode, MultiplayerPeerOptions, MultiplayerPeerStats, PeerInfo } from './multiplayer-peer.js';
export type { Reconnector } from './link.js';
export type { AcceptChannelHook } from './foreign-channels.js';
export type { LinkMaintenance } from './link-maintenance.js';
export * from './health/index.js';
export { channelLayout, RESERVED_CHANNEL_ID_BASE, MAX_CUSTOM_CHANNELS } from './channel-layout.js';
export type { ChannelSpec } from './channel-layout.js';
export { LobbyMultiplayerPeer } from './lobby.js';
export type { MultiplayerPeerFacade } from './facade.js';
export { Mesh } from './join.js';
export type { HostMeshOptions, JoinMeshOptions, LobbySignaling, LobbySignalingEvents, LobbyJoinRequest, LobbyJoinResult, SignalingSource } from './lobby-signaling.js';
