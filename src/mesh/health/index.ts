/** Link health: heartbeats, session header, reconnection policy, stats shapes. @module */
export { CONTROL_CHANNEL_ID, CONTROL_CHANNEL_LABEL } from './control.js';
export type { MeshReconnectOptions } from './reconnect.js';
export type { LinkChannelStats, LinkState, LinkStateChange, LinkStats, MeshStats } from './stats.js';
