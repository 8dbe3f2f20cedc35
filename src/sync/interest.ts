/**
 * Interest management: which objects each peer sees. A rule is a callback
 * ({@link visibleWhen}) or the built-in spatial grid ({@link SpatialInterest}).
 * Objects entering a peer's interest are spawned there with their current
 * values; objects leaving it are despawned there.
 * @module
 */
import { checkOptions, invalid } from '../util/validate.js';
import type { HostObject } from './host-object.js';
import type { Schema, Vec2 } from './schema.js';

/** Decides, each tick, which objects a peer sees. */
export interface InterestRule {
  /** Called once per tick before {@link collect} runs for each peer. */
  prepare?(objects: ReadonlyMap<number, HostObject<any>>): void;
  /** Call `add` for every object `peer` sees (each at most once). */
  collect(peer: number, objects: ReadonlyMap<number, HostObject<any>>, add: (obj: HostObject<any>) => void): void;
  /**
   * Optional fast path, tried (after {@link prepare}) before {@link collect}
   * once `peer` has been collected: bring `peer`'s visibility up to date
   * from only the objects that changed (or spawned) this tick. Set
   * `visible[i]` to 1 when `peer` sees `changed[i]`, else 0; call `add` /
   * `drop` for any other object whose visibility changed; every other object
   * keeps its visibility. Return false (having changed nothing) when that is
   * not valid this tick (say the viewer moved); the host then calls
   * {@link collect}.
   */
  update?(peer: number, changed: readonly HostObject<any>[], visible: Uint8Array, add: (obj: HostObject<any>) => void, drop: (obj: HostObject<any>) => void): boolean;
  /** The host forgot `peer` (it left): drop anything kept for it. */
  forget?(peer: number): void;
}

/** An interest rule from a per-peer, per-object predicate. */
export function visibleWhen(visible: (peer: number, obj: HostObject<any>) => boolean): InterestRule {
  if (typeof visible !== 'function') invalid('visibleWhen predicate', 'a function (peer, object) => boolean', visible);
  return {
    collect(peer, objects, add) {
      for (const obj of objects.values()) if (visible(peer, obj)) add(obj);
    },
  };
}

/** Options of {@link SpatialInterest}. */
export interface SpatialInterestOptions {
  /** A peer sees objects within this distance of its viewpoint. */
  radius: number;
  /** Grid cell size. Default: `radius` / 4. */
  cellSize?: number;
  /**
   * Where an object is on the x/y plane: the name of a vec2/vec3 field (the
   * fast path; objects of schemas without it are seen everywhere), or a
   * function returning `{ x, y }`, or `undefined` for "everywhere" (seen by every peer).
   */
  position: string | ((obj: HostObject<any>) => Vec2 | undefined);
  /** Where a peer looks from; `undefined` = the peer sees only the objects without a position. */
  viewer: (peer: number) => Vec2 | undefined;
  /** Optional extra rule applied after the distance test. */
  filter?: (peer: number, obj: HostObject<any>) => boolean;
  /** Objects a peer sees regardless of distance (its own avatar, say). */
  always?: (peer: number) => Iterable<HostObject<any>>;
}

const MAX_CELLS = 1 << 20;

/** What a peer looked from when its visibility was last computed. */
interface ViewerMemo {
  defined: boolean;
  x: number;
  y: number;
  /** Objects `always` gave then (re-tested when they leave that list). */
  always: HostObject<any>[];
}

const POSITIONED = 0;
const GLOBAL = 1;
const NOWHERE = 2;

/** Most `always` objects per peer the incremental path handles (more: full query). */
const MAX_ALWAYS = 16;

/** Whether a viewer position is a point to measure from (else the peer sees only unpositioned objects). */
function placed(v: Vec2 | undefined): v is Vec2 {
  return v !== undefined && Number.isFinite(v.x) && Number.isFinite(v.y);
}

/**
 * Spatial interest on a uniform grid over the x/y plane, rebuilt (lazily,
 * when some peer needs a full query) once per tick by a counting sort, then
 * queried per peer. Incremental: a peer whose viewpoint did not move is
 * updated from only the objects that changed this tick (when `position` is a
 * field name and there is no `filter`, whose answers may change at any time).
 */
export class SpatialInterest implements InterestRule {
  private readonly radius: number;
  private readonly cell: number;
  private readonly field: string | undefined;
  private readonly offsets = new Map<Schema<any>, number>();
  // Grid of the current tick, objects sorted by cell.
  private xs = new Float64Array(0);
  private ys = new Float64Array(0);
  private objs: HostObject<any>[] = [];
  private cellOf = new Int32Array(0);
  private start = new Int32Array(0);
  private sortedX = new Float64Array(0);
  private sortedY = new Float64Array(0);
  private sorted: HostObject<any>[] = [];
  private readonly global: HostObject<any>[] = [];
  private n = 0;
  private nx = 0;
  private ny = 0;
  private minX = 0;
  private minY = 0;
  private size = 1;
  /** The grid is out of date (objects may have moved since it was built). */
  private stale = true;
  private readonly viewers = new Map<number, ViewerMemo>();
  // This tick's changed objects (see update): positions and kinds, read once.
  private changedFor: readonly HostObject<any>[] | undefined;
  private changedCount = 0;
  private changedStale = true;
  private cx = new Float64Array(0);
  private cy = new Float64Array(0);
  private ck = new Uint8Array(0);

  constructor(private readonly options: SpatialInterestOptions) {
    const o = checkOptions<SpatialInterestOptions>(options, ['radius', 'cellSize', 'position', 'viewer', 'filter', 'always'], 'SpatialInterest options');
    if (typeof o.radius !== 'number' || !(o.radius > 0) || !Number.isFinite(o.radius)) invalid('SpatialInterest radius', 'a positive number', o.radius);
    if (o.cellSize !== undefined && (typeof o.cellSize !== 'number' || !(o.cellSize > 0) || !Number.isFinite(o.cellSize))) {
      invalid('SpatialInterest cellSize', 'a positive number', o.cellSize);
    }
    if (typeof o.position !== 'function' && typeof o.position !== 'string') invalid('SpatialInterest position', 'a vec2/vec3 field name or a function (object) => { x, y } | undefined', o.position);
    if (typeof o.viewer !== 'function') invalid('SpatialInterest viewer', 'a function (peer) => { x, y } | undefined', o.viewer);
    if (o.filter !== undefined && typeof o.filter !== 'function') invalid('SpatialInterest filter', 'a function', o.filter);
    if (o.always !== undefined && typeof o.always !== 'function') invalid('SpatialInterest always', 'a function', o.always);
    this.radius = o.radius;
    this.cell = o.cellSize ?? o.radius / 4;
    this.field = typeof o.position === 'string' ? o.position : undefined;
  }

  /** Slot offset of the position field in `schema`, or −1 when it has none. */
  private offset(schema: Schema<any>): number {
    let off = this.offsets.get(schema);
    if (off === undefined) {
      off = -1;
      if (schema.fieldNames.includes(this.field!)) {
        const f = schema.field(this.field!);
        if (f.type.leaves.length >= 2 && f.type.leaves.length <= 3 && f.type.leaves.every((l) => l.interpolate || l.coded !== undefined)) off = f.offset;
      }
      this.offsets.set(schema, off);
    }
    return off;
  }

  /** A new tick: the grid is rebuilt at the next full query; changed positions are read again. */
  prepare(_objects: ReadonlyMap<number, HostObject<any>>): void {
    this.stale = true;
    this.changedStale = true;
  }

  /** Forget what `peer` looked from (it left). */
  forget(peer: number): void {
    this.viewers.delete(peer);
  }

  /**
   * Incremental update (see {@link InterestRule.update}): valid when
   * `position` is a field name, there is no `filter`, the peer's viewpoint is
   * exactly where it was at its last query, and `always` gives at most 16
   * objects; then only this tick's changed objects are tested.
   */
  update(peer: number, changed: readonly HostObject<any>[], visible: Uint8Array, add: (obj: HostObject<any>) => void, drop: (obj: HostObject<any>) => void): boolean {
    if (this.field === undefined || this.options.filter !== undefined) return false;
    const memo = this.viewers.get(peer);
    if (memo === undefined) return false;
    const v = this.options.viewer(peer);
    const defined = placed(v);
    if (defined !== memo.defined || (defined && (v.x !== memo.x || v.y !== memo.y))) return false;
    const always = this.options.always;
    let now: HostObject<any>[] | undefined;
    if (always !== undefined) {
      now = [];
      for (const obj of always(peer)) {
        if (now.length === MAX_ALWAYS) return false;
        now.push(obj);
      }
    }
    if (this.changedFor !== changed || this.changedCount !== changed.length || this.changedStale) this.readChanged(changed);
    const n = changed.length;
    const cx = this.cx;
    const cy = this.cy;
    const ck = this.ck;
    const r2 = this.radius * this.radius;
    const vx = memo.x;
    const vy = memo.y;
    for (let i = 0; i < n; i++) {
      const k = ck[i]!;
      if (k === POSITIONED && defined) {
        const dx = cx[i]! - vx;
        const dy = cy[i]! - vy;
        visible[i] = dx * dx + dy * dy <= r2 ? 1 : 0;
      } else visible[i] = k === GLOBAL ? 1 : 0;
    }
    if (now === undefined) return true;
    const at = (obj: HostObject<any>): number => {
      for (let i = 0; i < n; i++) if (changed[i] === obj) return i;
      return -1;
    };
    for (const obj of memo.always) {
      if (now.includes(obj) || !obj.alive || at(obj) >= 0) continue;
      // Left the always list without changing: seen only if within the radius.
      const off = this.offset(obj.schema);
      if (off < 0) continue; // no position: seen by everyone
      const dx = (obj.slots[off] as number) - vx;
      const dy = (obj.slots[off + 1] as number) - vy;
      if (!(defined && dx * dx + dy * dy <= r2)) drop(obj);
    }
    for (const obj of now) {
      if (!obj.alive) continue;
      const i = at(obj);
      if (i >= 0) visible[i] = 1;
      else add(obj);
    }
    memo.always = now;
    return true;
  }

  /** Positions of this tick's changed objects, read once for every peer. */
  private readChanged(changed: readonly HostObject<any>[]): void {
    const n = changed.length;
    if (this.cx.length < n) {
      this.cx = new Float64Array(n * 2);
      this.cy = new Float64Array(n * 2);
      this.ck = new Uint8Array(n * 2);
    }
    let lastSchema: Schema<any> | undefined;
    let off = -1;
    for (let i = 0; i < n; i++) {
      const obj = changed[i]!;
      if (obj.schema !== lastSchema) {
        lastSchema = obj.schema;
        off = this.offset(lastSchema);
      }
      if (off < 0) {
        this.ck[i] = GLOBAL;
        continue;
      }
      const x = obj.slots[off] as number;
      const y = obj.slots[off + 1] as number;
      this.cx[i] = x;
      this.cy[i] = y;
      this.ck[i] = Number.isFinite(x) && Number.isFinite(y) ? POSITIONED : NOWHERE;
    }
    this.changedFor = changed;
    this.changedCount = n;
    this.changedStale = false;
  }

  /** Remember what `peer` looked from (the next tick may then be incremental). */
  private remember(peer: number, v: Vec2 | undefined, always: HostObject<any>[] | undefined): void {
    const defined = placed(v);
    let memo = this.viewers.get(peer);
    if (memo === undefined) this.viewers.set(peer, (memo = { defined, x: 0, y: 0, always: [] }));
    memo.defined = defined;
    memo.x = defined ? v.x : 0;
    memo.y = defined ? v.y : 0;
    memo.always = always ?? [];
  }

  private build(objects: ReadonlyMap<number, HostObject<any>>): void {
    this.stale = false;
    const cap = objects.size;
    if (this.xs.length < cap) {
      this.xs = new Float64Array(cap * 2);
      this.ys = new Float64Array(cap * 2);
      this.cellOf = new Int32Array(cap * 2);
      this.sortedX = new Float64Array(cap * 2);
      this.sortedY = new Float64Array(cap * 2);
    }
    this.global.length = 0;
    const objs = this.objs;
    objs.length = 0;
    let n = 0;
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    const fn = typeof this.options.position === 'function' ? this.options.position : undefined;
    for (const obj of objects.values()) {
      let x: number;
      let y: number;
      if (fn !== undefined) {
        const p = fn(obj);
        if (p === undefined) {
          this.global.push(obj);
          continue;
        }
        x = p.x;
        y = p.y;
      } else {
        const off = this.offset(obj.schema);
        if (off < 0) {
          this.global.push(obj);
          continue;
        }
        x = obj.slots[off] as number;
        y = obj.slots[off + 1] as number;
      }
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      this.xs[n] = x;
      this.ys[n] = y;
      objs.push(obj);
      n++;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
    this.n = n;
    if (n === 0) {
      this.nx = this.ny = 0;
      return;
    }
    let size = this.cell;
    while (Math.floor((maxX - minX) / size + 1) * Math.floor((maxY - minY) / size + 1) > Math.min(MAX_CELLS, 4 * n + 1024)) size *= 2;
    const nx = Math.floor((maxX - minX) / size) + 1;
    const ny = Math.floor((maxY - minY) / size) + 1;
    this.nx = nx;
    this.ny = ny;
    this.minX = minX;
    this.minY = minY;
    this.size = size;
    const cells = nx * ny;
    if (this.start.length < cells + 1) this.start = new Int32Array(cells + 1);
    const start = this.start;
    start.fill(0, 0, cells + 1);
    for (let i = 0; i < n; i++) {
      const c = Math.floor((this.ys[i]! - minY) / size) * nx + Math.floor((this.xs[i]! - minX) / size);
      this.cellOf[i] = c;
      start[c + 1]!++;
    }
    for (let c = 0; c < cells; c++) start[c + 1]! += start[c]!;
    const fill = this.cellOf; // reuse: next free position per cell, computed below
    const sorted = this.sorted;
    sorted.length = n;
    const next = new Int32Array(start.subarray(0, cells));
    for (let i = 0; i < n; i++) {
      const k = next[fill[i]!]!++;
      this.sortedX[k] = this.xs[i]!;
      this.sortedY[k] = this.ys[i]!;
      sorted[k] = objs[i]!;
    }
  }

  collect(peer: number, objects: ReadonlyMap<number, HostObject<any>>, add: (obj: HostObject<any>) => void): void {
    if (this.stale) this.build(objects);
    const filter = this.options.filter;
    for (const obj of this.global) if (filter === undefined || filter(peer, obj)) add(obj);
    let always: HostObject<any>[] | undefined;
    if (this.options.always !== undefined) {
      always = [...this.options.always(peer)];
      for (const obj of always) if (obj.alive) add(obj);
    }
    const v = this.options.viewer(peer);
    // The next tick may be incremental only with a field position and a short `always` list.
    if (this.field !== undefined && (always === undefined || always.length <= MAX_ALWAYS)) this.remember(peer, v, always);
    else this.viewers.delete(peer);
    if (!placed(v) || this.n === 0) return;
    const r = this.radius;
    const r2 = r * r;
    const size = this.size;
    const nx = this.nx;
    const x0 = Math.max(0, Math.floor((v.x - r - this.minX) / size));
    const x1 = Math.min(nx - 1, Math.floor((v.x + r - this.minX) / size));
    const y0 = Math.max(0, Math.floor((v.y - r - this.minY) / size));
    const y1 = Math.min(this.ny - 1, Math.floor((v.y + r - this.minY) / size));
    const start = this.start;
    const xs = this.sortedX;
    const ys = this.sortedY;
    const sorted = this.sorted;
    for (let cy = y0; cy <= y1; cy++) {
      // The circle's extent within this row of cells: only those cells are scanned.
      const yl = this.minY + cy * size;
      const dy0 = v.y < yl ? yl - v.y : v.y > yl + size ? v.y - yl - size : 0;
      const half = Math.sqrt(Math.max(0, r2 - dy0 * dy0));
      const rx0 = Math.max(x0, Math.floor((v.x - half - this.minX) / size));
      const rx1 = Math.min(x1, Math.floor((v.x + half - this.minX) / size));
      if (rx1 < rx0) continue;
      // Cells of one row are contiguous in the sorted order.
      const from = start[cy * nx + rx0]!;
      const to = start[cy * nx + rx1 + 1]!;
      for (let k = from; k < to; k++) {
        const dx = xs[k]! - v.x;
        const dy = ys[k]! - v.y;
        if (dx * dx + dy * dy <= r2) {
          const obj = sorted[k]!;
          if (filter === undefined || filter(peer, obj)) add(obj);
        }
      }
    }
  }
}
