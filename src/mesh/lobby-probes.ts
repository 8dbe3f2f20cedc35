/**
 * Liveness checks of a lobby mesh: a link silent for long enough has its
 * peer asked about through signaling (`probe`, protocol 2), before the
 * heartbeat timeout decides, so a peer that vanished (process killed, cable
 * cut) is given up at once instead of reconnected to. Sans-IO: times come in
 * as `now`, and {@link LobbyProbes.deadline} is part of the lobby's
 * `nextDeadline()`.
 * @module
 */
import type { LobbySignaling } from './lobby-signaling.js';

/** Probes start this much before `heartbeatTimeoutMs − livenessTimeoutMs` of silence: room for the tick. */
const PROBE_LEAD_MS = 100;

/** One liveness check under way (or answered). */
export interface Probe {
  sentAt: number;
  answered: boolean;
}

/** What the checks read of their lobby mesh. */
export interface ProbeContext {
  readonly signaling: LobbySignaling;
  /** `livenessTimeoutMs` of the lobby (0: no checks). */
  readonly livenessTimeoutMs: number;
  /** The lobby's members (ids announced by signaling). */
  members(): Iterable<number>;
  /** Signaling announced `id` detached (known gone). */
  isDetached(id: number): boolean;
  /** When the link to `id` was last heard from; undefined while it is not up. */
  lastHeard(id: number): number | undefined;
  /** The mesh's heartbeat silence limit (ms; 0 = none). */
  silenceMs(): number;
  /** Signaling is attached (the lobby was joined and not left). */
  attached(): boolean;
}

/** The liveness checks of one lobby mesh. */
export class LobbyProbes {
  private readonly probes = new Map<number, Probe>();

  constructor(private readonly ctx: ProbeContext) {}

  /** The check of `id`, if one was sent. */
  get(id: number): Probe | undefined {
    return this.probes.get(id);
  }

  /** `id` signaled or answered: it is there. */
  answered(id: number): void {
    const probe = this.probes.get(id);
    if (probe) probe.answered = true;
  }

  /** Forget the check of `id`. */
  delete(id: number): void {
    this.probes.delete(id);
  }

  /** Forget every check. */
  clear(): void {
    this.probes.clear();
  }

  /** Forget the checks of peers the mesh no longer has. */
  prune(hasPeer: (id: number) => boolean): void {
    for (const id of this.probes.keys()) if (!hasPeer(id)) this.probes.delete(id);
  }

  /** Ask signaling whether `id` is still there (not when it is known gone). */
  send(id: number, now: number): void {
    if (this.ctx.isDetached(id)) return; // known gone: nothing to ask
    let sent = false;
    try {
      sent = this.ctx.signaling.probe?.(id) === true;
    } catch {
      // a custom client that refuses: treated as unable to ask
    }
    if (sent) this.probes.set(id, { sentAt: now, answered: false });
    else this.probes.delete(id);
  }

  /** Silence (ms) after which a link's peer is asked about through signaling; 0 = never. */
  silence(): number {
    const liveness = this.ctx.livenessTimeoutMs;
    const silence = this.ctx.silenceMs();
    if (liveness <= 0 || silence <= 0 || !this.ctx.attached()) return 0;
    return Math.max(silence / 2, silence - liveness - PROBE_LEAD_MS);
  }

  /** Ask signaling about peers whose links have been silent long enough (before the heartbeat timeout decides). */
  checkSilent(now: number): void {
    const askAt = this.silence();
    if (askAt <= 0) return;
    for (const id of this.ctx.members()) {
      const heard = this.ctx.lastHeard(id);
      if (heard === undefined) continue; // not up: connecting, or reconnecting with its check under way
      if (now - heard < askAt) this.probes.delete(id);
      else if (!this.probes.has(id)) this.send(id, now);
    }
  }

  /** The soonest time a check is due or an unanswered one expires (Infinity: none). */
  deadline(): number {
    const liveness = this.ctx.livenessTimeoutMs;
    let at = Infinity;
    if (liveness <= 0) return at;
    for (const p of this.probes.values()) if (!p.answered) at = Math.min(at, p.sentAt + liveness);
    const askAt = this.silence();
    if (askAt > 0) {
      for (const id of this.ctx.members()) {
        const heard = this.ctx.lastHeard(id);
        if (heard !== undefined && !this.probes.has(id)) at = Math.min(at, heard + askAt);
      }
    }
    return at;
  }
}
