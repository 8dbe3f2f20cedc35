/**
 * The method-table handshake (Godot's path-cache checksum): on link open, and
 * after every change of the table, each side sends a HELLO with its table
 * checksum. While the peer's checksum equals ours, frames to it carry small
 * integer method ids; otherwise names, and the mismatch is reported once.
 * Also the set of open links the endpoint tracks.
 * @module
 */
import { HELLO, show, type Arrival, type EndpointState } from './state.js';
import { RpcErrorCode } from './types.js';

interface LinkState {
  /** Checksum the peer announced in its HELLO, once received. */
  remoteChecksum: number | undefined;
  /** A mismatch was already reported for this link. */
  mismatchReported: boolean;
}

/** Open links and their handshake state. */
export class Handshake {
  private readonly links = new Map<number, LinkState>();
  /** Links that must hear our table checksum at the next flush. */
  private readonly helloDue = new Set<number>();

  constructor(private readonly state: EndpointState) {}

  /** Track a newly open link and schedule its HELLO; false when it was already tracked. */
  open(id: number): boolean {
    if (this.links.has(id)) return false;
    this.links.set(id, { remoteChecksum: undefined, mismatchReported: false });
    this.helloDue.add(id);
    return true;
  }

  /** Forget a link; false when it was not tracked. */
  close(id: number): boolean {
    this.helloDue.delete(id);
    return this.links.delete(id);
  }

  has(id: number): boolean {
    return this.links.has(id);
  }

  /** Ids of the open links. */
  ids(): IterableIterator<number> {
    return this.links.keys();
  }

  clear(): void {
    this.links.clear();
    this.helloDue.clear();
  }

  /** Whether integer method ids are in use towards `peer` (handshake done and tables equal). */
  usesMethodIds(peer: number): boolean {
    return this.links.get(peer)?.remoteChecksum === this.state.table.checksum;
  }

  /** The table changed: announce it to every link at the next flush (one HELLO however many changes). */
  tableChanged(): void {
    for (const [id, link] of this.links) {
      this.helloDue.add(id);
      link.mismatchReported = false;
    }
  }

  /** Hand the HELLO frames that are due to `queue` (the current table, once per flush). */
  queueHellos(queue: (link: number, frame: unknown[]) => void): void {
    if (this.helloDue.size === 0) return;
    const table = this.state.table;
    for (const id of this.helloDue) {
      if (this.links.has(id)) queue(id, [HELLO, table.checksum, table.size]);
    }
    this.helloDue.clear();
  }

  /** A peer's HELLO arrived. */
  handleHello(frame: unknown[], arrival: Arrival): void {
    const checksum = frame[1];
    const link = this.links.get(arrival.link);
    if (!link) return; // hello from a link we do not track (already closed)
    if (typeof checksum !== 'number' || !Number.isInteger(checksum)) {
      this.state.malformed(arrival, 'hello frame without a checksum');
      return;
    }
    link.remoteChecksum = checksum;
    const ours = this.state.table.checksum;
    if (checksum !== ours && !link.mismatchReported) {
      link.mismatchReported = true;
      this.state.report({
        code: RpcErrorCode.METHOD_TABLE_MISMATCH,
        senderId: arrival.link,
        message: `peer ${arrival.link} has a different RPC table (${show(frame[2])} RPCs, checksum ${checksum} vs ours ${ours}); RPC names are sent instead of ids`,
      });
    }
  }
}
