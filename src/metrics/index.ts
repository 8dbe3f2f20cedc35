/** Metrics exposition (Node-only). @module */
export { createMetrics } from './prometheus.js';
export type { Metrics, MetricsOptions, MeshStatsSource, SignalingStatsSource } from './prometheus.js';
