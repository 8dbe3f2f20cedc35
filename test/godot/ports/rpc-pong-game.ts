/**
 * A line-by-line port of Godot's `networking/multiplayer_pong` demo
 * (godotengine/godot-demo-projects, the newest layout: logic/lobby.gd,
 * logic/pong.gd, logic/paddle.gd, logic/ball.gd) to rtcmesh, switched from
 * ENet to WebRTC in server/client mode: `Mesh.host` is `create_server()`,
 * `Mesh.join` is `create_client()`.
 *
 * What a porter changes, and why (each marked PORT below):
 * - `create_server(port, 1)` (one client at most): the server sets
 *   `refuseNewConnections` once its client connected.
 * - Authority is per node in Godot (`player2.set_multiplayer_authority(id)`);
 *   RPCs are registered by name here, so each node's RPC gets a name of its
 *   own ("Player2.set_pos_and_motion") and the node's authority is set on it:
 *   `net.setAuthority(id, 'Player2.set_pos_and_motion')`; the node's
 *   `is_multiplayer_authority()` is `net.isAuthority(thatName)`.
 * - `connected_to_server` / `connection_failed` are `peer.ready()`
 *   resolving / rejecting; `server_disconnected` is `peer_disconnected(1)` on a
 *   client.
 * - Physics (Area2D overlaps) is reduced to rectangles; frames run with a
 *   fixed delta; `randf()` draws from a seeded generator per process.
 */
import { Mesh, RpcEndpoint, TransferMode, type AnyRpcMethods, type LobbyMultiplayerPeer, type RpcErrorEvent } from '../../api.js';
import { CONNECTION } from './rpc-helpers.js';

const SCREEN = { x: 640, y: 400 };
/** One frame of game time (s): large, so a point takes a few dozen frames. */
export const DELTA = 0.1;
const SCORE_TO_WIN = 10;
const MOTION_SPEED = 150;
const DEFAULT_SPEED = 100;

type Vec = { x: number; y: number };

/** paddle.gd */
class Paddle {
  motion = 0;
  /** Keys held on this machine: Input.get_axis("move_up", "move_down"). */
  axis = 0;
  private touching = false;
  constructor(
    private readonly pong: Pong,
    readonly node: 'Player1' | 'Player2',
    readonly left: boolean,
    readonly position: Vec,
  ) {}

  get rpcName(): string {
    return `${this.node}.set_pos_and_motion`;
  }

  isAuthority(): boolean {
    return this.pong.net.isAuthority(this.rpcName);
  }

  process(delta: number): void {
    // Is the master of the paddle.
    if (this.isAuthority()) {
      this.motion = this.axis * MOTION_SPEED;
      // Using unreliable to make sure position is updated as fast as possible, even if one of the calls is dropped.
      this.pong.net.rpc(this.rpcName, this.position.x, this.position.y, this.motion);
    }
    this.position.y += this.motion * delta;
    // Set screen limits.
    this.position.y = Math.min(Math.max(this.position.y, 16), SCREEN.y - 16);
    // area_entered: the ball overlapping this paddle's rectangle, on the frame it starts to.
    const ball = this.pong.ball.position;
    const touching = Math.abs(ball.x - this.position.x) <= 8 + 5 && Math.abs(ball.y - this.position.y) <= 32 + 5;
    if (touching && !this.touching) this._on_paddle_area_enter();
    this.touching = touching;
  }

  /** @rpc("unreliable"): synchronize position and speed to the other peers. */
  set_pos_and_motion(x: number, y: number, motion: number): void {
    this.position.x = x;
    this.position.y = y;
    this.motion = motion;
  }

  private _on_paddle_area_enter(): void {
    if (this.isAuthority()) {
      // Random for new direction generated on each peer.
      this.pong.net.rpc('Ball.bounce', this.left, this.pong.randf());
    }
  }
}

/** ball.gd */
class Ball {
  direction: Vec = { x: -1, y: 0 };
  stopped = false;
  speed = DEFAULT_SPEED;
  readonly position: Vec = { x: SCREEN.x / 2, y: SCREEN.y / 2 };
  constructor(private readonly pong: Pong) {}

  process(delta: number): void {
    this.speed += delta;
    if (!this.stopped) {
      this.position.x += this.speed * delta * this.direction.x;
      this.position.y += this.speed * delta * this.direction.y;
    }
    // Check screen bounds to make ball bounce.
    const { x, y } = this.position;
    if ((y < 0 && this.direction.y < 0) || (y > SCREEN.y && this.direction.y > 0)) this.direction.y = -this.direction.y;
    // Ball.tscn has no authority of its own: the server's (1) on both peers.
    if (this.pong.net.isAuthority()) {
      // Only the master decides when the ball is out on the left side (its own side).
      if (x < 0) {
        this.pong.net.rpc('Pong.update_score', false);
        this.pong.net.rpc('Ball._reset_ball', false);
      }
    } else if (x > SCREEN.x) {
      // Only the puppet decides when the ball is out on the right side, its own side.
      this.pong.net.rpc('Pong.update_score', true);
      this.pong.net.rpc('Ball._reset_ball', true);
    }
  }

  /** @rpc("any_peer", "call_local"): both players can make it bounce. */
  bounce(left: boolean, random: number): void {
    this.direction.x = left ? Math.abs(this.direction.x) : -Math.abs(this.direction.x);
    this.speed *= 1.1;
    const d = { x: this.direction.x, y: random * 2 - 1 };
    const len = Math.hypot(d.x, d.y);
    this.direction = { x: d.x / len, y: d.y / len };
  }

  /** @rpc("any_peer", "call_local") */
  stop(): void {
    this.stopped = true;
  }

  /** @rpc("any_peer", "call_local") */
  _reset_ball(forLeft: boolean): void {
    this.position.x = SCREEN.x / 2;
    this.position.y = SCREEN.y / 2;
    this.direction = forLeft ? { x: -1, y: 0 } : { x: 1, y: 0 };
    this.speed = DEFAULT_SPEED;
  }
}

/** pong.gd (the scene: two paddles, a ball, the scores). */
export class Pong {
  scoreLeft = 0;
  scoreRight = 0;
  winnerLeft = false;
  winnerRight = false;
  exitShown = false;
  readonly ball = new Ball(this);
  readonly player1: Paddle;
  readonly player2: Paddle;
  /** game_finished, connected with CONNECT_DEFERRED. */
  onGameFinished: (() => void) | null = null;

  constructor(
    readonly net: RpcEndpoint<AnyRpcMethods>,
    readonly randf: () => number,
  ) {
    this.player1 = new Paddle(this, 'Player1', true, { x: 32, y: SCREEN.y / 2 });
    this.player2 = new Paddle(this, 'Player2', false, { x: SCREEN.x - 32, y: SCREEN.y / 2 });
    // _ready(): by default every node's authority is the server (1).
    if (net.mesh.isServer()) {
      // For the server, give control of player 2 to the other peer.
      net.setAuthority(net.getPeerIds()[0]!, 'Player2.set_pos_and_motion');
    } else {
      // For the client, give control of player 2 to itself.
      net.setAuthority(net.mesh.getUniqueId(), 'Player2.set_pos_and_motion');
    }
  }

  /** @rpc("any_peer", "call_local") */
  update_score(addToLeft: boolean): void {
    if (addToLeft) this.scoreLeft += 1;
    else this.scoreRight += 1;
    let gameEnded = false;
    if (this.scoreLeft === SCORE_TO_WIN) {
      this.winnerLeft = true;
      gameEnded = true;
    } else if (this.scoreRight === SCORE_TO_WIN) {
      this.winnerRight = true;
      gameEnded = true;
    }
    if (gameEnded) {
      this.exitShown = true;
      this.net.rpc('Ball.stop');
    }
  }

  _on_exit_game_pressed(): void {
    this.onGameFinished?.();
  }

  process(delta: number): void {
    this.player1.process(delta);
    this.player2.process(delta);
    this.ball.process(delta);
  }
}

/** logic/lobby.gd of one process. */
export class PongLobby {
  peer: LobbyMultiplayerPeer | null = null;
  net: RpcEndpoint<AnyRpcMethods> | null = null;
  /** `/root/Pong` while a game is on. */
  pong: Pong | null = null;
  statusOk = '';
  statusFail = '';
  hostDisabled = false;
  joinDisabled = false;
  /** Every RPC this peer ran: name, get_remote_sender_id() inside it, and arguments. */
  readonly ran: { rpc: string; sender: number; args: unknown[] }[] = [];
  readonly errors: RpcErrorEvent[] = [];
  private deferred: (() => void)[] = [];
  private seed: number;

  constructor(
    private readonly signaling: string,
    private readonly lobby: string,
    seed: number,
  ) {
    this.seed = seed;
  }

  /** randf() from a small seeded generator (mulberry32). */
  private randf = (): number => {
    let t = (this.seed = (this.seed + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  // ---------------------------------------------------------------- network callbacks from SceneTree

  private _player_connected(_id: number): void {
    // PORT: create_server(DEFAULT_PORT, 1) — a maximum of 1 peer, since Pong is a 2-player game.
    if (this.peer!.isServer()) this.peer!.refuseNewConnections = true;
    // Someone connected, start the game!
    const pong = new Pong(this.net!, this.randf);
    // Connect deferred so we can safely erase it from the callback.
    pong.onGameFinished = () => this.deferred.push(() => this._end_game());
    this.pong = pong;
  }

  private _player_disconnected(_id: number): void {
    if (this.peer?.isServer()) this._end_game('Client disconnected.');
    else this._end_game('Server disconnected.');
  }

  private _connected_ok(): void {
    // This function is not needed for this project.
  }

  private _connected_fail(): void {
    this._set_status("Couldn't connect.", false);
    this.setMultiplayerPeer(null); // Remove peer.
    this.hostDisabled = false;
    this.joinDisabled = false;
  }

  private _server_disconnected(): void {
    this._end_game('Server disconnected.');
  }

  // ---------------------------------------------------------------- game creation methods

  _end_game(withError = ''): void {
    if (this.pong) {
      // Erase immediately, otherwise network might show errors (this is why we connected deferred above).
      this.pong = null;
    }
    this.setMultiplayerPeer(null); // Remove peer.
    this.hostDisabled = false;
    this.joinDisabled = false;
    this._set_status(withError, false);
  }

  private _set_status(text: string, isOk: boolean): void {
    this.statusOk = isOk ? text : '';
    this.statusFail = isOk ? '' : text;
  }

  async _on_host_pressed(): Promise<void> {
    this.setMultiplayerPeer(await Mesh.host({ signaling: this.signaling, lobby: this.lobby, mode: 'client_server', connection: CONNECTION }));
    this.hostDisabled = true;
    this.joinDisabled = true;
    this._set_status('Waiting for player...', true);
  }

  async _on_join_pressed(): Promise<void> {
    const peer = await Mesh.join({ signaling: this.signaling, lobby: this.lobby, mode: 'client_server', connection: CONNECTION });
    this.setMultiplayerPeer(peer);
    // PORT: connected_to_server / connection_failed.
    peer.ready(5_000).then(
      () => this._connected_ok(),
      () => this._connected_fail(),
    );
    this._set_status('Connecting...', true);
  }

  // ---------------------------------------------------------------- the multiplayer peer

  /** `multiplayer.set_multiplayer_peer(peer)` with `_ready()`'s signal connections. */
  private setMultiplayerPeer(peer: LobbyMultiplayerPeer | null): void {
    if (peer === null) {
      const { net, peer: old } = this;
      this.net = null;
      this.peer = null;
      net?.close();
      old?.close();
      return;
    }
    this.peer = peer;
    const net = new RpcEndpoint<AnyRpcMethods>(peer);
    this.net = net;
    const on = <A extends unknown[]>(name: string, fn: (pong: Pong, ...args: A) => void) => (_ctx: unknown, ...args: unknown[]) => {
      this.ran.push({ rpc: name, sender: net.getRemoteSenderId(), args });
      if (this.pong) fn(this.pong, ...(args as A));
    };
    const paddle = { transferMode: TransferMode.UNRELIABLE };
    const anyLocal = { mode: 'any_peer', callLocal: true } as const;
    net
      .register('Player1.set_pos_and_motion', on('Player1.set_pos_and_motion', (p, x: number, y: number, m: number) => p.player1.set_pos_and_motion(x, y, m)), paddle)
      .register('Player2.set_pos_and_motion', on('Player2.set_pos_and_motion', (p, x: number, y: number, m: number) => p.player2.set_pos_and_motion(x, y, m)), paddle)
      .register('Pong.update_score', on('Pong.update_score', (p, left: boolean) => p.update_score(left)), anyLocal)
      .register('Ball.bounce', on('Ball.bounce', (p, left: boolean, r: number) => p.ball.bounce(left, r)), anyLocal)
      .register('Ball.stop', on('Ball.stop', (p) => p.ball.stop()), anyLocal)
      .register('Ball._reset_ball', on('Ball._reset_ball', (p, forLeft: boolean) => p.ball._reset_ball(forLeft)), anyLocal);
    net.on('rpc_error', (e) => this.errors.push(e));
    net.on('peer_connected', (id) => this._player_connected(id));
    net.on('peer_disconnected', (id) => this._player_disconnected(id));
    peer.on('peer_disconnected', (id) => {
      if (id === 1 && this.peer === peer && !peer.isServer()) this._server_disconnected();
    });
  }

  /** One frame: poll, `_process(delta)` of the scene, flush, then the deferred calls. */
  process(): void {
    const net = this.net;
    if (net) {
      net.poll();
      if (this.pong && this.net === net) this.pong.process(DELTA);
      if (this.net === net) net.flush();
    }
    for (const fn of this.deferred.splice(0)) fn();
  }

  quit(): void {
    this.setMultiplayerPeer(null);
  }
}
