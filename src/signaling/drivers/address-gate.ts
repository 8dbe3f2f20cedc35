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

/** Per-address admission of the WebSocket server. */
export class AddressGate {
  private readonly open = new Map<string, number>();
  private readonly pending = new Map<string, number>();
  private readonly pendingSockets = new Map<Socket, { address: string; timer: ReturnType<typeof setTimeout> | undefined }>();
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
   * limit), and arm its upgrade timeout.
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
    const entry = { address, timer: undefined as ReturnType<typeof setTimeout> | undefined };
    if (this.o.upgradeTimeoutMs > 0) {
      entry.timer = setTimeout(() => {
        entry.timer = undefined;
        if (!this.pendingSockets.has(socket)) return;
        this.upgradeTimeouts++;
        socket.destroy();
      }, this.o.upgradeTimeoutMs);
    }
    this.pendingSockets.set(socket, entry);
    socket.once('close', () => this.settle(socket));
  }

  /** The connection asked for an upgrade: it is no longer pending (admission follows). */
  settle(socket: Socket): void {
    const entry = this.pendingSockets.get(socket);
    if (!entry) return;
    this.pendingSockets.delete(socket);
    if (entry.timer) clearTimeout(entry.timer);
    bump(this.pending, entry.address, -1);
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
    for (const [socket, entry] of this.pendingSockets) {
      if (entry.timer) clearTimeout(entry.timer);
      socket.destroy();
    }
    this.pendingSockets.clear();
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
