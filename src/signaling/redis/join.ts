/**
 * Joining and resuming on the Redis back end: token check, the authorize
 * hook, then one atomic Redis step (id allocation or resume), then the
 * `joined` reply and what waited for the peer.
 * @module
 */
import { ErrorCode } from '../../errors.js';
import { randomHex } from '../../util/sans-io.js';
import type { AuthorizeResult } from '../core-types.js';
import type { CoreCounters, Session } from '../core-model.js';
import { keyEquals, type JoinMessage } from '../core-join.js';
import { CloseCode, MAX_SIGNALING_PEER_ID, MIN_SIGNALING_PEER_ID, PROTOCOL_VERSION, type LobbyMode, type ServerMessage } from '../protocol.js';
import type { ResumeIdentity, TokenIssuer } from '../tokens.js';
import type { LocalPeer, RedisBackendContext } from './context.js';

/** Random ids offered to the allocation script per attempt. */
const CANDIDATES = 8;
const ATTEMPTS = 4;
/** How often a joiner waiting for its host looks for the lobby again (ms). */
const HOST_POLL_MS = 200;

const UNREACHABLE = 'the signaling state store (Redis) is unreachable; retry in a moment';

/** Handles `join` on the Redis back end. */
export class RedisJoins {
  constructor(
    private readonly b: RedisBackendContext,
    private readonly tokens: TokenIssuer,
    private readonly stats: CoreCounters,
  ) {}

  async join(s: Session, m: JoinMessage): Promise<void> {
    const { b } = this;
    if (b.peerOf.has(s) || s.joining) {
      b.out.refuseJoin(s, ErrorCode.INVALID_STATE, 'already in a lobby (or joining); send leave first');
      return;
    }
    let identity: ResumeIdentity | undefined;
    if (m.resume !== undefined) {
      identity = this.tokens.verify(m.resume);
      if (!identity) {
        b.out.refuseJoin(s, ErrorCode.RESUME_FAILED, 'resume token is invalid or expired; join again without resume');
        return;
      }
    }
    const host = m.host === true && !identity;
    if (host && b.options.hostKey !== undefined && !keyEquals(m.hostKey, b.options.hostKey)) {
      b.out.refuseJoin(s, ErrorCode.UNAUTHORIZED, `host join refused: ${m.hostKey === undefined ? 'this server requires a host key' : 'wrong host key'}`);
      return;
    }
    const name = identity?.lobby ?? (m.lobby ? m.lobby : randomHex(b.options.random, 16));
    s.joining = true;
    b.inFlight++;
    try {
      let data: unknown;
      if (b.options.authorize) {
        const verdict = await this.authorize(s, m, name, identity);
        if (s.isClosed) return;
        if (!verdict.allow) {
          b.out.refuseJoin(s, ErrorCode.UNAUTHORIZED, `join refused: ${verdict.reason}`);
          return;
        }
        data = verdict.data;
      }
      if (identity) await this.resume(s, identity, data);
      else await this.fresh(s, name, m.mode ?? 'mesh', data, host, this.mayCreate(m), Math.min(m.waitForHostMs ?? 0, b.options.maxWaitForHostMs));
    } catch {
      if (!s.isClosed) b.out.refuseJoin(s, ErrorCode.TIMEOUT, UNREACHABLE);
    } finally {
      s.joining = false;
      b.settled();
    }
  }

  /**
   * Whether a fresh join may create an absent lobby: a host join always; not a
   * join-only one (`create: false`, `waitForHostMs`), nor a `client_server`
   * one under `clientServerJoinOnly`.
   */
  private mayCreate(m: JoinMessage): boolean {
    if (m.host === true) return true;
    if (m.create === false || m.waitForHostMs !== undefined) return false;
    return !(this.b.options.clientServerJoinOnly && m.mode === 'client_server');
  }

  /**
   * A fresh join. A join-only joiner of an absent lobby with `waitMs` looks
   * again every {@link HOST_POLL_MS} (deadlines of the back end, no timer) until
   * its host created the lobby or `waitMs` passed.
   */
  private async fresh(s: Session, name: string, mode: LobbyMode, data: unknown, host: boolean, create: boolean, waitMs: number): Promise<void> {
    const { b } = this;
    const epoch = randomHex(b.options.random, 8);
    const giveUpAt = b.options.clock.now() + waitMs;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const candidates = Array.from({ length: CANDIDATES }, () => b.options.random.int(MIN_SIGNALING_PEER_ID, MAX_SIGNALING_PEER_ID));
      const r = await b.store.join(name, mode, epoch, create, host, candidates);
      if (!r.ok) {
        if (r.reason === 'retry') continue;
        if (s.isClosed) return;
        if (r.reason === 'not_found' && b.options.clock.now() < giveUpAt) {
          b.waitingForHost++;
          await new Promise<void>((resolve) => b.after(Math.min(HOST_POLL_MS, giveUpAt - b.options.clock.now()), resolve));
          b.waitingForHost--;
          if (s.isClosed) return;
          attempt--;
          continue;
        }
        const absent = waitMs > 0 ? `was not created within ${waitMs} ms` : 'does not exist';
        if (r.reason === 'not_found') b.out.refuseJoin(s, ErrorCode.LOBBY_NOT_FOUND, `lobby "${name}" ${absent}; its host creates it`);
        else if (r.reason === 'host_taken') b.out.refuseJoin(s, ErrorCode.HOST_TAKEN, `lobby "${name}" already has a host (id 1)`);
        else if (r.reason === 'sealed') b.out.refuseJoin(s, ErrorCode.LOBBY_SEALED, `lobby "${name}" is sealed and accepts no new peers`);
        else if (r.reason === 'full') b.out.refuseJoin(s, ErrorCode.LOBBY_FULL, `lobby "${name}" is full (${b.options.maxPeersPerLobby} peers)`);
        else b.out.refuseJoin(s, ErrorCode.SERVER_FULL, `the server has its maximum of ${b.options.maxLobbies} lobbies; try later`);
        return;
      }
      const p: LocalPeer = { lobby: name, id: r.id, epoch: r.epoch, mode: r.mode, data };
      this.stats.joins++;
      if (r.created) b.emit('lobby_created', name, r.mode);
      if (s.isClosed) {
        b.detachOrRemove(p); // its socket closed while Redis answered
        return;
      }
      this.reply(s, p, r.others, false, r.sealed, !r.partial);
      b.register(s, p);
      b.emit('peer_joined', name, p.id, { remote: s.io.remote, resumed: false, data });
      return;
    }
    if (!s.isClosed) b.out.refuseJoin(s, ErrorCode.SERVER_FULL, `could not allocate a peer id in lobby "${name}"; try again`);
  }

  private async resume(s: Session, identity: ResumeIdentity, data: unknown): Promise<void> {
    const { b } = this;
    const name = identity.lobby;
    const r = await b.store.resume(name, identity.epoch, identity.id, identity.mode);
    if (!r.ok) {
      if (s.isClosed) return;
      if (r.reason === 'full') b.out.refuseJoin(s, ErrorCode.LOBBY_FULL, `lobby "${name}" is full (${b.options.maxPeersPerLobby} peers)`);
      else if (r.reason === 'server_full') b.out.refuseJoin(s, ErrorCode.SERVER_FULL, `the server has its maximum of ${b.options.maxLobbies} lobbies; try later`);
      else if (r.reason === 'gone') {
        b.out.refuseJoin(s, ErrorCode.RESUME_FAILED, `peer ${identity.id} already left lobby "${name}" (or did not resume in time); join again without resume`);
      } else b.out.refuseJoin(s, ErrorCode.RESUME_FAILED, `lobby "${name}" was closed; join again without resume`);
      return;
    }
    const p: LocalPeer = { lobby: name, id: identity.id, epoch: identity.epoch, mode: r.mode, data };
    this.stats.resumes++;
    b.cancelGrace(name, p.id);
    if (r.created) {
      b.emit('lobby_created', name, r.mode);
      this.awaitMembers(name, identity.epoch);
    }
    // Resumed on this very process while its old socket is still open: that one is replaced.
    const old = b.attached.get(`${name}\n${p.id}`);
    if (old && old !== s) {
      b.unregister(old);
      b.armJoinTimer(old);
      b.out.safeClose(old, CloseCode.REPLACED, 'resumed on another connection');
    }
    if (s.isClosed) {
      b.detachOrRemove(p);
      return;
    }
    this.reply(s, p, r.others, true, r.sealed, !r.partial);
    for (const text of r.queued) b.out.safeSend(s, text);
    b.register(s, p);
    b.emit('peer_joined', name, p.id, { remote: s.io.remote, resumed: true, data });
  }

  private reply(s: Session, p: LocalPeer, others: number[], resumed: boolean, sealed: boolean, complete: boolean): void {
    this.b.out.send(s, {
      type: 'joined',
      lobby: p.lobby,
      id: p.id,
      mode: p.mode,
      peers: others,
      token: this.tokens.issue({ lobby: p.lobby, epoch: p.epoch, id: p.id, mode: p.mode }),
      resumed,
      sealed,
      complete,
      version: PROTOCOL_VERSION,
    } satisfies ServerMessage);
  }

  /**
   * A lobby recreated from a token (Redis lost it): members have
   * `resumeGraceMs` to come back, then its list is authoritative and every
   * member gets a roster.
   */
  awaitMembers(lobby: string, epoch: string): void {
    const { b } = this;
    if (b.options.resumeGraceMs <= 0) return;
    b.after(b.options.resumeGraceMs, () => void b.track(b.store.complete(lobby, epoch)));
  }

  /** Ask the authorize hook (with a non-atomic look at the lobby); a throw or a malformed verdict denies. */
  private async authorize(s: Session, m: JoinMessage, name: string, identity: ResumeIdentity | undefined): Promise<{ allow: boolean; reason: string; data: unknown }> {
    const hook = this.b.options.authorize!;
    const info = await this.b.store.lobbyInfo(name);
    let verdict: AuthorizeResult;
    try {
      verdict = await hook(
        {
          auth: m.auth,
          resume: identity !== undefined,
          host: m.host === true && !identity,
          ...(m.hostKey !== undefined ? { hostKey: m.hostKey } : {}),
          ...(identity ? { id: identity.id } : {}),
          remote: s.io.remote,
          ...(s.io.origin !== undefined ? { origin: s.io.origin } : {}),
          headers: s.io.headers ?? {},
        },
        {
          name,
          mode: info?.mode ?? identity?.mode ?? m.mode ?? 'mesh',
          peers: info?.peers ?? 0,
          sealed: info?.sealed ?? false,
          creating: !info,
          hasHost: info?.hasHost ?? false,
        },
      );
    } catch {
      verdict = { allow: false, reason: 'authorization failed' };
    }
    const allow = typeof verdict === 'boolean' ? verdict : verdict?.allow === true;
    const reason = typeof verdict === 'object' && verdict && typeof verdict.reason === 'string' ? verdict.reason : 'not authorized';
    return { allow, reason, data: typeof verdict === 'object' && verdict ? verdict.data : undefined };
  }
}
