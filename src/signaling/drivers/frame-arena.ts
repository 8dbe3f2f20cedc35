/**
 * One ring of bytes for the frames the inbox queues: a frame read into the
 * shared read buffer and queued is copied here instead of into a buffer of
 * its own.
 *
 * Frames are queued only under load, thousands at a time, each waiting a few
 * event-loop turns. Copied into buffers of their own (Node's 8 KiB pool),
 * they outlived young-generation collections, so their pool slabs were
 * promoted and freed only by full collections: under saturation the server
 * held megabytes of finished frames as external memory. The ring is one
 * allocation, reused in arrival order (frames leave the queue in the order
 * they entered it), so what queued frames hold is bounded by its size; a frame
 * that does not fit (the ring full, or a frame over a quarter of it) gets a
 * copy of its own as before.
 * @module
 */

/** A ring of bytes for frames taken out in the order they were put in. */
export class FrameArena {
  private buf: Buffer | undefined;
  /** Where the next frame goes. */
  private wr = 0;
  /** Start of the oldest frame still in the ring. */
  private rd = 0;
  /** The newest frames went back to the start: free space is `[wr, rd)`. */
  private wrapped = false;
  /** Frames in the ring. */
  private live = 0;

  /** `size`: bytes of the ring (allocated on the first frame put in). */
  constructor(readonly size: number) {}

  /** Copy `data` in: its offset, or -1 when it does not fit now (the caller keeps a copy of its own). */
  put(data: Buffer): number {
    const n = data.length;
    if (n === 0 || n > this.size >> 2) return -1;
    let at: number;
    if (!this.wrapped) {
      if (this.wr + n <= this.size) at = this.wr;
      else if (n <= this.rd) {
        at = 0;
        this.wrapped = true;
      } else return -1;
    } else if (this.wr + n <= this.rd) at = this.wr;
    else return -1;
    data.copy((this.buf ??= Buffer.allocUnsafeSlow(this.size)), at);
    this.wr = at + n;
    this.live++;
    return at;
  }

  /** The `n` bytes put in at `at` (valid until {@link release}d). */
  view(at: number, n: number): Buffer {
    return this.buf!.subarray(at, at + n);
  }

  /** Free the oldest frame (put in at `at`, `n` bytes). */
  release(at: number, n: number): void {
    if (--this.live === 0) {
      this.wr = this.rd = 0;
      this.wrapped = false;
      return;
    }
    if (this.wrapped && at < this.rd) this.wrapped = false; // the oldest frames are now those from the start
    this.rd = at + n;
  }

  /** Forget every frame. */
  clear(): void {
    this.wr = this.rd = this.live = 0;
    this.wrapped = false;
  }
}
