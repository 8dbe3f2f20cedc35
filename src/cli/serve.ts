/**
 * `rtcmesh serve`: run the lobby signaling server, logging one line per event.
 * Stops gracefully on SIGINT / SIGTERM (clients are told and may resume on the
 * next instance when it shares `--secret`).
 * @module
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { createMetrics, type Metrics } from '../metrics/index.js';
import { ErrorCode, RtcmeshError, isRtcmeshError } from '../errors.js';
import { SignalingServer, type SignalingServerOptions } from '../signaling/drivers/server.js';
import { CliError, ExitCode } from './exit-codes.js';

export const SERVE_USAGE = `usage: rtcmesh serve [options]

  --port N              TCP port (default 9080; 0 = any free port)
  --host ADDR           address to bind (default 127.0.0.1, this machine only;
                        0.0.0.0 = every interface)
  --max-peers N         peers per lobby (default 4096)
  --max-lobbies N       lobbies (default 4096)
  --max-connections N   open sockets (default 10000)
  --max-per-address N   what one IP address holds: open sockets, pending upgrades and
                        peers in resume grace (default 0 = no limit)
  --max-lobbies-per-address N   live lobbies one IP address created (default 64; 0 = no limit)
  --max-detached-per-address N  peers in resume grace per IP address (default 64; 0 = no limit)
  --upgrade-timeout MS  destroy connections that have not upgraded by then (default 5000)
  --max-pending-per-address N   connections of one IP address still upgrading (default 16;
                        0 = no limit)
  --connection-rate N/MS  new connections per IP address per window (default 100/1000;
                        0/1000 = no limit)
  --queue-bytes N       bytes queued per detached peer (default 262144); per lobby 4x,
                        server-wide 256x unless the server options say otherwise
  --max-message-bytes N largest frame accepted (default 65536)
  --origin URL          allowed browser Origin; repeat for several (default: any)
  --path /P             only accept WebSocket upgrades on this path
  --secret S            resume-token secret (or env RTCMESH_SIGNALING_SECRET); share it
                        between restarts so clients resume with their ids (without it
                        no resume survives a restart; see docs/signaling.md)
  --ping-interval MS    ping period; silent sockets are dropped (default 10000)
  --join-timeout MS     close sockets that do not join in time (default 5000)
  --seal-grace MS       close sealed lobbies after this (default 10000)
  --resume-grace MS     keep a dropped peer's place this long (default 15000)
  --host-key KEY        host key (or env RTCMESH_HOST_KEY): host joins must carry it, and
                        a restarted host with it reclaims id 1 within the resume grace
  --client-server-join-only
                        client_server lobbies are created only by host joins; other
                        joins of an absent one get LOBBY_NOT_FOUND (or wait)
  --max-wait-for-host MS
                        cap on a joiner's waitForHostMs (default 60000; 0 = no waiting)
  --turn-secret S       coturn static-auth-secret (or env RTCMESH_TURN_SECRET): every join
                        answer carries iceServers with time-limited TURN credentials
  --turn-url URL[,URL]  TURN URLs handed out, e.g. turn:turn.example.com:3478 (needs --turn-secret)
  --turn-ttl SECONDS    credential lifetime (default 86400); fresh ones are re-sent at half of it
  --rate-limit N/MS[/B] frames (and bytes) per window per socket (default 200/1000/1048576)
  --redis URL           share lobbies with other serve processes through Redis
                        (redis://host:port); needs --secret, the same on every process
                        (see docs/scale-out.md)
  --redis-prefix P      Redis key/channel prefix (default rtcmesh:)
  --stats-interval MS   print a stats line this often (default 0 = never)
  --metrics-port N      serve Prometheus metrics at http://HOST:N/metrics (0 = any free port)
  --quiet               log only the listening line, errors and shutdown
  --help                this text
`;

/** Where serve writes and how it is stopped (tests and the bench replace these). */
export interface ServeIo {
  out: (line: string) => void;
  /** Resolves when the server should shut down (default: SIGINT or SIGTERM). */
  stop?: Promise<string>;
}

function num(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `--${name} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

function kv(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
}

/** Run the server until stopped. Resolves after a graceful shutdown. */
export async function runServe(argv: string[], io: ServeIo = { out: (l) => process.stdout.write(`${l}\n`) }): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'max-peers': { type: 'string' },
        'max-lobbies': { type: 'string' },
        'max-connections': { type: 'string' },
        'max-per-address': { type: 'string' },
        'max-lobbies-per-address': { type: 'string' },
        'max-detached-per-address': { type: 'string' },
        'upgrade-timeout': { type: 'string' },
        'max-pending-per-address': { type: 'string' },
        'connection-rate': { type: 'string' },
        'queue-bytes': { type: 'string' },
        'max-message-bytes': { type: 'string' },
        origin: { type: 'string', multiple: true },
        path: { type: 'string' },
        secret: { type: 'string' },
        'ping-interval': { type: 'string' },
        'join-timeout': { type: 'string' },
        'seal-grace': { type: 'string' },
        'resume-grace': { type: 'string' },
        'rate-limit': { type: 'string' },
        'host-key': { type: 'string' },
        'turn-secret': { type: 'string' },
        'turn-url': { type: 'string', multiple: true },
        'turn-ttl': { type: 'string' },
        'client-server-join-only': { type: 'boolean' },
        'max-wait-for-host': { type: 'string' },
        'stats-interval': { type: 'string' },
        redis: { type: 'string' },
        'redis-prefix': { type: 'string' },
        'metrics-port': { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `${err instanceof Error ? err.message : String(err)}\n\n${SERVE_USAGE}`);
  }
  const v = parsed.values;
  if (v.help) {
    io.out(SERVE_USAGE.trimEnd());
    return;
  }
  const options: SignalingServerOptions = {};
  const set = <K extends keyof SignalingServerOptions>(key: K, value: SignalingServerOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set('maxPeersPerLobby', num(v['max-peers'], 'max-peers', 1, 1_000_000));
  set('maxLobbies', num(v['max-lobbies'], 'max-lobbies', 1, 10_000_000));
  set('maxConnections', num(v['max-connections'], 'max-connections', 1, 10_000_000));
  set('maxConnectionsPerAddress', num(v['max-per-address'], 'max-per-address', 0, 10_000_000));
  set('maxLobbiesPerAddress', num(v['max-lobbies-per-address'], 'max-lobbies-per-address', 0, 10_000_000));
  set('maxDetachedPerAddress', num(v['max-detached-per-address'], 'max-detached-per-address', 0, 10_000_000));
  set('upgradeTimeoutMs', num(v['upgrade-timeout'], 'upgrade-timeout', 0, 3_600_000));
  set('maxPendingUpgradesPerAddress', num(v['max-pending-per-address'], 'max-pending-per-address', 0, 10_000_000));
  if (v['connection-rate'] !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(v['connection-rate']);
    if (!m) throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `--connection-rate must look like 100/1000 (connections/milliseconds), got "${v['connection-rate']}"`);
    options.connectionRate = { count: Number(m[1]), windowMs: Number(m[2]) };
  }
  const queueBytes = num(v['queue-bytes'], 'queue-bytes', 0, 1 << 30);
  if (queueBytes !== undefined) {
    options.resumeQueueBytes = queueBytes;
    options.lobbyQueueBytes = Math.min(1 << 30, queueBytes * 4);
    options.totalQueueBytes = queueBytes * 256;
  }
  set('maxMessageBytes', num(v['max-message-bytes'], 'max-message-bytes', 256, 16 * 1024 * 1024));
  set('pingIntervalMs', num(v['ping-interval'], 'ping-interval', 0, 3_600_000));
  set('joinTimeoutMs', num(v['join-timeout'], 'join-timeout', 0, 3_600_000));
  set('sealGraceMs', num(v['seal-grace'], 'seal-grace', 0, 3_600_000));
  set('resumeGraceMs', num(v['resume-grace'], 'resume-grace', 0, 3_600_000));
  set('maxWaitForHostMs', num(v['max-wait-for-host'], 'max-wait-for-host', 0, 3_600_000));
  const hostKey = v['host-key'] ?? process.env.RTCMESH_HOST_KEY;
  if (hostKey) options.hostKey = hostKey;
  if (v['client-server-join-only']) options.clientServerJoinOnly = true;
  if (v.origin) options.allowedOrigins = v.origin;
  if (v.path) options.path = v.path;
  const secret = v.secret ?? process.env.RTCMESH_SIGNALING_SECRET;
  if (secret) options.resumeSecret = secret;
  if (v['rate-limit'] !== undefined) {
    const m = /^(\d+)\/(\d+)(?:\/(\d+))?$/.exec(v['rate-limit']);
    if (!m) throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `--rate-limit must look like 200/1000 or 200/1000/1048576 (frames/milliseconds[/bytes]), got "${v['rate-limit']}"`);
    options.rateLimit = { messages: Number(m[1]), windowMs: Number(m[2]), ...(m[3] !== undefined ? { bytes: Number(m[3]) } : {}) };
  }
  const turnSecret = v['turn-secret'] ?? process.env.RTCMESH_TURN_SECRET;
  const turnUrls = (v['turn-url'] ?? []).flatMap((u) => u.split(',')).map((u) => u.trim()).filter((u) => u.length > 0);
  if (turnSecret || turnUrls.length > 0 || v['turn-ttl'] !== undefined) {
    if (!turnSecret) throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, '--turn-url/--turn-ttl need --turn-secret (or RTCMESH_TURN_SECRET): the static-auth-secret coturn runs with');
    if (turnUrls.length === 0) throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, '--turn-secret needs --turn-url turn:HOST:PORT[,…]: the TURN server(s) to hand out');
    const ttlSeconds = num(v['turn-ttl'], 'turn-ttl', 2, 365 * 86400);
    options.turn = { secret: turnSecret, urls: turnUrls, ...(ttlSeconds !== undefined ? { ttlSeconds } : {}) };
  }
  if (v.redis !== undefined) {
    if (!/^rediss?:\/\/.+/i.test(v.redis)) throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `--redis must be a redis:// URL, got "${v.redis}"`);
    if (!options.resumeSecret) throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, '--redis needs --secret (or RTCMESH_SIGNALING_SECRET), the same on every process');
    options.redis = v['redis-prefix'] !== undefined ? { url: v.redis, prefix: v['redis-prefix'] } : v.redis;
  }
  const statsInterval = num(v['stats-interval'], 'stats-interval', 0, 3_600_000) ?? 0;
  const metricsPort = num(v['metrics-port'], 'metrics-port', 0, 65535);
  const port = num(v.port, 'port', 0, 65535) ?? 9080;
  const host = v.host ?? '127.0.0.1';
  const quiet = v.quiet === true;

  const server = new SignalingServer(options);
  const log = (event: string, fields: Record<string, unknown> = {}) => io.out(`${new Date().toISOString()} ${event} ${kv(fields)}`.trimEnd());
  if (!quiet) {
    server.on('connection', (remote) => log('connection', { remote }));
    server.on('disconnection', (remote, code, reason) => log('disconnection', { remote, code, ...(reason ? { reason } : {}) }));
    server.on('lobby_created', (lobby, mode) => log('lobby_created', { lobby, mode }));
    server.on('lobby_closed', (lobby, reason) => log('lobby_closed', { lobby, reason }));
    server.on('peer_joined', (lobby, id, info) => log(info.resumed ? 'peer_resumed' : info.reclaimed ? 'host_reclaimed' : 'peer_joined', { lobby, id, remote: info.remote }));
    server.on('peer_detached', (lobby, id) => log('peer_detached', { lobby, id }));
    server.on('peer_left', (lobby, id, reason) => log('peer_left', { lobby, id, reason }));
    server.on('sealed', (lobby) => log('sealed', { lobby }));
    server.on('rejected', (remote, status, reason) => log('rejected', { remote, status, reason }));
  }
  server.on('client_error', (remote, code, message) => log('client_error', { remote, code, message }));
  server.on('abuse_closed', (remote, reason) => log('abuse_closed', { remote, reason }));
  if (server.redis) {
    const health = server.redis.health;
    health.on('redis_lost', (which) => log('redis_lost', { connection: which, process: server.redis!.processId }));
    health.on('redis_ready', (reregistered) => log('redis_ready', { reregistered }));
    health.on('process_dead', (processId, peers) => log('process_dead', { process: processId, peers_taken_over: peers }));
  }

  const address = await server.listen({ port, host }).catch((err: unknown) => {
    // An unreachable Redis is a network failure (exit 3), like a port in use.
    if (isRtcmeshError(err, ErrorCode.UNREACHABLE)) {
      throw new CliError(err instanceof Error ? err.message : String(err), ExitCode.NETWORK, 'is Redis running at the --redis URL, reachable from this machine?');
    }
    throw err;
  });
  io.out(`rtcmesh signaling server listening on ${address.url} (bound to ${address.host}:${address.port})`);
  if (server.redis) io.out(`sharing lobbies through Redis as process ${server.redis.processId}`);

  // Prometheus exposition on its own port, so /metrics is never public by accident.
  let metricsHttp: Server | undefined;
  let metrics: Metrics | undefined;
  if (metricsPort !== undefined) {
    metrics = createMetrics({ signaling: server });
    const handler = metrics.handler;
    metricsHttp = createServer((req, res) => {
      if (req.url === '/metrics') return handler(req, res);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('GET /metrics\n');
    });
    const http = metricsHttp;
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(metricsPort, host, () => resolve());
    });
    const bound = http.address() as AddressInfo;
    io.out(`metrics on http://${bound.address}:${bound.port}/metrics`);
  }

  const statsTimer = statsInterval > 0 ? setInterval(() => log('stats', { ...server.getStats() }), statsInterval) : undefined;

  const cleanups: (() => void)[] = [];
  const stop =
    io.stop ??
    new Promise<string>((resolve) => {
      for (const sig of ['SIGINT', 'SIGTERM'] as const) {
        const on = () => resolve(sig);
        process.once(sig, on);
        cleanups.push(() => process.off(sig, on));
      }
    });
  const why = await stop;
  for (const c of cleanups) c();
  if (statsTimer) clearInterval(statsTimer);
  log('shutdown', { reason: why });
  await server.close({ reason: `server stopped (${why})`, reconnect: true });
  metrics?.unregister();
  if (metricsHttp) await new Promise<void>((resolve) => metricsHttp!.close(() => resolve()));
  log('closed');
}
