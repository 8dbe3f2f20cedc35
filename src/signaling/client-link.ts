/**
 * The signaling client's one link to the server: opening it (once, however
 * many callers wait for it), dropping it, and telling the current link's
 * callbacks from those of a link that was dropped or superseded. Every drop
 * and every close starts a new generation; older handlers are ignored.
 * @module
 */
import { ErrorCode, RtcmeshError } from '../errors.js';
import type { SignalingLink, SignalingLinkHandlers } from './client-types.js';
import { CloseCode } from './protocol.js';

/** What a {@link ClientLink} needs from the client that owns it. */
export interface ClientLinkOwner {
  /** Open a new link (see `BaseSignalingClient.openLink`). */
  open(handlers: SignalingLinkHandlers, signal: AbortSignal): Promise<SignalingLink>;
  /** A frame from the current link; `gen` is its generation (see {@link ClientLink.isCurrent}). */
  message(text: string, gen: number): void;
  /** The current link received an unusable frame. */
  invalid(reason: string): void;
  /** The current link closed (it is already forgotten). */
  closed(code: number, reason: string): void;
  /** True once the client is closed for good: a link that opens then is closed at once. */
  isClosed(): boolean;
}

/** @internal The link slot of a `BaseSignalingClient`. */
export class ClientLink {
  private opened: SignalingLink | undefined;
  private linking: Promise<SignalingLink> | undefined;
  private gen = 0;
  private abort: AbortController | undefined;

  constructor(private readonly owner: ClientLinkOwner) {}

  /** The open link, if any. */
  get current(): SignalingLink | undefined {
    return this.opened;
  }

  /** Whether `gen` is still the current generation (no drop or close since). */
  isCurrent(gen: number): boolean {
    return gen === this.gen;
  }

  /** The open link, the one being opened, or a new one. */
  ensure(): Promise<SignalingLink> {
    if (this.opened) return Promise.resolve(this.opened);
    if (this.linking) return this.linking;
    const gen = ++this.gen;
    const handlers: SignalingLinkHandlers = {
      message: (text) => {
        if (gen === this.gen) this.owner.message(text, gen);
      },
      invalid: (reason) => {
        if (gen === this.gen) this.owner.invalid(reason);
      },
      close: (code, reason) => {
        if (gen !== this.gen) return;
        this.gen++;
        this.opened = undefined;
        this.linking = undefined;
        this.owner.closed(code, reason);
      },
    };
    const abort = new AbortController();
    this.abort = abort;
    const p = this.owner.open(handlers, abort.signal).then(
      (link) => {
        if (this.abort === abort) this.abort = undefined;
        if (gen !== this.gen || this.owner.isClosed()) {
          link.close(CloseCode.NORMAL, 'superseded');
          throw new RtcmeshError(ErrorCode.CLOSED, 'the signaling client was closed while connecting');
        }
        this.linking = undefined;
        this.opened = link;
        return link;
      },
      (err: unknown) => {
        if (this.abort === abort) this.abort = undefined;
        if (gen === this.gen) {
          this.linking = undefined;
          this.gen++;
        }
        throw err;
      },
    );
    this.linking = p;
    return p;
  }

  /** Forget the link: abort one being opened, close the open one with `code` and `reason`. */
  drop(code: number, reason: string): void {
    this.gen++;
    const abort = this.abort;
    this.abort = undefined;
    abort?.abort();
    const link = this.opened;
    this.opened = undefined;
    this.linking = undefined;
    link?.close(code, reason);
  }
}
