/**
 * `Mesh.join`: connect to signaling, join (or create) a lobby and return the
 * {@link LobbyMultiplayerPeer} that follows it.
 * @module
 */
import { ErrorCode, RtcmeshError, describeError } from '../errors.js';
import { checkInt, checkOptions, invalid } from '../util/validate.js';
import type { JoinMeshOptions, LobbyJoinRequest } from './lobby-signaling.js';
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

/** Validate the options, join and return the lobby peer (closed again on failure). */
async function joinLobby(opts: JoinMeshOptions, request: LobbyJoinRequest, what: string): Promise<LobbyMultiplayerPeer> {
  const { client, owned } = resolveSignaling(opts.signaling);
  const channels = opts.channels ?? [];
  if (!Array.isArray(channels)) invalid('channels', 'an array of TransferMode values', channels);
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
   * @throws RtcmeshError for bad options, or the signaling client's join error.
   */
  async join(options: JoinMeshOptions): Promise<LobbyMultiplayerPeer> {
    const opts = checkOptions<JoinMeshOptions>(options, JOIN_KEYS, 'Mesh.join() options');
    const request: LobbyJoinRequest = {
      ...(opts.lobby !== undefined && { lobby: opts.lobby }),
      ...(opts.mode !== undefined && { mode: opts.mode }),
      ...(opts.auth !== undefined && { auth: opts.auth }),
    };
    return joinLobby(opts as JoinMeshOptions, request, 'Mesh.join()');
  },
};
