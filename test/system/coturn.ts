/**
 * A real coturn TURN server on loopback for system tests, started the way the
 * project's test hygiene notes say: listening on 127.0.0.1 (an ephemeral port
 * picked here), relaying on 127.0.0.2 (also loopback, so ICE cannot pair the
 * relay with a host candidate), long-term credentials, no TLS/DTLS/CLI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running coturn. */
export interface Coturn {
  port: number;
  username: string;
  credential: string;
  realm: string;
  /** `turn:127.0.0.1:PORT?transport=udp` */
  url: string;
  /** Everything coturn printed (for failure messages). */
  log(): string;
  /** Stop coturn and wait until it has exited; removes its files. */
  stop(): Promise<void>;
}

/** A UDP port on 127.0.0.1 that nobody holds right now. */
async function freeUdpPort(): Promise<number> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = sock.address();
  await new Promise<void>((resolve) => sock.close(() => resolve()));
  return port;
}

/** Resolve once a STUN Binding Request to 127.0.0.1:port is answered (or reject after timeoutMs). */
export function stunAnswers(port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    const request = Buffer.alloc(20);
    request.writeUInt16BE(0x0001, 0); // Binding Request
    request.writeUInt16BE(0, 2);
    request.writeUInt32BE(0x2112a442, 4); // magic cookie
    randomBytes(12).copy(request, 8);
    const finish = (err?: Error) => {
      clearInterval(resend);
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve();
    };
    sock.on('message', (msg) => {
      if (msg.length >= 20 && msg.readUInt16BE(0) === 0x0101 && msg.subarray(8, 20).equals(request.subarray(8, 20))) finish();
    });
    sock.on('error', () => undefined); // ICMP port unreachable before coturn listens
    const send = () => sock.send(request, port, '127.0.0.1');
    // UDP may be dropped before coturn listens: resend until answered.
    const resend = setInterval(send, 50);
    const timer = setTimeout(() => finish(new Error(`no STUN answer from 127.0.0.1:${port} within ${timeoutMs} ms`)), timeoutMs);
    send();
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Start coturn (`binary`) and wait until it answers STUN. */
export async function startCoturn(binary: string, options: { authSecret?: string } = {}): Promise<Coturn> {
  const dir = await mkdtemp(join(tmpdir(), 'rtcmesh-coturn-'));
  const username = 'rtcmesh';
  const credential = randomBytes(9).toString('base64url');
  const realm = 'rtcmesh.test';
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freeUdpPort();
    let output = '';
    const child = spawn(
      binary,
      [
        '-n', // no configuration file
        '--listening-ip=127.0.0.1',
        `--listening-port=${port}`,
        '--relay-ip=127.0.0.2',
        '--allow-loopback-peers',
        ...(options.authSecret !== undefined
          ? ['--use-auth-secret', `--static-auth-secret=${options.authSecret}`] // time-limited credentials (TURN REST API)
          : ['--lt-cred-mech', `--user=${username}:${credential}`]),
        `--realm=${realm}`,
        '--no-tls',
        '--no-dtls',
        '--no-cli',
        '--no-tcp',
        '--no-rfc5780',
        `--pidfile=${join(dir, 'turnserver.pid')}`,
        `--db=${join(dir, 'turndb')}`,
        '--log-file=stdout',
        '--simple-log',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited(child);
        clearTimeout(killer);
      }
    };
    try {
      await Promise.race([
        stunAnswers(port, 10_000),
        exited(child).then(() => {
          throw new Error(`coturn exited with ${child.exitCode ?? child.signalCode}`);
        }),
      ]);
      return {
        port,
        username,
        credential,
        realm,
        url: `turn:127.0.0.1:${port}?transport=udp`,
        log: () => output,
        stop: async () => {
          await stop();
          await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      lastError = new Error(`${(err as Error).message}\n${output}`);
      await stop();
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}
