/**
 * `rtcmesh/virtual`: the virtual network — hundreds of simulated peers in one
 * process, links with latency, jitter, loss, reordering, bandwidth and
 * partitions, a virtual clock that jumps from deadline to deadline, and one
 * seed for everything. Pass `net.createHost().engine` as a connection's or a
 * mesh's `engine`.
 * @module rtcmesh/virtual
 */
export { VirtualNetwork, VirtualHost } from '../transport/virtual/network.js';
export type { VirtualNetworkOptions, VirtualIceOptions, VirtualSctpOptions, LinkOptions } from '../transport/virtual/network.js';
export type { LinkConditions, JitterOptions, JitterDistribution, LossOptions, GilbertElliottOptions, OutageOptions } from '../transport/virtual/conditions.js';
export { Link, LinkDirection, type DirectionStats, type PacketSink } from '../transport/virtual/link.js';
export { VirtualClock, type ClockMode, type RunUntilOptions, type TimerHandle, type Task } from '../transport/virtual/scheduler.js';
export { VirtualEngine } from '../transport/virtual/connection.js';
export { Trace, type TraceOptions } from '../transport/virtual/trace.js';
