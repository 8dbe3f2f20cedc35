/** The mesh layer: WebRTCMultiplayerPeer and lobby join. @module */
export * from './types.js';
export { WebRTCMultiplayerPeer } from './multiplayer-peer.js';
export type { MeshEvents, MeshMode, MultiplayerPeerOptions, MultiplayerPeerStats, PeerInfo } from './multiplayer-peer.js';
export type { Reconnector } from './link.js';
export type { AcceptChannelHook } from './foreign-channels.js';
export type { MeshReconnectOptions, LinkChannelStats, LinkState, LinkStateChange, LinkStats, MeshStats } from './health/index.js';
export type { ChannelSpec } from './channel-layout.js';
export { LobbyMultiplayerPeer } from './lobby.js';
export { Mesh } from './join.js';
export type { JoinMeshOptions, LobbySignaling, LobbySignalingEvents, LobbyJoinRequest, LobbyJoinResult, SignalingSource } from './lobby-signaling.js';
