/**
 * What the virtual engine's connections need from their network and host,
 * as interfaces: the network module implements them and builds engines, the
 * connection modules depend only on these (so neither imports the other's
 * module both ways).
 * @module
 */
import type { PayloadSlab } from './chunk.js';
import type { Link, LinkDirection } from './link.js';
import type { Rng } from './rng.js';
import type { Task, VirtualClock } from './scheduler.js';
import type { Trace } from './trace.js';

/** ICE timing of virtual connections. */
export interface VirtualIceOptions {
  /** Connectivity-check retry interval, ms (default 50). */
  checkIntervalMs?: number;
  /** A dead link turns a connection DISCONNECTED after this long, ms (default 5000). */
  disconnectedAfterMs?: number;
  /** …and FAILED after this long, ms (default 30000); also the limit for first connectivity. */
  failedAfterMs?: number;
}

/** SCTP retransmission model. */
export interface VirtualSctpOptions {
  /** Lower bound of the retransmission timeout, ms (default 200). */
  rtoMinMs?: number;
  /** Upper bound of the retransmission timeout after backoff, ms (default 10000). */
  rtoMaxMs?: number;
  /**
   * Fast retransmit (default true): a lost first transmission is sent again
   * when three later packets have been acknowledged, instead of after the RTO.
   */
  fastRetransmit?: boolean;
}

/** @internal Something with an open bundle to send at the end of this instant. */
export interface Flushable {
  flush(): void;
}

/** @internal A host as its connections see it (`C`: the connection type). */
export interface HostContext<C> {
  readonly network: NetworkContext<C>;
  readonly name: string;
  readonly address: string;
  readonly index: number;
  /** Open connections on this host. */
  readonly connections: Set<C>;
  /** Next free port. @throws RtcmeshError when none is left. */
  allocatePort(): number;
}

/** @internal The network as its connections see it (`C`: the connection type). */
export interface NetworkContext<C> {
  readonly clock: VirtualClock;
  readonly trace: Trace;
  readonly ice: Required<VirtualIceOptions>;
  readonly sctp: Required<VirtualSctpOptions>;
  /** Signaling randomness (ufrags, fingerprints). */
  readonly rng: Rng;
  /** Where payloads of unordered, unreliable messages in flight are copied. */
  readonly slab: PayloadSlab;
  /** (address:port) → connection. */
  readonly endpoints: Map<string, C>;
  isClosed(): boolean;
  /** Record a trace event at the current time. */
  record(kind: string, detail: string): void;
  /** Flush `f`'s open bundle at the end of this instant. */
  flushLater(f: Flushable): void;
  /** The link between two hosts. */
  linkBetween(a: HostContext<C>, b: HostContext<C>): Link;
  /** The direction from `from` to `to`. */
  direction(from: HostContext<C>, to: HostContext<C>): LinkDirection;
}

/** Runs a closure; used for rare control-plane events only. */
export const callTask: Task = {
  fire(arg: unknown): void {
    (arg as () => void)();
  },
};
