/**
 * How a bot plays: walk to a random point, pick another, repeat (no Node.js
 * imports here).
 * @module
 */
import type { RandomSource } from '../../core.js';
import { ARENA_HEIGHT, ARENA_WIDTH, stickToward, type StickInput } from './arena.js';

/** A bot's steering: the stick for its current position. */
export class BotBrain {
  private target: { x: number; y: number };

  constructor(private readonly random: RandomSource) {
    this.target = this.pick();
  }

  /** This tick's stick from `pos` (a new target once it is reached). */
  stick(pos: { x: number; y: number }): StickInput {
    if (Math.hypot(this.target.x - pos.x, this.target.y - pos.y) < 4) this.target = this.pick();
    return stickToward(pos, this.target);
  }

  private pick(): { x: number; y: number } {
    return { x: 20 + this.random.float() * (ARENA_WIDTH - 40), y: 20 + this.random.float() * (ARENA_HEIGHT - 40) };
  }
}
