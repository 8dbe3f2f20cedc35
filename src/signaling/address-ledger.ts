/**
 * What each client address holds on the server, and how fast it creates: the
 * per-address side of the signaling server's limits (issue #13). Counting open
 * sockets alone does not bound an address: a client that joins and drops its
 * socket leaves a detached peer (and maybe a lobby) behind for the resume
 * grace, so the ledger also counts detached peers in grace and live lobbies it
 * created, plus a fixed-window rate of creations (lobbies here, sockets in the
 * WebSocket server).
 *
 * Sans-IO: times are passed in. Memory is bounded by the addresses that hold
 * something or created within the last window (idle entries are swept).
 * @module
 */

/** One address's holdings. */
interface Entry {
  /** Peers whose socket from this address dropped and that wait to resume. */
  detached: number;
  /** Live lobbies this address created. */
  lobbies: number;
  /** Creations in the current window, and its start. */
  created: number;
  windowStart: number;
}

/** A fixed-window creation rate: at most `count` per `windowMs`. */
export interface CreationRate {
  count: number;
  windowMs: number;
}

/** Per-address holdings and creation rates. */
export class AddressLedger {
  private readonly entries = new Map<string, Entry>();
  private sinceSweep = 0;

  constructor(private readonly rate: CreationRate) {}

  /** Number of addresses tracked (a gauge, for tests and stats). */
  get size(): number {
    return this.entries.size;
  }

  /** Detached peers in grace held by `address`. */
  detached(address: string): number {
    return this.entries.get(address)?.detached ?? 0;
  }

  /** Live lobbies created by `address`. */
  lobbies(address: string): number {
    return this.entries.get(address)?.lobbies ?? 0;
  }

  /** Change a holding of `address` by `delta` (entries holding nothing are forgotten once their window passed). */
  add(address: string, what: 'detached' | 'lobbies', delta: number, now: number): void {
    const e = this.entry(address, now);
    e[what] = Math.max(0, e[what] + delta);
    this.forgetIfIdle(address, e, now);
  }

  /** Whether `address` may create one more at `now` (fewer than `rate.count` in the current window). */
  mayCreate(address: string, now: number): boolean {
    const e = this.entries.get(address);
    return !e || now - e.windowStart >= this.rate.windowMs || e.created < this.rate.count;
  }

  /** Count one creation by `address` at `now`. */
  created(address: string, now: number): void {
    const e = this.entry(address, now);
    if (now - e.windowStart >= this.rate.windowMs) {
      e.windowStart = now;
      e.created = 0;
    }
    e.created++;
  }

  /** Count one creation unless the rate is used up; returns whether it was counted. */
  tryCreate(address: string, now: number): boolean {
    if (!this.mayCreate(address, now)) return false;
    this.created(address, now);
    return true;
  }

  /** Forget everything (shutdown). */
  clear(): void {
    this.entries.clear();
  }

  private entry(address: string, now: number): Entry {
    let e = this.entries.get(address);
    if (!e) {
      e = { detached: 0, lobbies: 0, created: 0, windowStart: now };
      this.entries.set(address, e);
      if (++this.sinceSweep >= 1024) this.sweep(now);
    }
    return e;
  }

  private forgetIfIdle(address: string, e: Entry, now: number): void {
    if (e.detached === 0 && e.lobbies === 0 && (e.created === 0 || now - e.windowStart >= this.rate.windowMs)) this.entries.delete(address);
  }

  /** Drop entries that hold nothing and whose creation window has passed. */
  private sweep(now: number): void {
    this.sinceSweep = 0;
    for (const [address, e] of this.entries) this.forgetIfIdle(address, e, now);
  }
}
