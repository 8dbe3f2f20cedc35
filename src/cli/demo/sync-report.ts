/**
 * A small, serialisable view of a peer's sync layer for the demo's table and
 * the page's panel (no Node.js imports here): cumulative counters, turned
 * into rates by the reader.
 * @module
 */
import type { SyncClient, SyncHost } from '../../core.js';

/** The sync figures of one peer, cumulative. */
export interface SyncRow {
  role: 'host' | 'client';
  /** Host: objects spawned; client: objects replicated here (its interest). */
  objects: number;
  /** Players among them. */
  players: number;
  /** Host: snapshots sent (one per client per tick); client: ticks whose every part was applied (each acknowledged). */
  snapshots: number;
  /** Host: snapshot bytes sent; client: snapshot bytes received. */
  bytes: number;
  /** Host: snapshot acknowledgements received; client: acknowledgements sent (= ticks completed). */
  acks: number;
  /** Host: inputs received; client: inputs queued (each sent until acknowledged). */
  inputs: number;
  /** Client: inputs sent and not yet processed by the host (× tick = the input round trip); host: 0. */
  inputLag: number;
  /** Inbound sync messages dropped (malformed, not from the authority, unknown baseline…). */
  errors: number;
}

const errorCount = (errors: Record<string, number>) => Object.values(errors).reduce((n, v) => n + v, 0);

/** The figures of a host. */
export function hostSyncRow(sync: SyncHost, players: number): SyncRow {
  const s = sync.getStats();
  return { role: 'host', objects: s.objects, players, snapshots: s.snapshotsSent, bytes: s.bytesSent, acks: s.acksReceived, inputs: s.inputsReceived, inputLag: 0, errors: errorCount(s.errors) };
}

/** The figures of a client. */
export function clientSyncRow(sync: SyncClient, players: number, inputsSent: number): SyncRow {
  const s = sync.getStats();
  return {
    role: 'client',
    objects: s.objects,
    players,
    snapshots: s.ticksCompleted,
    bytes: s.bytesReceived,
    acks: s.ticksCompleted,
    inputs: inputsSent,
    inputLag: sync.unacknowledgedInputs().length,
    errors: errorCount(s.errors),
  };
}

/** Add `b`'s counters to `a` (a client's figures across its sync restarts). */
export function addSyncRows(a: SyncRow, b: SyncRow): SyncRow {
  return { ...b, snapshots: a.snapshots + b.snapshots, bytes: a.bytes + b.bytes, acks: a.acks + b.acks, inputs: a.inputs + b.inputs, errors: a.errors + b.errors };
}
