/**
 * The sync layer: schemas, server-authoritative snapshots with per-peer
 * delta compression against acknowledged baselines, interest management,
 * interpolation and input acknowledgement, and mesh mode (every peer the
 * authority of the objects it spawns). Browser-safe and sans-IO.
 * @module
 */
export { defineSchema, Schema, t } from './schema.js';
export type { FieldType, FieldValue, Fields, Infer, InferFields, SlotValue, Vec2, Vec3 } from './schema.js';
export { HostObject } from './host-object.js';
export { SyncHost } from './host.js';
export type { SyncHostEvents, SyncHostOptions, SyncHostStats } from './host.js';
export { SyncClient } from './client.js';
export type { SyncClientEvents, SyncClientOptions, SyncClientStats } from './client.js';
export { SyncPeer } from './sync-peer.js';
export type { SyncPeerEvents, SyncPeerOptions, SyncPeerStats } from './sync-peer.js';
export { Replica } from './replica.js';
export type { SequencedInput } from './inputs.js';
export { SpatialInterest, visibleWhen } from './interest.js';
export type { InterestRule, SpatialInterestOptions } from './interest.js';
export { rpcTransport } from './rpc-transport.js';
export type { RpcTransportOptions } from './rpc-transport.js';
export { SyncErrorCode } from './types.js';
export type { SyncCounters, SyncErrorEvent, SyncTransport } from './types.js';
