/**
 * Messages a demo peer process sends its parent over the IPC channel.
 * @module
 */
import type { GameCounters } from './chat.js';
import type { LinkRow } from './link-report.js';
import type { SyncRow } from './sync-report.js';

/** Child → parent. */
export type PeerMessage =
  | { type: 'joined'; name: string; id: number; lobby: string }
  | { type: 'stats'; name: string; id: number; links: LinkRow[]; players: { id: number; name: string }[]; counters: GameCounters; sync: SyncRow }
  | { type: 'event'; name: string; text: string };

/** Parent → child. */
export type ParentMessage = { type: 'stop' };
