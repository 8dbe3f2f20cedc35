/**
 * The sync half of the demo's stats: every peer's latest {@link SyncRow},
 * turned into a table (objects, bytes per snapshot per client, rates, acks,
 * input lag) and the sync figures of the final summary.
 * @module
 */
import { percentile, pushSample, renderTable } from '../table.js';
import { TICK_RATE } from './arena.js';
import { addSyncRows, type SyncRow } from './sync-report.js';

/** The sync figures of `rtcmesh demo --json`. */
export interface SyncSummary {
  /** Objects the host replicates (players and orbs). */
  sync_objects: number;
  /** Clients reporting sync figures. */
  sync_clients: number;
  /** Fewest objects any client holds (its interest: every player and the orbs near it). */
  sync_objects_min: number;
  /** Fewest players any client holds. */
  sync_players_min: number;
  /** Snapshot bytes the host sent per client per tick (whole run). */
  sync_bytes_per_client_tick: number;
  /** Snapshot bytes the host sent, whole run. */
  sync_bytes: number;
  /** The same views as full msgpack snapshots each tick (the hand-written RPC way), bytes per client per tick (mean of samples). */
  msgpack_full_bytes_per_client_tick: number;
  /** `sync_bytes_per_client_tick` ÷ `msgpack_full_bytes_per_client_tick`. */
  sync_ratio_vs_full: number;
  /** Share of the host's snapshots that were acknowledged. */
  sync_acked: number;
  /** Median input lag (inputs a client sent and the host had not processed yet, in ms of ticks). */
  sync_input_lag_ms_p50: number;
  /** Sync messages dropped as malformed or unexpected, every peer. */
  sync_errors: number;
}

interface Entry {
  row: SyncRow;
  /** Totals of earlier incarnations of the peer (restarted after it died). */
  past: SyncRow | undefined;
  at: number;
  bytesPerTick: number;
  kBps: number;
  snapsPerS: number;
  acked: number;
}


/** Every peer's latest sync report, by name. */
export class SyncBoard {
  private readonly entries = new Map<string, Entry>();
  private readonly lags: number[] = [];
  private fullSum = 0;
  private fullCount = 0;

  /** A fresh report from `name` at `now` (ms). */
  report(name: string, row: SyncRow, now: number): void {
    const e = this.entries.get(name);
    if (!e) {
      this.entries.set(name, { row, past: undefined, at: now, bytesPerTick: NaN, kBps: NaN, snapsPerS: NaN, acked: NaN });
      return;
    }
    const dSnaps = row.snapshots - e.row.snapshots;
    const dBytes = row.bytes - e.row.bytes;
    const dt = (now - e.at) / 1000;
    if (dt > 0 && dSnaps >= 0 && dBytes >= 0) {
      e.bytesPerTick = dSnaps > 0 ? dBytes / dSnaps : NaN;
      e.kBps = dBytes / 1024 / dt;
      e.snapsPerS = dSnaps / dt;
      e.acked = dSnaps > 0 ? Math.min(1, (row.acks - e.row.acks) / dSnaps) : NaN;
    }
    e.row = row;
    e.at = now;
    if (row.role === 'host' && row.fullBytes > 0) {
      this.fullSum += row.fullBytes;
      this.fullCount++;
    }
    if (row.role === 'client') {
      pushSample(this.lags, (row.inputLag * 1000) / TICK_RATE);
    }
  }

  /** `name` was restarted after it died: keep its totals, start its rates over. */
  restarted(name: string): void {
    const e = this.entries.get(name);
    if (!e) return;
    e.past = e.past ? addSyncRows(e.past, e.row) : e.row;
    e.row = { ...e.row, objects: 0, players: 0, snapshots: 0, bytes: 0, acks: 0, inputs: 0, inputLag: 0, errors: 0, fullBytes: 0 };
  }

  /** One row per peer, `names` first in their order. */
  table(names: readonly string[]): string {
    const order = [...names.filter((n) => this.entries.has(n)), ...[...this.entries.keys()].filter((n) => !names.includes(n)).sort()];
    const fmt = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
    const rows = order.map((name) => {
      const e = this.entries.get(name)!;
      const r = e.row;
      return [
        name,
        r.role,
        String(r.objects),
        String(r.players),
        fmt(e.bytesPerTick, 1),
        r.role === 'host' && r.fullBytes > 0 ? r.fullBytes.toFixed(0) : '-',
        fmt(e.kBps, 1),
        fmt(e.snapsPerS, 0),
        r.role === 'host' && Number.isFinite(e.acked) ? `${(e.acked * 100).toFixed(0)}%` : '-', // a client acknowledges every tick it completes
        r.role === 'client' ? String((r.inputLag * 1000) / TICK_RATE) : '-',
        String(r.errors + (e.past?.errors ?? 0)),
      ];
    });
    return renderTable(['sync', 'role', 'objects', 'players', 'B/tick', 'full B', 'kB/s', 'snaps/s', 'acked', 'input lag ms', 'errors'], rows);
  }

  /** The end-of-run sync figures. */
  summary(): SyncSummary {
    let host: SyncRow | undefined;
    const clients: SyncRow[] = [];
    let errors = 0;
    for (const e of this.entries.values()) {
      const total = e.past ? addSyncRows(e.past, e.row) : e.row;
      errors += total.errors;
      if (e.row.role === 'host') host = total;
      else clients.push(e.row);
    }
    const round = (n: number, k = 1000) => Math.round(n * k) / k;
    const perTick = host && host.snapshots > 0 ? round(host.bytes / host.snapshots, 10) : 0;
    const full = this.fullCount > 0 ? round(this.fullSum / this.fullCount, 10) : 0;
    return {
      sync_objects: host?.objects ?? 0,
      sync_clients: clients.length,
      sync_objects_min: clients.length ? Math.min(...clients.map((c) => c.objects)) : 0,
      sync_players_min: clients.length ? Math.min(...clients.map((c) => c.players)) : 0,
      sync_bytes_per_client_tick: perTick,
      sync_bytes: host?.bytes ?? 0,
      msgpack_full_bytes_per_client_tick: full,
      sync_ratio_vs_full: full > 0 ? round(perTick / full) : 0,
      sync_acked: host && host.snapshots > 0 ? round(Math.min(1, host.acks / host.snapshots)) : 0,
      sync_input_lag_ms_p50: round(percentile([...this.lags].sort((a, b) => a - b), 0.5)),
      sync_errors: errors,
    };
  }
}

/** The summary's sync figures in one line. */
export function syncLine(s: SyncSummary): string {
  return `sync: ${s.sync_objects} objects on the host, each of ${s.sync_clients} clients holding ${s.sync_objects_min}+ of them (${s.sync_players_min}+ players), ${s.sync_bytes_per_client_tick} B per client per tick (full msgpack snapshots of the same views: ${s.msgpack_full_bytes_per_client_tick} B, ratio ${s.sync_ratio_vs_full}), ${(s.sync_acked * 100).toFixed(1)}% of snapshots acknowledged, input lag p50 ${s.sync_input_lag_ms_p50} ms, ${s.sync_errors} dropped`;
}
