/**
 * A small, serialisable view of a peer's sync layer for the demo's table and
 * the page's panel (no Node.js imports here): cumulative counters, turned
 * into rates by the reader.
 * @module
 */
import type { SyncClient, SyncHost } from '../../core.js';
import { msgpack } from '../../util/msgpack.js';

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
  /** Host: what one client's view would cost per tick as a full msgpack snapshot (the hand-written RPC way), bytes; client: 0. */
  fullBytes: number;
}

const errorCount = (errors: Record<string, number>) => Object.values(errors).reduce((n, v) => n + v, 0);

/** The figures of a host. */
export function hostSyncRow(sync: SyncHost, players: number): SyncRow {
  const s = sync.getStats();
  return { role: 'host', objects: s.objects, players, snapshots: s.snapshotsSent, bytes: s.bytesSent, acks: s.acksReceived, inputs: s.inputsReceived, inputLag: 0, errors: errorCount(s.errors), fullBytes: fullSnapshotBytes(sync) };
}

const leaves = (v: unknown, out: unknown[]): unknown[] => {
  if (v !== null && typeof v === 'object') for (const x of Object.values(v)) leaves(x, out);
  else out.push(v);
  return out;
};

/**
 * The reference the sync layer is measured against, sampled now: every
 * object a client sees, as `[id, ...field values]` in one msgpack array (what
 * a hand-written RPC snapshot sends each tick), averaged over the clients.
 */
export function fullSnapshotBytes(sync: SyncHost): number {
  const peers = sync.getPeerIds();
  if (peers.length === 0) return 0;
  let total = 0;
  for (const peer of peers) {
    const rows: unknown[][] = [];
    for (const id of sync.visibleTo(peer)) {
      const obj = sync.objects.get(id);
      if (obj) rows.push(leaves(obj.state, [id]));
    }
    total += msgpack.pack(rows).length;
  }
  return total / peers.length;
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
    fullBytes: 0,
  };
}

/** Add `b`'s counters to `a` (a client's figures across its sync restarts). */
export function addSyncRows(a: SyncRow, b: SyncRow): SyncRow {
  return { ...b, snapshots: a.snapshots + b.snapshots, bytes: a.bytes + b.bytes, acks: a.acks + b.acks, inputs: a.inputs + b.inputs, errors: a.errors + b.errors };
}
