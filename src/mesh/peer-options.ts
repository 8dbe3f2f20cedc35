/**
 * Options of a {@link WebRTCMultiplayerPeer}, and their validation.
 * @module
 */
import { realClock, type Clock } from '../util/clock.js';
import { cryptoRandom, type RandomSource } from '../util/sans-io.js';
import { checkClock, checkBool, checkInt, checkOptions, invalid } from '../util/validate.js';
import type { AcceptChannelHook } from './foreign-channels.js';
import { resolveReconnect, type MeshReconnectOptions } from './health/reconnect.js';
import type { LinkSettings, Reconnector } from './link.js';

/** Options fixed for the lifetime of a {@link WebRTCMultiplayerPeer}. */
export interface MultiplayerPeerOptions {
  /** Time source for heartbeats, timeouts and backoff, and of `poll()` without an argument. Default: real monotonic time. */
  clock?: Clock;
  /** Randomness of {@link WebRTCMultiplayerPeer.generateUniqueId}. Default: the platform's CSPRNG. */
  random?: RandomSource;
  /** How long a DISCONNECTED link may take to recover before it counts as lost (ms). Default 5000. */
  disconnectGraceMs?: number;
  /** Heartbeat period on the control channel (ms). Default 1000. */
  heartbeatIntervalMs?: number;
  /**
   * A vanished peer is detected within this time (ms): a link is lost after
   * `heartbeatTimeoutMs − min(100, heartbeatTimeoutMs / 10)` ms of silence, the
   * margin leaving room for a frame in flight and the tick. 0 turns detection
   * off (heartbeats still measure RTT). Default 5000. Must exceed the interval.
   */
  heartbeatTimeoutMs?: number;
  /**
   * Reliable channels carry a session header (sequence numbers) so reliable
   * packets survive a reconnect exactly once and in order. Every peer of a mesh
   * must use the same setting. Default true.
   */
  session?: boolean;
  /** Most unacknowledged reliable packets held per channel for replay. Default 65536. */
  replayBufferPackets?: number;
  /** Most unacknowledged reliable bytes held per channel for replay. Default 64 MiB. */
  replayBufferBytes?: number;
  /** Period of the `stats` event (ms); 0 turns it off. Emitted only while listened to. Default 1000. */
  statsIntervalMs?: number;
  /**
   * Automatic reconnection of lost links (used by lobby meshes, which can
   * re-create connections through signaling); `false` turns it off. Links
   * are re-established only with a {@link reconnector}.
   */
  reconnect?: MeshReconnectOptions | boolean;
  /**
   * Who re-creates connections for lost links (the lobby passes itself).
   * Without one, a lost link is dropped with `peer_disconnected`.
   */
  reconnector?: Reconnector;
  /**
   * Opt-in: data channels a remote opens in band on a mesh link (the mesh
   * negotiates its own out of band) are closed on sight and counted in the
   * link's `foreignChannelsClosed`. This hook may keep some open for your
   * own use (you then read and close them); return `true` to keep one.
   */
  acceptChannel?: AcceptChannelHook;
  /** Most in-band channels kept open at once per link by `acceptChannel` (default 4); more are closed. */
  maxForeignChannels?: number;
}

/** Every key of {@link MultiplayerPeerOptions} a `Mesh.join` caller may pass too. */
export const MULTIPLAYER_PEER_OPTION_KEYS = [
  'clock',
  'random',
  'disconnectGraceMs',
  'heartbeatIntervalMs',
  'heartbeatTimeoutMs',
  'session',
  'replayBufferPackets',
  'replayBufferBytes',
  'statsIntervalMs',
  'reconnect',
  'acceptChannel',
  'maxForeignChannels',
] as const;

/** Validated options. */
export interface ResolvedPeerOptions {
  clock: Clock;
  random: RandomSource;
  statsMs: number;
  link: LinkSettings;
  reconnector: Reconnector | undefined;
}

/** Validate `options` (throws RtcmeshError naming the bad one). */
export function resolvePeerOptions(options: MultiplayerPeerOptions): ResolvedPeerOptions {
  const opts = checkOptions<MultiplayerPeerOptions>(options, [...MULTIPLAYER_PEER_OPTION_KEYS, 'reconnector'], 'WebRTCMultiplayerPeer options');
  if (opts.clock !== undefined) checkClock(opts.clock, 'clock');
  if (opts.random !== undefined && typeof opts.random?.int !== 'function') invalid('random', 'a RandomSource (int, float, bytes)', opts.random);
  const r = opts.reconnector;
  if (r !== undefined && (typeof r?.canReconnect !== 'function' || typeof r.startAttempt !== 'function')) {
    invalid('reconnector', 'an object with canReconnect(id) and startAttempt(id, attempt)', r);
  }
  const graceMs = opts.disconnectGraceMs === undefined ? 5000 : checkInt(opts.disconnectGraceMs, 0, 3_600_000, 'disconnectGraceMs');
  const heartbeatMs = opts.heartbeatIntervalMs === undefined ? 1000 : checkInt(opts.heartbeatIntervalMs, 1, 3_600_000, 'heartbeatIntervalMs');
  const timeoutMs = opts.heartbeatTimeoutMs === undefined ? 5000 : checkInt(opts.heartbeatTimeoutMs, 0, 3_600_000, 'heartbeatTimeoutMs');
  if (timeoutMs !== 0 && timeoutMs <= heartbeatMs) {
    invalid('heartbeatTimeoutMs', `0 (off) or more than heartbeatIntervalMs (${heartbeatMs} ms); a few intervals is usual`, timeoutMs);
  }
  if (opts.acceptChannel !== undefined && typeof opts.acceptChannel !== 'function') invalid('acceptChannel', 'a function (peerId, channel) => boolean', opts.acceptChannel);
  return {
    clock: opts.clock ?? realClock,
    random: opts.random ?? cryptoRandom,
    statsMs: opts.statsIntervalMs === undefined ? 1000 : checkInt(opts.statsIntervalMs, 0, 3_600_000, 'statsIntervalMs'),
    reconnector: r,
    link: {
      graceMs,
      heartbeatMs,
      timeoutMs,
      silenceMs: timeoutMs - Math.min(100, Math.floor(timeoutMs / 10)),
      sessions: opts.session === undefined ? true : checkBool(opts.session, 'session'),
      replayLimits: {
        packets: opts.replayBufferPackets === undefined ? 65536 : checkInt(opts.replayBufferPackets, 1, 2 ** 31, 'replayBufferPackets'),
        bytes: opts.replayBufferBytes === undefined ? 64 * 1024 * 1024 : checkInt(opts.replayBufferBytes, 1, 2 ** 40, 'replayBufferBytes'),
      },
      policy: resolveReconnect(opts.reconnect),
      foreign: {
        accept: opts.acceptChannel,
        max: opts.maxForeignChannels === undefined ? 4 : checkInt(opts.maxForeignChannels, 0, 65535, 'maxForeignChannels'),
      },
      epoch: (opts.random ?? cryptoRandom).int(1, 0xffffffff),
    },
  };
}
