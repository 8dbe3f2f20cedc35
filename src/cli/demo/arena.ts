/**
 * The demo's arena game: what the host, the bots and the browser page share
 * (no Node.js imports here; the page bundle pulls this in). Players and orbs
 * are replicated from the host (peer 1) with the sync layer; clients steer
 * with a stick sent through the sync input stream.
 * @module
 */
import { defineSchema, t, type Infer } from '../../core.js';
import { utf8Length } from '../../util/utf8.js';

export const ARENA_WIDTH = 640;
export const ARENA_HEIGHT = 400;
/** Game ticks (and snapshots) per second. */
export const TICK_RATE = 20;
/** Units a player moves per second at full stick. */
export const PLAYER_SPEED = 120;
/** Full stick on an input axis. */
export const STICK = 100;
/** A client sees the orbs within this distance of its player (every player, always). */
export const VIEW_RADIUS = 180;
/** Orbs the host spawns. */
export const ORB_COUNT = 120;

const coord = t.quant(0, ARENA_WIDTH, 0.1); // 0.1 unit grid: 13 bits, a few as a delta
/** Who is behind a player. */
export const KINDS = ['host', 'bot', 'person'] as const;
export type PlayerKind = (typeof KINDS)[number];

/** One player, replicated from the host to every peer. */
export const PlayerSchema = defineSchema('player', {
  peer: t.uint32,
  name: t.string(16),
  kind: t.enum(KINDS),
  pos: t.vec2(coord),
});
/** A drifting orb; each client gets only those near its player (SpatialInterest). */
export const OrbSchema = defineSchema('orb', { pos: t.vec2(coord), size: t.uint8 });
/** What a client sends each tick: a stick in −100..100 on each axis. */
export const InputSchema = defineSchema('input', { mx: t.int8, my: t.int8 });
/** Host and clients list the same schemas in the same order. */
export const SCHEMAS = [PlayerSchema, OrbSchema];

export type PlayerState = Infer<typeof PlayerSchema>;
export type StickInput = Infer<typeof InputSchema>;

/** A player as every peer lists it. */
export interface Player {
  id: number;
  name: string;
  kind: PlayerKind;
  x: number;
  y: number;
}

/** The listed form of a replicated player's state. */
export function playerOf(s: PlayerState): Player {
  return { id: s.peer, name: s.name, kind: s.kind, x: s.pos.x, y: s.pos.y };
}

/** Where one tick of `input` takes a player at `pos` (host and client prediction run the same rule). */
export function applyStick(pos: { x: number; y: number }, input: StickInput): { x: number; y: number } {
  let mx = input.mx / STICK;
  let my = input.my / STICK;
  const m = Math.hypot(mx, my);
  if (m > 1) {
    mx /= m;
    my /= m;
  }
  const step = PLAYER_SPEED / TICK_RATE;
  return { x: clamp(pos.x + mx * step, 0, ARENA_WIDTH), y: clamp(pos.y + my * step, 0, ARENA_HEIGHT) };
}

/** The stick that walks from `from` towards `to` (full speed, slower for the last step). */
export function stickToward(from: { x: number; y: number }, to: { x: number; y: number }): StickInput {
  const dx = to.x - from.x;
  const dy = to.y - from.y;
  const d = Math.hypot(dx, dy);
  if (d < 0.5) return { mx: 0, my: 0 };
  const scale = Math.min(1, d / (PLAYER_SPEED / TICK_RATE)) * STICK;
  return { mx: Math.round((dx / d) * scale), my: Math.round((dy / d) * scale) };
}

/** `v` held within `lo`..`hi`. */
export function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}

/** A name cut to the schema's 16 UTF-8 bytes. */
export function shortName(name: string): string {
  let s = name;
  while (utf8Length(s) > 16) s = s.slice(0, -1);
  return s;
}
