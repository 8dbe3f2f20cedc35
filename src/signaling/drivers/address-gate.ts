/**
 * The WebSocket server's per-address admission (issue #13): an address may
 * hold at most `maxPerAddress` things at once — open sockets, connections
 * still before their WebSocket upgrade, and peers in their resume grace whose
 * socket came from it — and open at most `connectionRate` new sockets per
 * window. A connection that has not finished its upgrade within
 * `upgradeTimeoutMs` is destroyed (and counted), whatever Node's own header
 * timeout is.
 *
 * Memory: one entry per address that holds something (sockets, pending
 * upgrades) plus the rate ledger's recent creators.
 * @module
 */
import type { Socket } from 'node:net';
import { AddressLedger, type CreationRate } from '../address-ledger.js';

/** Limits of {@link AddressGate}. 0 turns a limit off. */
export interface AddressGateOptions {
  /** Sockets + pending upgrades + detached peers per address (0 = no limit). */
  maxPerAddress: number;
  /** Connections before their upgrade per address (0 = no limit). */
  maxPendingPerAddress: number;
  /** New sockets per address per window (`count` 0 = no limit). */
  connectionRate: CreationRate;
  /** A connection must finish its WebSocket upgrade within this (0 = no timeout). */
  upgradeTimeoutMs: number;
  /** Detached peers in grace held by an address (from the lobby logic). */
  detachedOf: (address: string) => number;
}

/** A connection before its upgrade. */
interface Pending {
  address: string;
  /** When its upgrade time is up (`performance.now()` time). */
  deadline: number;
}

/** Per-address admission of the WebSocket server. */
export class AddressGate {
  private readonly open = new Map<string, number>();
  private readonly pending = new Map<string, number>();
  /**
   * Connections before their upgrade, oldest first (a Map keeps insertion
   * order, and every one gets the same timeout, so the first is the soonest
   * due): one timer for all of them, no timer or closure per connection.
   */
  private readonly pendingSockets = new Map<Socket, Pending>();
  private sweepTimer: ReturnType<typeof setTimeout> | undefined;
  /** The one `close` listener of every pending socket (`this` is the socket). */
  private readonly onPendingClose: (this: Socket) => void;
  private readonly rate: AddressLedger;
  /** Connections destroyed because they did not finish the upgrade in time. */
  upgradeTimeouts = 0;
  /** Connections refused before the upgrade (pending limit). */
  pendingRefused = 0;

  /** The upgrade timeout (ms; 0 = none). */
  get upgradeTimeoutMs(): number {
    return this.o.upgradeTimeoutMs;
  }

  constructor(private readonly o: AddressGateOptions) {
    this.rate = new AddressLedger(o.connectionRate);
    const gate = this;
    this.onPendingClose = function (this: Socket) {
      gate.settle(this);
    };
  }

  /** What `address` holds now: open sockets, pending upgrades, detached peers. */
  held(address: string): number {
    return (this.open.get(address) ?? 0) + (this.pending.get(address) ?? 0) + this.o.detachedOf(address);
  }

  /** Connections still before their upgrade (all addresses). */
  get pendingCount(): number {
    return this.pendingSockets.size;
  }

  /**
   * A new TCP connection on the server's own HTTP server: count it as a
   * pending upgrade of its address (destroyed at once past the pending
   * limit), and start its upgrade timeout.
   */
  connection(socket: Socket): void {
    const address = socket.remoteAddress ?? '?';
    const pending = this.pending.get(address) ?? 0;
    // Over the pending limit: destroyed at once. (Over the holdings limit it still gets its HTTP 429 at the upgrade.)
    if (this.o.maxPendingPerAddress > 0 && pending >= this.o.maxPendingPerAddress) {
      this.pendingRefused++;
      socket.destroy();
      return;
    }
    bump(this.pending, address, 1);
    this.pendingSockets.set(socket, { address, deadline: performance.now() + this.o.upgradeTimeoutMs });
    socket.once('close', this.onPendingClose);
    if (this.o.upgradeTimeoutMs > 0 && !this.sweepTimer) this.armSweep(this.o.upgradeTimeoutMs);
  }

  /** The connection asked for an upgrade (or closed): it is no longer pending (admission follows). */
  settle(socket: Socket): void {
    const entry = this.pendingSockets.get(socket);
    if (!entry) return;
    this.pendingSockets.delete(socket);
    socket.off('close', this.onPendingClose);
    bump(this.pending, entry.address, -1);
    if (this.pendingSockets.size === 0 && this.sweepTimer) {
      clearTimeout(this.sweepTimer);
      this.sweepTimer = undefined;
    }
  }

  private armSweep(ms: number): void {
    this.sweepTimer = setTimeout(() => this.sweep(), Math.max(1, Math.ceil(ms)));
  }

  /** Destroy the pending connections whose upgrade time is up; re-arm for the next one. */
  private sweep(): void {
    this.sweepTimer = undefined;
    const now = performance.now();
    for (const [socket, entry] of this.pendingSockets) {
      if (entry.deadline > now) {
        this.armSweep(entry.deadline - now);
        return;
      }
      this.upgradeTimeouts++;
      this.settle(socket);
      socket.destroy();
    }
  }

  /** Whether a WebSocket from `address` may open now; an HTTP status to refuse with otherwise. */
  admit(address: string, now: number): { status: number; text: string } | undefined {
    if (this.o.maxPerAddress > 0 && this.held(address) >= this.o.maxPerAddress) return { status: 429, text: 'Too Many Requests' };
    if (this.o.connectionRate.count > 0 && !this.rate.tryCreate(address, now)) return { status: 429, text: 'Too Many Requests' };
    return undefined;
  }

  /** A WebSocket from `address` opened. */
  opened(address: string): void {
    bump(this.open, address, 1);
  }

  /** A WebSocket from `address` closed. */
  closed(address: string): void {
    bump(this.open, address, -1);
  }

  /** Forget everything and clear every timer (server closed). */
  clear(): void {
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    const sockets = [...this.pendingSockets.keys()];
    this.pendingSockets.clear();
    for (const socket of sockets) {
      socket.off('close', this.onPendingClose);
      socket.destroy();
    }
    this.pending.clear();
    this.open.clear();
    this.rate.clear();
  }
}

function bump(map: Map<string, number>, key: string, delta: number): void {
  const n = (map.get(key) ?? 0) + delta;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}
