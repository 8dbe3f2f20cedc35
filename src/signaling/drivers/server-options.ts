/**
 * Options of the WebSocket `SignalingServer` and their validation:
 * what goes to the lobby logic, to the per-address gate and to the server.
 * @module
 */
import { resolveTurnOptions, type ResolvedTurnOptions, type TurnOptions } from './turn-credentials.js';
import { checkBool, checkInt, checkOptions, checkString, invalid } from '../../util/validate.js';
import { MAX_HOST_KEY_LENGTH } from '../protocol.js';
import { ErrorCode, RtcmeshError } from '../../errors.js';
import type { RedisBackendOptions } from '../redis/backend.js';
import { DEFAULT_CORE_OPTIONS, type AuthorizeHook, type SignalingCoreOptions } from '../core.js';
import type { AddressGateOptions } from './address-gate.js';

/** Options of the WebSocket `SignalingServer`. Times in milliseconds. */
export interface SignalingServerOptions {
  /** Peers per lobby (default 4096). */
  maxPeersPerLobby?: number;
  /** Lobbies (default 4096). */
  maxLobbies?: number;
  /** Open connections (default 10000); further upgrades get HTTP 503. */
  maxConnections?: number;
  /**
   * What one IP address may hold at once (default 0 = no limit): its open
   * sockets, its connections still before their upgrade, and its peers in
   * their resume grace (a socket that joined and dropped). Further upgrades
   * get HTTP 429.
   */
  maxConnectionsPerAddress?: number;
  /** New WebSocket connections per IP address per window (default 100 per 1000 ms; `count` 0 = no limit); past it HTTP 429. */
  connectionRate?: { count: number; windowMs: number };
  /** Connections of one IP address still before their WebSocket upgrade (default 16; 0 = no limit); more are destroyed at once. */
  maxPendingUpgradesPerAddress?: number;
  /** A connection that has not completed its WebSocket upgrade within this is destroyed (default 5000; 0 = never). */
  upgradeTimeoutMs?: number;
  /** Live lobbies one IP address may have created (default 64; 0 = no limit); past it SERVER_FULL. */
  maxLobbiesPerAddress?: number;
  /** Lobbies one IP address may create per window (default 20 per 1000 ms); past it RATE_LIMITED. */
  lobbyCreationRate?: { count: number; windowMs: number };
  /** Peers in resume grace whose socket came from one IP address (default 64; 0 = no limit); past it a dropped peer leaves at once. */
  maxDetachedPerAddress?: number;
  /** Frames over this size get a PACKET_TOO_LARGE error; frames over twice this close the socket (default 65536). */
  maxMessageBytes?: number;
  /** Allowed `Origin` values (exact, e.g. `https://game.example`), or `['*']`. Default: any. Clients that send no Origin (non-browsers) are allowed. */
  allowedOrigins?: string[];
  /** Only accept upgrades on this path (default: any path). */
  path?: string;
  /** Close sockets that do not join within this time (default 5000; 0 = never). */
  joinTimeoutMs?: number;
  /** Ping every socket this often; one that missed the previous pong is dropped (default 10000; 0 = off). */
  pingIntervalMs?: number;
  /** A sealed lobby is closed after this (default 10000). */
  sealGraceMs?: number;
  /** A peer whose socket dropped may resume within this (default 15000; 0 = leaves at once). */
  resumeGraceMs?: number;
  /** Messages queued for a detached peer (default 256). */
  resumeQueueLimit?: number;
  /** Characters (≈ bytes) queued for one detached peer, oldest dropped first (default 262144). */
  resumeQueueBytes?: number;
  /** Characters queued for the detached peers of one lobby (default 1048576). */
  lobbyQueueBytes?: number;
  /** Characters queued for detached peers server-wide; past it new ones are dropped (default 67108864). */
  totalQueueBytes?: number;
  /** Secret for resume tokens; give every instance the same one so tokens survive restarts. Default: random per process. */
  resumeSecret?: string | Uint8Array;
  /** Lifetime of a resume token (default 86400000 = 1 day). */
  resumeTokenTtlMs?: number;
  /** Per-socket rate limit: frames and bytes per window (default 200 frames, 1048576 bytes per 1000 ms). */
  rateLimit?: { messages: number; windowMs: number; bytes?: number };
  /** Violations before a socket is closed (default 10). */
  maxStrikes?: number;
  /**
   * Refused joins (sealed, full, server full, authorisation or resume refused,
   * join while already in a lobby) before a socket is closed with 1008
   * (default 10, over the socket's lifetime). Refusals are not strikes.
   */
  maxJoinRefusals?: number;
  /** A socket whose send buffer grows over this is dropped as too slow (default 4 MiB). */
  maxBufferedBytes?: number;
  /** On close(), sockets that have not finished closing after this are destroyed (default 2000). */
  shutdownTimeoutMs?: number;
  /** Join authorisation hook. */
  authorize?: AuthorizeHook;
  /**
   * Host key (at least 8 characters; default none): a `host` join must carry
   * it (`UNAUTHORIZED` otherwise), and a host that comes back within the
   * resume grace with it reclaims id 1 although its resume token is lost (a
   * restarted process). Without it, each lobby keeps the key its host sent.
   */
  hostKey?: string;
  /**
   * `client_server` lobbies are created only by `host` joins (default false;
   * protocol-2 clients create a lobby by joining it first). Other joins of an
   * absent `client_server` lobby get `LOBBY_NOT_FOUND`, or wait with `waitForHostMs`.
   */
  clientServerJoinOnly?: boolean;
  /** Cap on a joiner's `waitForHostMs` (default 60000; 0 = joiners never wait). */
  maxWaitForHostMs?: number;
  /**
   * Share lobbies with other server processes through Redis (issue #16):
   * `redis://host:port` or {@link RedisBackendOptions}. Every process needs
   * the same `resumeSecret`. See docs/scale-out.md.
   */
  redis?: string | RedisBackendOptions;
  /**
   * Hand out TURN credentials (issue #14): every `joined` answer carries
   * `iceServers` with coturn time-limited credentials for these URLs, made
   * from `secret` (coturn `--use-auth-secret --static-auth-secret=<secret>`),
   * user part `<lobby>:<peer id>`; fresh ones are re-sent on the socket
   * (`ice_servers`) every `ttlSeconds / 2`. See docs/networks.md.
   */
  turn?: TurnOptions;
}

const OPTION_KEYS = [
  'maxPeersPerLobby',
  'maxLobbies',
  'maxConnections',
  'maxConnectionsPerAddress',
  'connectionRate',
  'maxPendingUpgradesPerAddress',
  'upgradeTimeoutMs',
  'maxLobbiesPerAddress',
  'lobbyCreationRate',
  'maxDetachedPerAddress',
  'maxMessageBytes',
  'allowedOrigins',
  'path',
  'joinTimeoutMs',
  'pingIntervalMs',
  'sealGraceMs',
  'resumeGraceMs',
  'resumeQueueLimit',
  'resumeQueueBytes',
  'lobbyQueueBytes',
  'totalQueueBytes',
  'resumeSecret',
  'resumeTokenTtlMs',
  'rateLimit',
  'maxStrikes',
  'maxJoinRefusals',
  'maxBufferedBytes',
  'shutdownTimeoutMs',
  'authorize',
  'hostKey',
  'clientServerJoinOnly',
  'maxWaitForHostMs',
  'redis',
  'turn',
];

const HOUR = 3_600_000;

/** Validated options, split by who uses them. */
export interface ResolvedServerOptions {
  core: Partial<SignalingCoreOptions>;
  gate: Omit<AddressGateOptions, 'detachedOf'>;
  maxConnections: number;
  allowedOrigins: string[] | undefined;
  path: string | undefined;
  pingIntervalMs: number;
  maxBufferedBytes: number;
  shutdownTimeoutMs: number;
  resumeSecret: string | Uint8Array | undefined;
  resumeTokenTtlMs: number;
  redis: RedisBackendOptions | undefined;
  turn: ResolvedTurnOptions | undefined;
}

/** Validate `options` (throws RtcmeshError naming the bad one). */
export function resolveServerOptions(options: SignalingServerOptions | undefined): ResolvedServerOptions {
  const o = checkOptions<SignalingServerOptions>(options, OPTION_KEYS, 'SignalingServer options');
  const int = (v: number | undefined, def: number, min: number, max: number, name: string) =>
    v === undefined ? def : checkInt(v, min, max, `SignalingServer options.${name}`);
  const maxMessageBytes = int(o.maxMessageBytes, DEFAULT_CORE_OPTIONS.maxMessageBytes, 256, 16 * 1024 * 1024, 'maxMessageBytes');
  let rateLimit = DEFAULT_CORE_OPTIONS.rateLimit;
  if (o.rateLimit !== undefined) {
    const r = checkOptions<{ messages: number; windowMs: number; bytes?: number }>(o.rateLimit, ['messages', 'windowMs', 'bytes'], 'SignalingServer options.rateLimit');
    rateLimit = {
      messages: checkInt(r.messages, 1, 1e9, 'SignalingServer options.rateLimit.messages'),
      windowMs: checkInt(r.windowMs, 1, HOUR, 'SignalingServer options.rateLimit.windowMs'),
      bytes: r.bytes === undefined ? DEFAULT_CORE_OPTIONS.rateLimit.bytes : checkInt(r.bytes, 256, 1e12, 'SignalingServer options.rateLimit.bytes'),
    };
  }
  const rate = (v: { count: number; windowMs: number } | undefined, def: { count: number; windowMs: number }, min: number, name: string) => {
    if (v === undefined) return def;
    const r = checkOptions<{ count: number; windowMs: number }>(v, ['count', 'windowMs'], `SignalingServer options.${name}`);
    return { count: checkInt(r.count, min, 1e9, `SignalingServer options.${name}.count`), windowMs: checkInt(r.windowMs, 1, HOUR, `SignalingServer options.${name}.windowMs`) };
  };
  if (o.authorize !== undefined && typeof o.authorize !== 'function') invalid('SignalingServer options.authorize', 'a function', o.authorize);
  if (o.hostKey !== undefined) {
    checkString(o.hostKey, 'SignalingServer options.hostKey', MAX_HOST_KEY_LENGTH);
    if (o.hostKey.length < 8) invalid('SignalingServer options.hostKey', 'at least 8 characters', '(hidden)');
  }
  if (o.clientServerJoinOnly !== undefined) checkBool(o.clientServerJoinOnly, 'SignalingServer options.clientServerJoinOnly');
  if (o.allowedOrigins !== undefined) {
    if (!Array.isArray(o.allowedOrigins)) invalid('SignalingServer options.allowedOrigins', 'an array of origins', o.allowedOrigins);
    o.allowedOrigins.forEach((x, i) => checkString(x, `SignalingServer options.allowedOrigins[${i}]`, 1024));
  }
  if (o.path !== undefined) {
    checkString(o.path, 'SignalingServer options.path', 1024);
    if (!o.path.startsWith('/')) invalid('SignalingServer options.path', 'a path starting with "/"', o.path);
  }
  if (o.resumeSecret !== undefined && typeof o.resumeSecret !== 'string' && !(o.resumeSecret instanceof Uint8Array)) {
    invalid('SignalingServer options.resumeSecret', 'a string or Uint8Array', o.resumeSecret);
  }
  if (typeof o.resumeSecret === 'string' && o.resumeSecret.length < 16) {
    invalid('SignalingServer options.resumeSecret', 'at least 16 characters', '(hidden)');
  }
  const core: Partial<SignalingCoreOptions> = {
    maxPeersPerLobby: int(o.maxPeersPerLobby, DEFAULT_CORE_OPTIONS.maxPeersPerLobby, 1, 1_000_000, 'maxPeersPerLobby'),
    maxLobbies: int(o.maxLobbies, DEFAULT_CORE_OPTIONS.maxLobbies, 1, 10_000_000, 'maxLobbies'),
    maxMessageBytes,
    joinTimeoutMs: int(o.joinTimeoutMs, DEFAULT_CORE_OPTIONS.joinTimeoutMs, 0, HOUR, 'joinTimeoutMs'),
    sealGraceMs: int(o.sealGraceMs, DEFAULT_CORE_OPTIONS.sealGraceMs, 0, HOUR, 'sealGraceMs'),
    resumeGraceMs: int(o.resumeGraceMs, DEFAULT_CORE_OPTIONS.resumeGraceMs, 0, HOUR, 'resumeGraceMs'),
    resumeQueueLimit: int(o.resumeQueueLimit, DEFAULT_CORE_OPTIONS.resumeQueueLimit, 0, 1_000_000, 'resumeQueueLimit'),
    resumeQueueBytes: int(o.resumeQueueBytes, DEFAULT_CORE_OPTIONS.resumeQueueBytes, 0, 1 << 30, 'resumeQueueBytes'),
    lobbyQueueBytes: int(o.lobbyQueueBytes, DEFAULT_CORE_OPTIONS.lobbyQueueBytes, 0, 1 << 30, 'lobbyQueueBytes'),
    totalQueueBytes: int(o.totalQueueBytes, DEFAULT_CORE_OPTIONS.totalQueueBytes, 0, 2 ** 40, 'totalQueueBytes'),
    maxLobbiesPerAddress: int(o.maxLobbiesPerAddress, DEFAULT_CORE_OPTIONS.maxLobbiesPerAddress, 0, 10_000_000, 'maxLobbiesPerAddress'),
    maxDetachedPerAddress: int(o.maxDetachedPerAddress, DEFAULT_CORE_OPTIONS.maxDetachedPerAddress, 0, 10_000_000, 'maxDetachedPerAddress'),
    lobbyCreationRate: rate(o.lobbyCreationRate, DEFAULT_CORE_OPTIONS.lobbyCreationRate, 1, 'lobbyCreationRate'),
    rateLimit,
    maxStrikes: int(o.maxStrikes, DEFAULT_CORE_OPTIONS.maxStrikes, 1, 1_000_000, 'maxStrikes'),
    maxJoinRefusals: int(o.maxJoinRefusals, DEFAULT_CORE_OPTIONS.maxJoinRefusals, 1, 1_000_000, 'maxJoinRefusals'),
    authorize: o.authorize,
    hostKey: o.hostKey,
    clientServerJoinOnly: o.clientServerJoinOnly === true,
    maxWaitForHostMs: int(o.maxWaitForHostMs, DEFAULT_CORE_OPTIONS.maxWaitForHostMs, 0, HOUR, 'maxWaitForHostMs'),
  };
  return {
    core,
    redis: o.redis === undefined ? undefined : redisOptions(o.redis, o.resumeSecret),
    turn: o.turn === undefined ? undefined : resolveTurnOptions(o.turn),
    gate: {
      maxPerAddress: int(o.maxConnectionsPerAddress, 0, 0, 10_000_000, 'maxConnectionsPerAddress'),
      maxPendingPerAddress: int(o.maxPendingUpgradesPerAddress, 16, 0, 10_000_000, 'maxPendingUpgradesPerAddress'),
      connectionRate: rate(o.connectionRate, { count: 100, windowMs: 1000 }, 0, 'connectionRate'),
      upgradeTimeoutMs: int(o.upgradeTimeoutMs, 5000, 0, HOUR, 'upgradeTimeoutMs'),
    },
    maxConnections: int(o.maxConnections, 10_000, 1, 10_000_000, 'maxConnections'),
    allowedOrigins: o.allowedOrigins && !o.allowedOrigins.includes('*') ? [...o.allowedOrigins] : undefined,
    path: o.path,
    pingIntervalMs: int(o.pingIntervalMs, 10_000, 0, HOUR, 'pingIntervalMs'),
    maxBufferedBytes: int(o.maxBufferedBytes, 4 * 1024 * 1024, 1024, 1 << 30, 'maxBufferedBytes'),
    shutdownTimeoutMs: int(o.shutdownTimeoutMs, 2000, 0, HOUR, 'shutdownTimeoutMs'),
    resumeSecret: o.resumeSecret,
    resumeTokenTtlMs: int(o.resumeTokenTtlMs, 24 * HOUR, 1000, 365 * 24 * HOUR, 'resumeTokenTtlMs'),
  };
}

/** Check the `redis` option (a URL or {@link RedisBackendOptions}); Redis needs a resume secret shared by every process. */
function redisOptions(redis: string | RedisBackendOptions, resumeSecret: unknown): RedisBackendOptions {
  const r =
    typeof redis === 'string'
      ? { url: redis }
      : checkOptions<RedisBackendOptions>(redis, ['url', 'prefix', 'processId', 'heartbeatIntervalMs', 'heartbeatTtlMs', 'redisOptions'], 'SignalingServer options.redis');
  const url = checkString(r.url, 'SignalingServer options.redis url', 2048);
  if (!/^rediss?:\/\/.+/i.test(url)) invalid('SignalingServer options.redis', 'a redis:// or rediss:// URL', url);
  if (resumeSecret === undefined) {
    throw new RtcmeshError(
      ErrorCode.INVALID_ARGUMENT,
      'SignalingServer options.redis needs options.resumeSecret: give every server process the same secret so a client can resume on any of them',
    );
  }
  if (r.heartbeatIntervalMs !== undefined) checkInt(r.heartbeatIntervalMs, 50, 60_000, 'SignalingServer options.redis.heartbeatIntervalMs');
  if (r.heartbeatTtlMs !== undefined) checkInt(r.heartbeatTtlMs, 100, 600_000, 'SignalingServer options.redis.heartbeatTtlMs');
  return { ...r, url };
}
