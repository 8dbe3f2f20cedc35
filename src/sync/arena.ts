/**
 * One growable typed array that many small per-object buffers are carved
 * from (a client's replica histories and sample rings then live in a few
 * allocations instead of thousands: fewer cache misses per update). Blocks
 * freed are reused by size. Offsets stay valid when the buffer grows; the
 * buffer itself is replaced, so read {@link BlockArena.buf} each time.
 * @module
 */

/** A typed array an arena can be made of. */
export type ArenaArray = Int32Array | Float64Array;

export class BlockArena<A extends ArenaArray> {
  buf: A;
  private top = 0;
  private readonly freeBySize = new Map<number, number[]>();

  constructor(private readonly make: (length: number) => A) {
    this.buf = make(4096);
  }

  /** Offset of a block of `size` elements (zeroed only when new, not when reused). */
  alloc(size: number): number {
    const free = this.freeBySize.get(size);
    if (free !== undefined && free.length > 0) return free.pop()!;
    if (this.top + size > this.buf.length) {
      const next = this.make(Math.max(this.buf.length * 2, this.top + size));
      next.set(this.buf.subarray(0, this.top) as never);
      this.buf = next;
    }
    const at = this.top;
    this.top += size;
    return at;
  }

  /** Give a block back. */
  release(at: number, size: number): void {
    let free = this.freeBySize.get(size);
    if (free === undefined) this.freeBySize.set(size, (free = []));
    free.push(at);
  }
}

/** An arena of int32 blocks (baseline histories). */
export const int32Arena = (): BlockArena<Int32Array> => new BlockArena((n) => new Int32Array(n));
/** An arena of float64 blocks (interpolation samples). */
export const float64Arena = (): BlockArena<Float64Array> => new BlockArena((n) => new Float64Array(n));
