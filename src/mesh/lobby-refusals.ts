/**
 * Refused links of a lobby mesh, both ways (signaling protocol 5, `refuse`):
 * - peers this one refused (`addPeer` threw: `refuseNewConnections`, or a
 *   role that does not take them): each is told once through signaling, so
 *   it fails at once instead of waiting for a link that never opens; told
 *   again only after it left the lobby or joined anew;
 * - peers that refused this one: never connected to again while they stay
 *   in the lobby, and what `ready()` rejects with.
 *
 * Both sets are bounded (an id leaves them when its peer leaves the lobby).
 * @module
 */
import { ErrorCode, RtcmeshError, isRtcmeshError } from '../errors.js';
import type { RefusalCode } from '../signaling/protocol.js';
import type { LobbySignaling } from './lobby-signaling.js';

/** Most peers remembered in each direction (beyond, a refusal is dropped and counted by the caller). */
const MAX_REFUSALS = 4096;

/** The refusal code an `addPeer` error stands for, or undefined when it is no refusal (a bad state, say). */
export function refusalOf(err: unknown): RefusalCode | undefined {
  if (isRtcmeshError(err, ErrorCode.UNAUTHORIZED)) return 'UNAUTHORIZED';
  if (isRtcmeshError(err, ErrorCode.INVALID_PEER)) return 'INVALID_PEER';
  return undefined;
}

/** Who refused whom in one lobby mesh. */
export class LobbyRefusals {
  /** Peers this one refused and told. */
  private readonly told = new Set<number>();
  /** Peers that refused this one, with their reason. */
  private readonly by = new Map<number, RefusalCode>();

  constructor(private readonly signaling: LobbySignaling) {}

  /**
   * Tell `id` that this peer refused it, unless it was told already during
   * this refusal. False when nothing was sent (told already, a client
   * without `refuse`, a server older than protocol 5, too many refusals).
   */
  tell(id: number, code: RefusalCode): boolean {
    if (this.told.has(id) || this.told.size >= MAX_REFUSALS) return false;
    this.told.add(id);
    try {
      return this.signaling.refuse?.(id, code) === true;
    } catch {
      return false; // a client that left or closed: nobody to tell
    }
  }

  /**
   * Whether a signaling message from `id`, a peer without a link, is to be
   * dropped: it refused this peer, or this peer refused it and told it so.
   * `refuseNow`: the message is an offer from a member while this peer
   * refuses new connections — a refusal, told once like the others.
   */
  drops(id: number, refuseNow: boolean): boolean {
    if (this.by.has(id)) return true;
    if (refuseNow) this.tell(id, 'UNAUTHORIZED');
    return this.told.has(id);
  }

  /** Peer `id` refused this one; false when it was known already or too many are. */
  refusedBy(id: number, code: RefusalCode): boolean {
    if (this.by.has(id) || this.by.size >= MAX_REFUSALS) return false;
    this.by.set(id, code);
    return true;
  }

  /** Whether `id` refused this one (it is not connected to again while it stays in the lobby). */
  refusing(id: number): boolean {
    return this.by.has(id);
  }

  /** The peers that refused this one, ascending. */
  refusers(): number[] {
    return [...this.by.keys()].sort((a, b) => a - b);
  }

  /** `id` left the lobby, or joined anew: both directions start afresh. */
  forget(id: number): void {
    this.told.delete(id);
    this.by.delete(id);
  }

  clear(): void {
    this.told.clear();
    this.by.clear();
  }
}

/** The error `ready()` rejects with once the host (id 1) refused this client. */
export function hostRefusal(code: RefusalCode): RtcmeshError {
  const why = code === 'UNAUTHORIZED' ? 'its refuseNewConnections is on' : 'it does not take this peer in its role';
  return new RtcmeshError(
    ErrorCode.UNAUTHORIZED,
    `ready(): the host (peer 1) refused this client (${why}), so the join failed and this client left the lobby; ` +
      'the host must turn refuseNewConnections off before clients can join, then join again',
  );
}

/** The message `ready()` rejects with once members of a mesh lobby refused this peer. */
export function meshRefusal(ids: readonly number[]): string {
  return (
    `ready(): peer(s) ${ids.join(', ')} refused the link to this peer (their refuseNewConnections is on), so the mesh will not link to them; ` +
    'they must turn refuseNewConnections off and this peer join again, or go on without them (the peers that accepted are linked)'
  );
}
