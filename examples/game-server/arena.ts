/**
 * What the host and every client share: the schemas (same ones, same order on
 * every side) and the RPCs (registered on every peer).
 */
import { defineSchema, RpcEndpoint, t, type Infer, type MultiplayerPeer } from 'rtcmesh';

/** The arena is 100 m × 100 m around the origin. */
export const ARENA = 50;
/** Metres a player moves per processed input at full stick. */
export const SPEED = 0.25;

/** One player, replicated from the host to every client. */
export const Player = defineSchema('player', {
  peer: t.uint32, // the mesh id of the client it belongs to
  name: t.string(16),
  pos: t.vec2(t.quant(-ARENA, ARENA, 0.01)), // 1 cm grid: 14 bits per axis, less as a delta
});
/** What a client sends each frame: a stick direction. */
export const Input = defineSchema('input', { mx: t.int8, my: t.int8 });

export type PlayerState = Infer<typeof Player>;
export type InputState = Infer<typeof Input>;
export const SCHEMAS = [Player];

/** What a peer does with the arena's RPCs (the host handles `chat`, everyone `said`). */
export interface ArenaHandlers {
  chat?: (from: number, text: string) => void;
  said?: (from: number, text: string) => void;
}

/**
 * The RPCs of the arena, on top of the sync layer's own (`rtcmesh.sync`), on
 * the reliable channel: `chat` (any client → host) and `said` (host →
 * everyone; `'authority'`, so only the host may call it).
 */
export function arenaRpc(mesh: MultiplayerPeer, on: ArenaHandlers) {
  return new RpcEndpoint(mesh)
    .register('chat', (ctx, text: string) => on.chat?.(ctx.senderId, text), {
      mode: 'any_peer',
      validate: (args): args is [string] => typeof args[0] === 'string' && args[0].length <= 200,
    })
    .register('said', (_ctx, from: number, text: string) => on.said?.(from, text));
}
