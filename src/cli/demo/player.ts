/**
 * A player of the demo's arena as every peer sees it.
 * @module
 */

/** One player: its peer id, short name and position. */
export interface Player {
  id: number;
  name: string;
  x: number;
  y: number;
}
