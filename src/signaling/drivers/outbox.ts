/**
 * Coalesced sending for the WebSocket server: frames sent to one socket during
 * one event-loop turn are written together at the end of the turn
 * (`setImmediate`), inside one `cork()`/`uncork()`, so the kernel sees one
 * `writev` per socket per turn instead of one per frame.
 * @module
 */
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';

/** One socket's pending frames. */
export interface OutboxSlot {
  ws: WebSocket;
  /** Frames waiting for the end of the turn; undefined when none. */
  out: string[] | undefined;
  /** Characters waiting in `out`. */
  outChars: number;
}

/** Frames waiting for the end of the event-loop turn, per socket. */
export class Outbox {
  private readonly due: OutboxSlot[] = [];
  private scheduled: ReturnType<typeof setImmediate> | undefined;

  constructor(
    /** Called before writing to a socket; false drops its frames (e.g. it was terminated as a slow consumer). */
    private readonly beforeWrite: (slot: OutboxSlot, chars: number) => boolean,
  ) {}

  /** Queue `text` for `slot`'s socket; written at the end of this turn. */
  send(slot: OutboxSlot, text: string): void {
    if (slot.out) {
      slot.out.push(text);
      slot.outChars += text.length;
      return;
    }
    slot.out = [text];
    slot.outChars = text.length;
    this.due.push(slot);
    this.scheduled ??= setImmediate(() => this.flush());
  }

  /** Write everything due now. */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const due = this.due.splice(0);
    for (const slot of due) this.write(slot);
  }

  /** Write `slot`'s waiting frames now (before its socket is closed, so they go first). */
  write(slot: OutboxSlot): void {
    const out = slot.out;
    if (!out) return;
    const chars = slot.outChars;
    slot.out = undefined;
    slot.outChars = 0;
    const ws = slot.ws;
    if (ws.readyState !== WebSocket.OPEN || !this.beforeWrite(slot, chars)) return;
    if (out.length === 1) {
      ws.send(out[0]!);
      return;
    }
    const socket = (ws as unknown as { _socket?: Duplex })._socket;
    socket?.cork();
    for (const text of out) ws.send(text);
    socket?.uncork();
  }

  /** Forget what is waiting (server closed). */
  clear(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    for (const slot of this.due.splice(0)) slot.out = undefined;
  }
}
