/**
 * Interest management: which objects each peer sees. A rule is a callback
 * ({@link visibleWhen}) or the built-in spatial grid ({@link SpatialInterest}).
 * Objects entering a peer's interest are spawned there with their current
 * values; objects leaving it are despawned there.
 * @module
 */
import { checkOptions, invalid } from '../util/validate.js';
import type { HostObject } from './host-object.js';
import type { Vec2 } from './schema.js';

/** Decides, each tick, which objects a peer sees. */
export interface InterestRule {
  /** Called once per tick before {@link collect} runs for each peer. */
  prepare?(objects: ReadonlyMap<number, HostObject<any>>): void;
  /** Call `add` for every object `peer` sees (each at most once). */
  collect(peer: number, objects: ReadonlyMap<number, HostObject<any>>, add: (obj: HostObject<any>) => void): void;
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
  /** Grid cell size. Default: `radius`. */
  cellSize?: number;
  /** Where an object is on the plane; `undefined` = everywhere (seen by every peer). */
  position: (obj: HostObject<any>) => Vec2 | undefined;
  /** Where a peer looks from; `undefined` = the peer sees only the objects without a position. */
  viewer: (peer: number) => Vec2 | undefined;
  /** Optional extra rule applied after the distance test (e.g. always see your own avatar: return true from `always`). */
  filter?: (peer: number, obj: HostObject<any>) => boolean;
  /** Objects a peer sees regardless of distance (its own avatar, say). */
  always?: (peer: number) => Iterable<HostObject<any>>;
}

const OFFSET = 2 ** 20;

/** Spatial interest on a uniform grid over the x/y plane, rebuilt once per tick. */
export class SpatialInterest implements InterestRule {
  private readonly cells = new Map<number, HostObject<any>[]>();
  private readonly used: HostObject<any>[][] = [];
  private readonly global: HostObject<any>[] = [];
  private readonly xs = new Map<HostObject<any>, Vec2>();
  private readonly radius: number;
  private readonly cell: number;
  private readonly seen = new Set<HostObject<any>>();

  constructor(private readonly options: SpatialInterestOptions) {
    const o = checkOptions<SpatialInterestOptions>(options, ['radius', 'cellSize', 'position', 'viewer', 'filter', 'always'], 'SpatialInterest options');
    if (typeof o.radius !== 'number' || !(o.radius > 0) || !Number.isFinite(o.radius)) invalid('SpatialInterest radius', 'a positive number', o.radius);
    if (o.cellSize !== undefined && (typeof o.cellSize !== 'number' || !(o.cellSize > 0) || !Number.isFinite(o.cellSize))) {
      invalid('SpatialInterest cellSize', 'a positive number', o.cellSize);
    }
    if (typeof o.position !== 'function') invalid('SpatialInterest position', 'a function (object) => { x, y } | undefined', o.position);
    if (typeof o.viewer !== 'function') invalid('SpatialInterest viewer', 'a function (peer) => { x, y } | undefined', o.viewer);
    if (o.filter !== undefined && typeof o.filter !== 'function') invalid('SpatialInterest filter', 'a function', o.filter);
    if (o.always !== undefined && typeof o.always !== 'function') invalid('SpatialInterest always', 'a function', o.always);
    this.radius = o.radius;
    this.cell = o.cellSize ?? o.radius;
  }

  private key(cx: number, cy: number): number {
    return (cx + OFFSET) * 2 ** 21 + (cy + OFFSET);
  }

  private cellOf(v: number): number {
    return Math.max(-OFFSET, Math.min(OFFSET - 1, Math.floor(v / this.cell)));
  }

  prepare(objects: ReadonlyMap<number, HostObject<any>>): void {
    for (const list of this.used) list.length = 0;
    this.used.length = 0;
    this.global.length = 0;
    this.xs.clear();
    for (const obj of objects.values()) {
      const p = this.options.position(obj);
      if (p === undefined) {
        this.global.push(obj);
        continue;
      }
      if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) continue;
      this.xs.set(obj, p);
      const k = this.key(this.cellOf(p.x), this.cellOf(p.y));
      let list = this.cells.get(k);
      if (list === undefined) this.cells.set(k, (list = []));
      if (list.length === 0) this.used.push(list);
      list.push(obj);
    }
    if (this.cells.size > 4 * objects.size + 64) {
      for (const [k, list] of this.cells) if (list.length === 0) this.cells.delete(k);
    }
  }

  collect(peer: number, _objects: ReadonlyMap<number, HostObject<any>>, add: (obj: HostObject<any>) => void): void {
    const filter = this.options.filter;
    const seen = this.seen;
    seen.clear();
    const emit = (obj: HostObject<any>) => {
      if (seen.has(obj)) return;
      seen.add(obj);
      add(obj);
    };
    for (const obj of this.global) if (filter === undefined || filter(peer, obj)) emit(obj);
    if (this.options.always !== undefined) for (const obj of this.options.always(peer)) if (obj.alive) emit(obj);
    const v = this.options.viewer(peer);
    if (v === undefined || !Number.isFinite(v.x) || !Number.isFinite(v.y)) return;
    const r = this.radius;
    const r2 = r * r;
    const x0 = this.cellOf(v.x - r);
    const x1 = this.cellOf(v.x + r);
    const y0 = this.cellOf(v.y - r);
    const y1 = this.cellOf(v.y + r);
    for (let cx = x0; cx <= x1; cx++) {
      for (let cy = y0; cy <= y1; cy++) {
        const list = this.cells.get(this.key(cx, cy));
        if (list === undefined) continue;
        for (const obj of list) {
          const p = this.xs.get(obj)!;
          const dx = p.x - v.x;
          const dy = p.y - v.y;
          if (dx * dx + dy * dy <= r2 && (filter === undefined || filter(peer, obj))) emit(obj);
        }
      }
    }
  }
}
