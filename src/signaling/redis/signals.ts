/**
 * Relays, liveness probes and sealing on the Redis back end: each is one
 * atomic Redis step (look the target up, publish to its process's channel or
 * queue for it); what comes back decides the reply to the sender.
 * @module
 */
import { ErrorCode } from '../../errors.js';
import type { Session } from '../core-model.js';
import { HOST_PEER_ID, type ServerMessage } from '../protocol.js';
import { sees, type LocalPeer, type RedisBackendContext } from './context.js';

/** Handles `offer` / `answer` / `candidate` / `refuse`, `probe` and `seal`. */
export class RedisSignals {
  constructor(private readonly b: RedisBackendContext) {}

  private addressee(s: Session, to: number, ref: string): LocalPeer | undefined {
    const p = this.b.peerOf.get(s);
    if (!p) {
      this.b.out.violation(s, ErrorCode.INVALID_STATE, `cannot send "${ref}" before joining a lobby`, ref);
      return undefined;
    }
    if (to === p.id || !sees(p.mode, p.id, to)) {
      this.b.out.violation(s, ErrorCode.INVALID_PEER, `peer ${to} is not a peer you can address in lobby "${p.lobby}"`, ref);
      return undefined;
    }
    return p;
  }

  /** Redis said `to` is not a member: a peer that left is a normal race, an id never seen is probing. */
  private notMember(s: Session, p: LocalPeer, to: number, code: number, ref: string): void {
    if (s.isClosed) return;
    const msg = `peer ${to} is not a peer you can address in lobby "${p.lobby}"`;
    if (code === -1) this.b.out.reply(s, ErrorCode.INVALID_PEER, msg, ref);
    else this.b.out.violation(s, ErrorCode.INVALID_PEER, msg, ref);
  }

  relay(s: Session, to: number, out: ServerMessage & { from: number }, ref: string): void {
    const p = this.addressee(s, to, ref);
    if (!p) return;
    out.from = p.id;
    // Not tracked for stop(): the hot path; a relay lost at shutdown is a relay lost to a dying socket.
    this.b.store.relay(p.lobby, to, JSON.stringify(out)).then(
      (code) => {
        if (code >= 1) this.b.stats.relayed++;
        if (code === 3) this.b.stats.relayDropped++;
        if (code <= 0) this.notMember(s, p, to, code, ref);
      },
      () => void this.b.stats.relayDropped++,
    );
  }

  probe(s: Session, to: number): void {
    const p = this.addressee(s, to, 'probe');
    if (!p) return;
    this.b.track(this.b.store.probe(p.lobby, to, p.id).then((code) => code <= 0 && this.notMember(s, p, to, code, 'probe')));
  }

  seal(s: Session): void {
    const p = this.b.peerOf.get(s);
    if (!p) {
      this.b.out.violation(s, ErrorCode.INVALID_STATE, 'cannot seal before joining a lobby', 'seal');
      return;
    }
    if (p.id !== HOST_PEER_ID) {
      this.b.out.reply(s, ErrorCode.UNAUTHORIZED, 'only the lobby host (peer 1) may seal it', 'seal');
      return;
    }
    this.b.track(
      this.b.store.seal(p.lobby, p.id).then((r) => {
        if (r !== 1) return;
        this.b.emit('sealed', p.lobby);
        this.b.after(this.b.options.sealGraceMs, () => {
          this.b.track(this.b.store.close(p.lobby, p.epoch, 'sealed').then((closed) => closed && this.b.emit('lobby_closed', p.lobby, 'sealed')));
        });
      }),
    );
  }
}
