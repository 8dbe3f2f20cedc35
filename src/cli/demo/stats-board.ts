/**
 * Collects every peer's link reports and turns them into the demo's table
 * (one row per link, short peer names, rates from the last interval) and its
 * final summary.
 * @module
 */
import { percentile, pushSample, renderTable } from '../table.js';
import type { GameCounters } from './chat.js';
import type { LinkRow } from './link-report.js';
import { SyncBoard, type SyncSummary } from './sync-board.js';
import type { SyncRow } from './sync-report.js';

/** The JSON summary line of `rtcmesh demo --json`: link figures, then the sync layer's. */
export interface DemoSummary extends SyncSummary {
  peers: number;
  links: number;
  rtt_p50_ms: number;
  rtt_p99_ms: number;
  msgs: number;
  lost_reliable: number;
  reconnects: number;
  restarts: number;
  seconds: number;
}

interface Reporter {
  id: number;
  links: LinkRow[];
  counters: GameCounters;
  /** Counters of earlier incarnations (a bot restarted after kill -9). */
  pastCounters: GameCounters;
  pastPackets: number;
}

interface RateState {
  packets: number;
  bytes: number;
  at: number;
  pps: number;
  bps: number;
}


/** Every peer's latest report, by name. */
export class StatsBoard {
  private readonly reporters = new Map<string, Reporter>();
  private readonly names = new Map<number, string>();
  private readonly rates = new Map<string, RateState>();
  private readonly rtts: number[] = [];
  private readonly maxReconnects = new Map<string, number>();
  private readonly sync = new SyncBoard();
  /** Peer names in the order the table lists them (the demo's own first). */
  order: readonly string[] = [];
  restarts = 0;

  /** Remember a peer's short name. */
  name(id: number, name: string): void {
    this.names.set(id, name);
  }

  /** Short name of an id. */
  nameOf(id: number): string {
    return this.names.get(id) ?? `#${id}`;
  }

  /** A peer process was replaced (after it died): keep its totals. */
  restarted(name: string): void {
    const r = this.reporters.get(name);
    if (r) {
      for (const k of Object.keys(r.counters) as (keyof GameCounters)[]) r.pastCounters[k] += r.counters[k];
      r.pastPackets += r.links.reduce((n, l) => n + l.packets, 0);
      r.counters = { chatsSent: 0, chatsReceived: 0, lostReliable: 0 };
      r.links = [];
    }
    this.sync.restarted(name);
    this.restarts++;
  }

  /** A fresh report from `name` at `now` (ms). */
  report(name: string, id: number, links: LinkRow[], counters: GameCounters, players: { id: number; name: string }[], now: number, sync?: SyncRow): void {
    this.names.set(id, name);
    if (sync) this.sync.report(name, sync, now);
    for (const p of players) if (!this.names.has(p.id) || this.names.get(p.id)!.startsWith('#')) this.names.set(p.id, p.name);
    let r = this.reporters.get(name);
    if (!r) {
      r = { id, links, counters, pastCounters: { chatsSent: 0, chatsReceived: 0, lostReliable: 0 }, pastPackets: 0 };
      this.reporters.set(name, r);
    }
    r.id = id;
    r.links = links;
    r.counters = counters;
    for (const l of links) {
      if (l.state !== 'connected') continue;
      if (l.rttMs >= 0) {
        pushSample(this.rtts, l.rttMs);
      }
      const key = `${name}>${l.peer}`;
      const prev = this.rates.get(key);
      if (prev && now > prev.at) {
        const dt = (now - prev.at) / 1000;
        this.rates.set(key, { packets: l.packets, bytes: l.bytes, at: now, pps: Math.max(0, (l.packets - prev.packets) / dt), bps: Math.max(0, (l.bytes - prev.bytes) / dt) });
      } else if (!prev) this.rates.set(key, { packets: l.packets, bytes: l.bytes, at: now, pps: 0, bps: 0 });
      const linkKey = this.linkKey(id, l.peer);
      this.maxReconnects.set(linkKey, Math.max(this.maxReconnects.get(linkKey) ?? 0, l.reconnects));
    }
  }

  private linkKey(a: number, b: number): string {
    return a < b ? `${a}-${b}` : `${b}-${a}`;
  }

  /** Connected links, each once (seen from its lower-id side when both report). */
  private links(): { name: string; l: LinkRow; from: string }[] {
    const seen = new Map<string, { name: string; l: LinkRow; from: string }>();
    for (const [from, r] of this.reporters) {
      for (const l of r.links) {
        if (l.state === 'closed') continue;
        const key = this.linkKey(r.id, l.peer);
        const existing = seen.get(key);
        if (!existing || r.id < l.peer) seen.set(key, { name: `${from} - ${this.nameOf(l.peer)}`, l, from });
      }
    }
    return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The live tables: one row per link, then one per peer's sync layer. */
  table(): string {
    return `${this.linkTable()}\n${this.sync.table(this.order)}`;
  }

  /** One row per link. */
  linkTable(): string {
    const rows = this.links().map(({ name, l, from }) => {
      const rate = this.rates.get(`${from}>${l.peer}`);
      return [
        name,
        l.state,
        l.rttMs >= 0 ? l.rttMs.toFixed(3) : '-',
        rate ? rate.pps.toFixed(0) : '-',
        rate ? (rate.bps / 1024).toFixed(1) : '-',
        `${(l.loss * 100).toFixed(0)}%`,
        l.candidate,
        String(l.reconnects),
      ];
    });
    return renderTable(['link', 'state', 'rtt ms', 'pkts/s', 'kB/s', 'loss', 'candidates', 'reconnects'], rows);
  }

  /** Connected link count (each link once). */
  connectedLinks(): number {
    return this.links().filter((x) => x.l.state === 'connected').length;
  }

  /** The end-of-run figures. */
  summary(seconds: number): DemoSummary {
    const sorted = [...this.rtts].sort((a, b) => a - b);
    let msgs = 0;
    let lost = 0;
    for (const r of this.reporters.values()) {
      msgs += r.pastPackets + r.links.reduce((n, l) => n + l.packets, 0);
      lost += r.pastCounters.lostReliable + r.counters.lostReliable;
    }
    let reconnects = 0;
    for (const n of this.maxReconnects.values()) reconnects += n;
    const round = (n: number) => Math.round(n * 1000) / 1000;
    return {
      peers: this.reporters.size,
      links: this.connectedLinks(),
      rtt_p50_ms: round(percentile(sorted, 0.5)),
      rtt_p99_ms: round(percentile(sorted, 0.99)),
      // Each message is counted by its sender and its receiver.
      msgs: Math.round(msgs / 2),
      lost_reliable: lost,
      reconnects,
      restarts: this.restarts,
      seconds: round(seconds),
      ...this.sync.summary(),
    };
  }
}
