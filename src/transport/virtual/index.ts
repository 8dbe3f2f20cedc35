/**
 * The virtual network: an in-memory engine, simulated links and a virtual
 * clock for deterministic simulation tests with hundreds of virtual peers.
 * @module
 */
export { VirtualNetwork, VirtualHost } from './network.js';
export type { VirtualNetworkOptions, VirtualIceOptions, VirtualSctpOptions, LinkOptions } from './network.js';
export type { LinkConditions, JitterOptions, JitterDistribution, LossOptions, GilbertElliottOptions, OutageOptions } from './conditions.js';
export { Link, LinkDirection, type DirectionStats, type PacketSink } from './link.js';
export { VirtualClock, type ClockMode, type RunUntilOptions, type TimerHandle, type Task } from './scheduler.js';
export { Trace, type TraceOptions } from './trace.js';
export { VirtualEngine, VirtualConnection } from './connection.js';
export { VirtualChannel } from './channel.js';
export { Rng } from './rng.js';
