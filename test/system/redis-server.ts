/**
 * A private redis-server on a loopback port for system tests: never the
 * system one, no persistence (`--save '' --appendonly no`), stopped by the
 * test. `restart()` stops it and starts a fresh one on the same port (all data
 * lost), for the "Redis restart" tests.
 *
 * ```ts
 * const binary = systemBinary('redis-server', '/usr/bin/redis-server');
 * describeSystem('…', binary, (path) => { let redis: RedisServer; beforeAll(async () => (redis = await startRedis(path))); … }, 'redis-server');
 * ```
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';

/** A running private redis-server. */
export interface RedisServer {
  port: number;
  /** `redis://127.0.0.1:PORT` */
  url: string;
  /** Everything redis-server printed (for failure messages). */
  log(): string;
  /** Stop it (SIGTERM, then SIGKILL) and wait until it has exited. */
  stop(): Promise<void>;
  /** Stop it and start a fresh one on the same port (data lost). Resolves when it answers PING. */
  restart(): Promise<void>;
}

/** A TCP port on 127.0.0.1 that nobody holds right now. */
export async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Resolve once `PING` on 127.0.0.1:port answers `+PONG` (reject after timeoutMs). */
export async function redisAnswers(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      let buf = '';
      const done = (v: boolean) => {
        sock.destroy();
        resolve(v);
      };
      sock.setTimeout(500, () => done(false));
      sock.on('error', (e) => {
        last = e.message;
        done(false);
      });
      sock.on('connect', () => sock.write('PING\r\n'));
      sock.on('data', (d) => {
        buf += d.toString();
        if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50)); // polling a process that is starting: nothing to wait on
  }
  throw new Error(`redis-server on 127.0.0.1:${port} did not answer PING within ${timeoutMs} ms (${last})`);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Start a private redis-server (`binary`) on a free loopback port and wait until it answers PING. */
export async function startRedis(binary: string, port?: number): Promise<RedisServer> {
  let output = '';
  let child: ChildProcess | undefined;
  const boundPort = port ?? (await freeTcpPort());
  const launch = async () => {
    const c = spawn(
      binary,
      ['--port', String(boundPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--daemonize', 'no', '--loglevel', 'warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    c.stdout!.on('data', (d) => (output = (output + d.toString()).slice(-20_000)));
    c.stderr!.on('data', (d) => (output = (output + d.toString()).slice(-20_000)));
    child = c;
    const died = exited(c).then(() => {
      throw new Error(`redis-server exited at start (code ${c.exitCode}): ${output}`);
    });
    await Promise.race([redisAnswers(boundPort, 10_000), died]);
    died.catch(() => undefined);
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c) return;
    const gone = exited(c);
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  };
  await launch();
  return {
    port: boundPort,
    url: `redis://127.0.0.1:${boundPort}`,
    log: () => output,
    stop,
    async restart() {
      await stop();
      await launch();
    },
  };
}
