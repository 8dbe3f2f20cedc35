/**
 * A line-by-line port of Godot's `networking/multiplayer_bomber` demo
 * (godotengine/godot-demo-projects: gamestate.gd, player.gd,
 * player_controls.gd, bomb.gd, rock.gd, score.gd) to rtcmesh, switched from
 * ENet to WebRTC in server/client mode as Godot recommends: `Mesh.host` is
 * `create_server()` (id 1), `Mesh.join` is `create_client()`.
 *
 * What a porter changes, and why (each marked PORT below):
 * - The multiplayer peer exists only once `Mesh.host`/`Mesh.join` resolve,
 *   so the RpcEndpoint (Godot's `multiplayer`) is made there, and the signal
 *   connections of `_ready()` go with it.
 * - `connected_to_server` / `connection_failed` are `await peer.ready()`
 *   resolving / rejecting; `server_disconnected` is `peer_disconnected(1)` on a
 *   client (docs/godot.md, SceneMultiplayer RPC).
 * - There is no scene tree: an RPC is registered by name on the endpoint, so a
 *   method of a node that has many instances (player.gd, rock.gd) takes the
 *   node's name as its first argument ("player.exploded"(id, by_who)).
 * - MultiplayerSpawner.spawn() on the server becomes an authority RPC with
 *   callLocal (the spawner runs on the server and replicates to everyone);
 *   the Inputs MultiplayerSynchronizer (authority: the player's own peer)
 *   becomes an unreliable RPC whose `authority` is the player named by its
 *   first argument.
 * - `get_remote_sender_id()` is `net.getRemoteSenderId()` (or `ctx.senderId`).
 * - Physics (Area2D overlaps, move_and_slide) and animations are reduced to
 *   what the networking depends on: a blast radius, and a bomb that explodes
 *   on the server's frame after it was spawned.
 * - Not ported: the player's `synced_position` MultiplayerSynchronizer (the
 *   sync layer's job, see docs/sync.md) and the bomb spawner's despawn
 *   replication (each peer frees its own bomb when its animation ends).
 */
import {
  Mesh,
  RpcEndpoint,
  TransferMode,
  type AnyRpcMethods,
  type LobbyMultiplayerPeer,
  type RpcContext,
  type RpcErrorEvent,
} from '../../api.js';
import { CONNECTION } from './rpc-helpers.js';

const MAX_PEERS = 12;
/** The player's movement speed (pixels per second). */
const MOTION_SPEED = 90;
/** The delay before a new bomb may be placed (seconds). */
const BOMB_RATE = 0.5;
/** One physics frame. */
const DELTA = 1 / 60;
/** How far a bomb's Area2D reaches. */
const BLAST_RADIUS = 40;

export const SPAWN_POINTS = [
  { x: 0, y: 0 },
  { x: 100, y: 0 },
  { x: 200, y: 0 },
  { x: 300, y: 0 },
];
/** world.tscn's rocks: two next to spawn point 1, none anywhere near the others. */
export const ROCKS = [
  { x: 100, y: 20 },
  { x: 120, y: 0 },
];

type Vec = { x: number; y: number };
interface Player {
  name: string;
  position: Vec;
  syncedPosition: Vec;
  stunned: boolean;
  lastBombTime: number;
  /** player_controls.gd, replicated by its InputsSync (authority: this player's peer). */
  inputs: { motion: Vec; bombing: boolean };
}
interface Bomb {
  position: Vec;
  fromPlayer: number;
  /** Frames until the animation calls explode(). */
  fuse: number;
}
/** world.tscn: Players, Rocks, Score, Winner, bombs. */
export interface World {
  players: Map<number, Player>;
  rocks: Map<number, Vec>;
  /** score.gd `player_labels`: id → { name, score }, in insertion order (the winner loop's order). */
  score: Map<number, { name: string; score: number }>;
  bombs: Bomb[];
  winner: string | null;
}

/** The gamestate.gd autoload of one process. */
export class Gamestate {
  peer: LobbyMultiplayerPeer | null = null;
  /** Godot's `multiplayer` (SceneMultiplayer). PORT: made with the peer. */
  net: RpcEndpoint<AnyRpcMethods> | null = null;
  /** Our local player's name. */
  playerName = 'The Warrior';
  /** Names for remote players in id:name format. */
  readonly players = new Map<number, string>();
  /** `/root/World` when a game is in progress. */
  world: World | null = null;

  /** The signals the lobby GUI listens to, in the order they were emitted. */
  readonly signals: string[] = [];
  /** Every RPC this peer ran: name, get_remote_sender_id() inside it, and arguments. */
  readonly ran: { rpc: string; sender: number; args: unknown[] }[] = [];
  /** What Godot would print as RPC errors (rtcmesh reports them as `rpc_error`). */
  readonly errors: RpcErrorEvent[] = [];
  /** The keys held on this machine (Input.is_action_pressed). */
  readonly keys = { motion: { x: 0, y: 0 }, bombing: false };

  constructor(private readonly signaling: string, private readonly lobby: string) {}

  get uniqueId(): number {
    return this.peer?.getUniqueId() ?? 0;
  }

  // ---------------------------------------------------------------- callbacks from SceneTree

  /** Registration of a client begins here: tell the connected player that we are here. */
  private _player_connected(id: number): void {
    this.net!.rpcId(id, 'register_player', this.playerName);
  }

  private _player_disconnected(id: number): void {
    if (this.world) {
      // Game is in progress.
      if (this.peer!.isServer()) {
        this.emit(`game_error:Player ${this.players.get(id)} disconnected`);
        this.end_game();
      }
    } else {
      // Game is not in progress: unregister this player.
      this.unregister_player(id);
    }
  }

  /** Only for clients: we just connected to a server. */
  private _connected_ok(): void {
    this.emit('connection_succeeded');
  }

  /** Only for clients. */
  private _server_disconnected(): void {
    this.emit('game_error:Server disconnected');
    this.end_game();
  }

  /** Only for clients. */
  private _connected_fail(): void {
    this.setMultiplayerPeer(null); // Remove peer
    this.emit('connection_failed');
  }

  // ---------------------------------------------------------------- lobby management (RPCs)

  /** @rpc("any_peer") */
  private register_player(newPlayerName: string): void {
    const id = this.net!.getRemoteSenderId();
    this.players.set(id, newPlayerName);
    this.emit('player_list_changed');
  }

  unregister_player(id: number): void {
    this.players.delete(id);
    this.emit('player_list_changed');
  }

  /** @rpc("call_local") */
  private load_world(): void {
    // Change scene.
    const world: World = { players: new Map(), rocks: new Map(ROCKS.map((r, i) => [i, { ...r }])), score: new Map(), bombs: [], winner: null };
    this.world = world;
    // Set up score.
    this.score_add_player(this.uniqueId, this.playerName);
    for (const [pn, name] of this.players) this.score_add_player(pn, name);
  }

  host_game = async (newPlayerName: string): Promise<void> => {
    this.playerName = newPlayerName;
    // PORT: peer.create_server(DEFAULT_PORT, MAX_PEERS) → Mesh.host (id 1); MAX_PEERS is the signaling server's lobby size.
    void MAX_PEERS;
    this.setMultiplayerPeer(await Mesh.host({ signaling: this.signaling, lobby: this.lobby, mode: 'client_server', connection: CONNECTION }));
  };

  join_game = async (newPlayerName: string): Promise<void> => {
    this.playerName = newPlayerName;
    const peer = await Mesh.join({ signaling: this.signaling, lobby: this.lobby, mode: 'client_server', connection: CONNECTION });
    this.setMultiplayerPeer(peer);
    // PORT: connected_to_server / connection_failed. ready() settles inside the frames' polls.
    peer.ready(5_000).then(
      () => this._connected_ok(),
      () => this._connected_fail(),
    );
  };

  get_player_list(): string[] {
    return [...this.players.values()];
  }

  begin_game(): void {
    if (!this.peer!.isServer()) throw new Error('assert(multiplayer.is_server())');
    // PORT (not in gamestate.gd): a game in progress takes no new players. Godot's MultiplayerPeer.refuse_new_connections.
    this.peer!.refuseNewConnections = true;
    this.net!.rpc('load_world');

    // Create a dictionary with peer ID and respective spawn points.
    const spawnPoints = new Map<number, number>([[1, 0]]); // Server in spawn point 0.
    let spawnPointIdx = 1;
    for (const p of this.players.keys()) spawnPoints.set(p, spawnPointIdx++);

    for (const [pId, point] of spawnPoints) {
      const spawnPos = SPAWN_POINTS[point]!;
      // PORT: spawner.spawn([spawn_pos, p_id]) — the MultiplayerSpawner runs on the server and replicates.
      this.net!.rpc('player_spawner.spawn', spawnPos.x, spawnPos.y, pId);
      this.net!.rpc('player.set_player_name', pId, pId === this.uniqueId ? this.playerName : this.players.get(pId)!);
    }
  }

  end_game(): void {
    if (this.world) {
      // If the game is in progress, end it.
      this.world = null;
    }
    this.emit('game_ended');
    this.players.clear();
  }

  // ---------------------------------------------------------------- world nodes (player.gd, bomb.gd, rock.gd, score.gd)

  /** player_spawner.gd `_spawn_player` + player.gd `_ready`. */
  private spawn_player(x: number, y: number, id: number): void {
    this.world?.players.set(id, { name: '', position: { x, y }, syncedPosition: { x, y }, stunned: false, lastBombTime: BOMB_RATE, inputs: { motion: { x: 0, y: 0 }, bombing: false } });
  }

  /** player.gd @rpc("call_local") set_player_name. */
  private set_player_name(player: number, value: string): void {
    const p = this.world?.players.get(player);
    if (p) p.name = value;
  }

  /** player.gd @rpc("call_local") exploded. */
  private player_exploded(player: number, _byWho: number): void {
    const p = this.world?.players.get(player);
    if (!p || p.stunned) return;
    p.stunned = true;
  }

  /** rock.gd @rpc("call_local") exploded: score, then the explode animation frees the rock. */
  private rock_exploded(rock: number, byWho: number): void {
    if (!this.world?.rocks.has(rock)) return;
    this.score_increase_score(byWho);
    this.world.rocks.delete(rock);
  }

  /** bomb_spawner.gd `_spawn_bomb`. */
  private spawn_bomb(x: number, y: number, fromPlayer: number): void {
    this.world?.bombs.push({ position: { x, y }, fromPlayer, fuse: 1 });
  }

  /** The InputsSync MultiplayerSynchronizer's update, received. */
  private inputs_sync(player: number, mx: number, my: number, bombing: boolean): void {
    const p = this.world?.players.get(player);
    if (!p) return;
    // player_controls.gd: "This will be sent by players, make sure values are within limits."
    p.inputs.motion = { x: Math.min(1, Math.max(-1, mx)), y: Math.min(1, Math.max(-1, my)) };
    p.inputs.bombing = bombing;
  }

  private score_add_player(id: number, newPlayerName: string): void {
    this.world!.score.set(id, { name: newPlayerName, score: 0 });
  }

  private score_increase_score(forWho: number): void {
    const pl = this.world!.score.get(forWho);
    if (!pl) throw new Error(`assert(for_who in player_labels): ${forWho}`);
    pl.score += 1;
  }

  /** The frame: player.gd `_physics_process`, bomb.gd's animation, score.gd `_process`. */
  private physicsProcess(): void {
    const world = this.world;
    if (!world) return;
    for (const [id, player] of world.players) {
      if (this.uniqueId === id) {
        // The client which this player represents updates the controls state, and notifies it to everyone.
        player.inputs = { motion: { ...this.keys.motion }, bombing: this.keys.bombing };
        this.net!.rpc('inputs.sync', id, player.inputs.motion.x, player.inputs.motion.y, player.inputs.bombing);
      }
      if (this.net!.isAuthority()) {
        // The server updates the position that will be notified to the clients,
        player.syncedPosition = { ...player.position };
        // and increases the bomb cooldown, spawning one if the client wants to.
        player.lastBombTime += DELTA;
        if (!player.stunned && player.inputs.bombing && player.lastBombTime >= BOMB_RATE) {
          player.lastBombTime = 0;
          this.net!.rpc('bomb_spawner.spawn', player.position.x, player.position.y, id);
        }
      } else {
        player.position = { ...player.syncedPosition };
      }
      if (!player.stunned) {
        player.position.x += player.inputs.motion.x * MOTION_SPEED * DELTA;
        player.position.y += player.inputs.motion.y * MOTION_SPEED * DELTA;
      }
    }
    for (const bomb of [...world.bombs]) if (bomb.fuse-- === 0) this.explode(bomb);
    // score.gd _process
    if (world.rocks.size === 0 && world.winner === null) {
      let winnerName = '';
      let winnerScore = 0;
      for (const p of world.score.values()) {
        if (p.score > winnerScore) {
          winnerScore = p.score;
          winnerName = p.name;
        }
      }
      world.winner = winnerName;
    }
  }

  /** bomb.gd explode(), called from the animation; then done(). */
  private explode(bomb: Bomb): void {
    const world = this.world!;
    world.bombs.splice(world.bombs.indexOf(bomb), 1); // done(): queue_free (each peer frees its own copy)
    if (!this.net!.isAuthority()) return; // Explode only on authority.
    const near = (p: Vec) => Math.hypot(p.x - bomb.position.x, p.y - bomb.position.y) <= BLAST_RADIUS;
    // "Exploded can only be called by the authority, but will also be called locally."
    for (const [id, p] of world.players) if (near(p.position)) this.net!.rpc('player.exploded', id, bomb.fromPlayer);
    for (const [id, r] of world.rocks) if (near(r)) this.net!.rpc('rock.exploded', id, bomb.fromPlayer);
  }

  // ---------------------------------------------------------------- the multiplayer peer

  /** `multiplayer.set_multiplayer_peer(peer)`, with gamestate.gd's `_ready()` signal connections. */
  private setMultiplayerPeer(peer: LobbyMultiplayerPeer | null): void {
    if (peer === null) {
      this.net?.close();
      this.peer?.close();
      this.net = null;
      this.peer = null;
      return;
    }
    this.peer = peer;
    const net = new RpcEndpoint<AnyRpcMethods>(peer);
    this.net = net;
    const rpc = (name: string, fn: (...args: any[]) => void) => (ctx: RpcContext, ...args: unknown[]) => {
      this.ran.push({ rpc: name, sender: net.getRemoteSenderId(), args });
      if (ctx.senderId !== net.getRemoteSenderId()) throw new Error('ctx.senderId and getRemoteSenderId() disagree');
      fn(...args);
    };
    net
      .register('register_player', rpc('register_player', (n: string) => this.register_player(n)), { mode: 'any_peer' })
      .register('load_world', rpc('load_world', () => this.load_world()), { callLocal: true })
      .register('player_spawner.spawn', rpc('player_spawner.spawn', (x: number, y: number, id: number) => this.spawn_player(x, y, id)), { callLocal: true })
      .register('player.set_player_name', rpc('player.set_player_name', (id: number, v: string) => this.set_player_name(id, v)), { callLocal: true })
      .register('player.exploded', rpc('player.exploded', (id: number, by: number) => this.player_exploded(id, by)), { callLocal: true })
      .register('rock.exploded', rpc('rock.exploded', (id: number, by: number) => this.rock_exploded(id, by)), { callLocal: true })
      .register('bomb_spawner.spawn', rpc('bomb_spawner.spawn', (x: number, y: number, from: number) => this.spawn_bomb(x, y, from)), { callLocal: true })
      .register('inputs.sync', (_ctx, id: number, mx: number, my: number, b: boolean) => this.inputs_sync(id, mx, my, b), {
        // $"Inputs/InputsSync".set_multiplayer_authority(str(name).to_int()): each Inputs node belongs to its player's peer.
        authority: (args) => args[0],
        transferMode: TransferMode.UNRELIABLE,
        validate: (a): a is [number, number, number, boolean] =>
          a.length === 4 && Number.isInteger(a[0]) && typeof a[1] === 'number' && typeof a[2] === 'number' && typeof a[3] === 'boolean',
      });
    net.on('rpc_error', (e) => this.errors.push(e));
    // _ready(): multiplayer.peer_connected / peer_disconnected (SceneMultiplayer's, relayed clients included).
    net.on('peer_connected', (id) => this._player_connected(id));
    net.on('peer_disconnected', (id) => this._player_disconnected(id));
    // server_disconnected: only for clients.
    peer.on('peer_disconnected', (id) => {
      if (id === 1 && !peer.isServer()) this._server_disconnected();
    });
  }

  /** One frame of this process: poll, run the frame, flush. */
  process(): void {
    if (!this.net) return;
    this.net.poll();
    if (!this.net) return; // a callback removed the peer
    this.physicsProcess();
    this.net?.flush();
  }

  /** Close whatever this process holds (the window closes). */
  quit(): void {
    this.setMultiplayerPeer(null);
  }

  private emit(signal: string): void {
    this.signals.push(signal);
  }
}
