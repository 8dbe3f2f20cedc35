/**
 * The lobbies of one back end: lookup, creation with a fresh epoch, id and
 * name allocation from the injected random source, and the bounded memory of
 * closed epochs (so a stale resume token cannot recreate a closed lobby).
 * @module
 */
import { randomHex, type RandomSource } from '../util/sans-io.js';
import type { Lobby } from './core-model.js';
import { MAX_SIGNALING_PEER_ID, MIN_SIGNALING_PEER_ID, type LobbyMode } from './protocol.js';

const MAX_CLOSED_EPOCHS = 100_000;

/** Lobbies by name. */
export class LobbyBook {
  private readonly lobbies = new Map<string, Lobby>();
  /** Epochs of recently closed lobbies. Bounded, oldest forgotten first. */
  private readonly closedEpochs = new Set<string>();

  constructor(private readonly random: RandomSource) {}

  get size(): number {
    return this.lobbies.size;
  }

  get(name: string): Lobby | undefined {
    return this.lobbies.get(name);
  }

  /** Whether `lobby` is the live lobby of its name. */
  isLive(lobby: Lobby): boolean {
    return this.lobbies.get(lobby.name) === lobby;
  }

  values(): IterableIterator<Lobby> {
    return this.lobbies.values();
  }

  /** Whether a lobby with this epoch was closed (recently). */
  wasClosed(epoch: string): boolean {
    return this.closedEpochs.has(epoch);
  }

  /** Create lobby `name` (a fresh epoch unless `epoch` is given: recreated from a token). */
  create(name: string, mode: LobbyMode, epoch?: string): Lobby {
    const lobby: Lobby = {
      name,
      epoch: epoch ?? randomHex(this.random, 8),
      mode,
      peers: new Map(),
      usedIds: new Set(),
      sealed: false,
      sealTimer: undefined,
      partial: epoch !== undefined,
      partialTimer: undefined,
      hostKey: undefined,
    };
    this.lobbies.set(name, lobby);
    return lobby;
  }

  /** Forget a closed lobby, remembering its epoch. False when it was not live. */
  remove(lobby: Lobby): boolean {
    if (!this.isLive(lobby)) return false;
    this.lobbies.delete(lobby.name);
    this.closedEpochs.add(lobby.epoch);
    if (this.closedEpochs.size > MAX_CLOSED_EPOCHS) this.closedEpochs.delete(this.closedEpochs.values().next().value!);
    return true;
  }

  /** Forget every lobby (shutdown). */
  clear(): void {
    this.lobbies.clear();
  }

  /** An unused peer id of `lobby` in 2..2^31-1. */
  newPeerId(lobby: Lobby): number {
    for (;;) {
      const id = this.random.int(MIN_SIGNALING_PEER_ID, MAX_SIGNALING_PEER_ID);
      if (!lobby.usedIds.has(id)) return id;
    }
  }

  /** An unused, unguessable lobby name. */
  newLobbyName(): string {
    for (;;) {
      const name = randomHex(this.random, 16);
      if (!this.lobbies.has(name)) return name;
    }
  }
}
