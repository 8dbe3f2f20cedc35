/**
 * The offer/answer bookkeeping of one engine connection, kept in call order
 * (engines report their signaling state late and out of order): whether
 * negotiation started, whether an offer waits for its answer, the local
 * descriptions emitted, remote candidates that came before the remote
 * description, and the offerer's own candidates held until the answer.
 * @module
 */
import type { SdpType } from '../transport/engine.js';

/** A local ICE candidate, as `ice_candidate_created` reports it. */
export interface LocalCandidate {
  mid: string;
  index: number;
  candidate: string;
}

/** A remote ICE candidate waiting for the remote description. */
export interface RemoteCandidate {
  mid: string;
  candidate: string;
}

/** @internal Negotiation state of one engine connection (a fresh one for each `initialize()`). */
export class Negotiation {
  /** An offer was made or a remote description applied: no more channels, no other offer. */
  started = false;
  /** A remote description was applied: remote candidates go to the engine at once. */
  remoteDescriptionSet = false;
  /** We made an offer and have not applied an answer yet. Tracked here, not from the engine's (asynchronous) signaling state. */
  awaitingAnswer = false;
  /** The local descriptions emitted with `session_description_created`, by type. */
  emitted: Partial<Record<SdpType, string>> = {};
  /** Remote candidates that arrived before the remote description. */
  pendingCandidates: RemoteCandidate[] = [];
  /** Offerer's own candidates, held until the answer is applied (see {@link Negotiation.offering}). */
  private heldCandidates: LocalCandidate[] | undefined;

  /**
   * `createOffer()`: negotiation starts and an answer is awaited. The
   * offerer's candidates are held until the answer is applied: if the
   * answerer could reach us first, its DTLS hello would arrive before we
   * know its fingerprint, be dropped, and opening would wait for the DTLS
   * retransmit (~1 s). One signaling half-trip later they all go out.
   */
  offering(): void {
    this.started = true;
    this.heldCandidates = [];
    this.awaitingAnswer = true;
  }

  /** The engine refused the offer: back to the state before {@link Negotiation.offering}. */
  offerFailed(): void {
    this.started = false;
    this.heldCandidates = undefined;
    this.awaitingAnswer = false;
  }

  /** Hold a local candidate while the offer waits for its answer: false when not holding (send it now). */
  hold(candidate: LocalCandidate): boolean {
    if (!this.heldCandidates) return false;
    this.heldCandidates.push(candidate);
    return true;
  }

  /** The answer was applied: stop holding, and return the held candidates (to send now). */
  answered(): LocalCandidate[] {
    this.awaitingAnswer = false;
    const held = this.heldCandidates;
    this.heldCandidates = undefined;
    return held ?? [];
  }

  /** Hand over (and forget) the remote candidates that waited for the remote description. */
  takePendingCandidates(): RemoteCandidate[] {
    const pending = this.pendingCandidates;
    this.pendingCandidates = [];
    return pending;
  }
}
