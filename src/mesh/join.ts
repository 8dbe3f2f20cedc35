/**
 * `Mesh.join`: connect to signaling, join (or create) a lobby and return the
 * {@link LobbyMultiplayerPeer} that follows it.
 * @module
 */
import { ErrorCode, RtcmeshError, describeError } from '../errors.js';
import { resolveConfig } from '../peer/options.js';
import { checkEngine } from '../transport/default-engine.js';
import { checkBool, checkInt, checkOneOf, checkOptions, invalid } from '../util/validate.js';
import { checkChannels } from './peer-checks.js';
import type { HostMeshOptions, JoinMeshOptions, LobbyJoinRequest } from './lobby-signaling.js';
import { LobbyMultiplayerPeer, type LobbySettings } from './lobby.js';
import { MULTIPLAYER_PEER_OPTION_KEYS, type MultiplayerPeerOptions } from './peer-options.js';
import { resolveSignaling } from './signaling-source.js';

const JOIN_KEYS = [
  'signaling',
  'lobby',
  'mode',
  'auth',
  'connection',
  'engine',
  'channels',
  'unreliableLifetime',
  'closeSignaling',
  'livenessTimeoutMs',
  ...MULTIPLAYER_PEER_OPTION_KEYS,
] as const;
const HOST_KEYS = [...JOIN_KEYS, 'hostKey'] as const;
const JOIN_ONLY_KEYS = [...JOIN_KEYS, 'create', 'waitForHostMs'] as const;

/** Validate the options, join and return the lobby peer (closed again on failure). */
async function joinLobby(opts: JoinMeshOptions, request: LobbyJoinRequest, what: string): Promise<LobbyMultiplayerPeer> {
  const channels = opts.channels === undefined ? [] : opts.channels;
  checkChannels(channels);
  if (opts.connection !== undefined) resolveConfig(opts.connection);
  if (opts.engine !== undefined) checkEngine(opts.engine, 'engine');
  if (opts.closeSignaling !== undefined) checkBool(opts.closeSignaling, 'closeSignaling');
  const { client, owned } = resolveSignaling(opts.signaling);
  const settings: LobbySettings = {
    unreliableLifetime: opts.unreliableLifetime === undefined ? 1 : checkInt(opts.unreliableLifetime, 0, 65535, 'unreliableLifetime'),
    livenessTimeoutMs: opts.livenessTimeoutMs === undefined ? 2000 : checkInt(opts.livenessTimeoutMs, 0, 3_600_000, 'livenessTimeoutMs'),
    closeSignaling: opts.closeSignaling ?? owned,
    ...(opts.connection !== undefined && { connection: opts.connection }),
    ...(opts.engine !== undefined && { engine: opts.engine }),
  };
  const peerOptions: Record<string, unknown> = {};
  for (const key of MULTIPLAYER_PEER_OPTION_KEYS) if (opts[key] !== undefined) peerOptions[key] = opts[key];
  const lobby = new LobbyMultiplayerPeer(client, settings, peerOptions as MultiplayerPeerOptions);
  try {
    await lobby.start(request, channels);
  } catch (err) {
    lobby.close();
    if (err instanceof RtcmeshError) throw err;
    throw new RtcmeshError(ErrorCode.ENGINE_ERROR, `${what} failed: ${describeError(err)}`, { cause: err });
  }
  return lobby;
}

/** Lobby entry points. */
export const Mesh = {
  /**
   * Join (or create) a lobby and return a multiplayer peer that follows it.
   * Call `poll()` on it every tick: signaling messages are acted on there,
   * and `peer_connected` fires as links open.
   *
   * In a `client_server` lobby a joiner never creates the lobby (that is
   * {@link Mesh.host}'s job, so a client that starts first never becomes id 1):
   * with `mode: 'client_server'`, `create` defaults to false and an absent
   * lobby fails with `LOBBY_NOT_FOUND`, or waits up to `waitForHostMs` for its
   * host. In a mesh lobby the first joiner creates it unless `create: false`.
   * @throws RtcmeshError for bad options, or the signaling client's join error.
   */
  async join(options: JoinMeshOptions): Promise<LobbyMultiplayerPeer> {
    const opts = checkOptions<JoinMeshOptions>(options, JOIN_ONLY_KEYS, 'Mesh.join() options');
    const request: LobbyJoinRequest = {
      ...(opts.lobby !== undefined && { lobby: opts.lobby }),
      ...(opts.mode !== undefined && { mode: opts.mode }),
      ...(opts.auth !== undefined && { auth: opts.auth }),
      ...(opts.create !== undefined
        ? { create: checkBool(opts.create, 'create') }
        : opts.mode === 'client_server' && { create: false }),
      ...(opts.waitForHostMs !== undefined && { waitForHostMs: checkInt(opts.waitForHostMs, 0, 3_600_000, 'waitForHostMs') }),
    };
    return joinLobby(opts as JoinMeshOptions, request, 'Mesh.join()');
  },

  /**
   * Create (or, after a restart, reclaim) a lobby as its host: this peer
   * gets id 1 (the server in a client_server lobby). The signaling server
   * refuses with an {@link RtcmeshError} coded `HOST_TAKEN` while a live host
   * holds the lobby; a host that restarts within the server's grace reclaims
   * id 1 with the same `hostKey`, and its clients rebuild their links to it
   * keeping their own ids (see docs/mesh.md).
   * Call `poll()` on it every tick, as for {@link Mesh.join}.
   * @throws RtcmeshError for bad options, HOST_TAKEN, or the signaling client's join error;
   *   PROTOCOL_ERROR when the server did not make this peer id 1.
   */
  async host(options: HostMeshOptions): Promise<LobbyMultiplayerPeer> {
    const opts = checkOptions<HostMeshOptions>(options, HOST_KEYS, 'Mesh.host() options');
    if (opts.hostKey !== undefined && (typeof opts.hostKey !== 'string' || opts.hostKey.length === 0 || opts.hostKey.length > 512)) {
      invalid('hostKey', 'a non-empty string of at most 512 characters', opts.hostKey);
    }
    const request: LobbyJoinRequest = {
      ...(opts.lobby !== undefined && { lobby: opts.lobby }),
      mode: opts.mode === undefined ? 'client_server' : checkOneOf(opts.mode, ['client_server', 'mesh'] as const, 'mode'),
      ...(opts.auth !== undefined && { auth: opts.auth }),
      host: true,
      create: true,
      ...(opts.hostKey !== undefined && { hostKey: opts.hostKey }),
    };
    const lobby = await joinLobby(opts as JoinMeshOptions, request, 'Mesh.host()');
    if (lobby.getUniqueId() !== 1) {
      const id = lobby.getUniqueId();
      lobby.close();
      throw new RtcmeshError(
        ErrorCode.PROTOCOL_ERROR,
        `Mesh.host(): the signaling server gave this peer id ${id}, not 1; it does not support hosts (update the server, or use Mesh.join)`,
      );
    }
    return lobby;
  },
};
