/** The peer layer: connections and data channels. @module */
export { ConnectionState, GatheringState, SignalingState, ChannelState, WriteMode } from './enums.js';
export { WebRTCPeerConnection } from './peer-connection.js';
export type { PeerConnectionEvents, PeerConnectionOptions, PeerConnectionStats } from './peer-connection.js';
export { WebRTCDataChannel } from './data-channel.js';
export type { DataChannelEvents, DataChannelStats } from './data-channel.js';
export type { DataChannelOptions, IceServerConfig, PeerConnectionConfig } from './options.js';

export type { QueueLimits } from './packet-queue.js';
