/**
 * Throw-away Linux network namespaces for NAT and loss system tests (root only).
 *
 * Topology built by {@link createNatLab} (all addresses private to the lab,
 * no interface in the test's own namespace, so no traffic leaves the lab):
 * ```
 *   homeA 192.168.1.2 ── 192.168.1.1 routerA 10.77.0.2 ──┐
 *                                                        br0 10.77.0.1  public (coturn)
 *   homeB 192.168.2.2 ── 192.168.2.1 routerB 10.77.0.3 ──┘
 * ```
 * Each router masquerades its home behind its public address and drops every
 * unsolicited inbound packet (only conntrack ESTABLISHED/RELATED come in), as a
 * home NAT does. A `symmetric` router maps each new flow to a random port
 * (`MASQUERADE --random-fully`): the mapping depends on the destination, so
 * the address coturn sees is not the one a peer sees. The routers have no
 * route to the other home, so host candidates cannot connect.
 *
 * Namespaces are named `rtmnat-<pid>-<n>-<role>`; {@link cleanLeftovers}
 * deletes those of processes that no longer exist (a crashed earlier run).
 */
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'vitest';
import { REQUIRE_SYSTEM, systemBinary } from './require-binary.js';

const run = promisify(execFile);

/** Prefix of every namespace this helper creates. */
export const NETNS_PREFIX = 'rtmnat-';

/** Why NAT tests cannot run here, or undefined when they can. */
export function natLabUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root (run as root, e.g. in CI)';
  for (const bin of ['ip', 'iptables', 'sysctl']) if (!systemBinary(bin, `/usr/sbin/${bin}`, `/sbin/${bin}`)) return `${bin} is not installed (iproute2/iptables/procps)`;
  // Root in a container may still lack CAP_NET_ADMIN / CAP_SYS_ADMIN: try one namespace.
  const probe = `${NETNS_PREFIX}${process.pid}-probe`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe', timeout: 10_000 });
  } catch (err) {
    return `cannot create a network namespace (needs CAP_SYS_ADMIN and CAP_NET_ADMIN): ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
  }
  try {
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe', timeout: 10_000 });
  } catch {
    // removed by cleanLeftovers() at the next run
  }
  return undefined;
}

async function sh(args: string[]): Promise<string> {
  try {
    const { stdout } = await run(args[0]!, args.slice(1), { timeout: 15_000 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`\`${args.join(' ')}\` failed: ${e.stderr?.trim() || e.message}`);
  }
}

async function listNamespaces(): Promise<string[]> {
  const out = await sh(['ip', 'netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(NETNS_PREFIX));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Delete lab namespaces left by processes that no longer run. Returns their names. */
export async function cleanLeftovers(): Promise<string[]> {
  const stale = (await listNamespaces()).filter((n) => {
    const pid = Number(n.slice(NETNS_PREFIX.length).split('-')[0]);
    return !Number.isInteger(pid) || pid === process.pid ? false : !alive(pid);
  });
  for (const ns of stale) await killInside(ns).then(() => sh(['ip', 'netns', 'del', ns])).catch(() => undefined);
  return stale;
}

/** SIGKILL every process still inside `ns` (a namespace is only freed once empty). */
async function killInside(ns: string): Promise<void> {
  const out = await sh(['ip', 'netns', 'pids', ns]).catch(() => '');
  for (const pid of out.split(/\s+/).filter(Boolean).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** How a home router translates. */
export interface RouterOptions {
  /** Random port per flow (endpoint-dependent mapping) instead of port-preserving. */
  symmetric?: boolean;
  /** Fraction (0..1) of packets from the home to the public side dropped at random. */
  loss?: number;
}

/** One running lab. */
export interface NatLab {
  /** Namespace names by role. */
  ns: { public: string; routerA: string; routerB: string; homeA: string; homeB: string };
  /** The public segment's server address (coturn listens here). */
  publicIp: string;
  /** Each router's public (masquerade) address. */
  routerIp: { A: string; B: string };
  /** Each home host's private address. */
  homeIp: { A: string; B: string };
  /** Spawn `command` inside a namespace; the child is killed on `destroy()`. */
  spawnIn(ns: string, command: string[], opts?: { cwd?: string }): ChildProcess;
  /** Set the random loss on a router's outbound forwarding path (0 removes it). */
  setLoss(router: 'A' | 'B', probability: number): Promise<void>;
  /** Packets each router dropped by the loss rule (iptables counters). */
  droppedByLoss(router: 'A' | 'B'): Promise<number>;
  /** Kill everything started inside and delete every namespace. Idempotent. */
  destroy(): Promise<void>;
}

let labCounter = 0;

/**
 * Build the lab. On any failure everything built so far is removed before the
 * error is thrown.
 */
export async function createNatLab(routers: { A?: RouterOptions; B?: RouterOptions } = {}): Promise<NatLab> {
  await cleanLeftovers();
  const base = `${NETNS_PREFIX}${process.pid}-${++labCounter}${randomBytes(2).toString('hex')}`;
  const ns = { public: `${base}-pub`, routerA: `${base}-rA`, routerB: `${base}-rB`, homeA: `${base}-hA`, homeB: `${base}-hB` };
  const children = new Set<ChildProcess>();
  const created: string[] = [];
  let destroyed = false;
  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await Promise.all([...children].map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
    for (const name of created) {
      await killInside(name);
      await sh(['ip', 'netns', 'del', name]).catch(() => undefined);
    }
  };
  const ipn = (name: string, ...args: string[]) => sh(['ip', '-n', name, ...args]);
  const inNs = (name: string, ...args: string[]) => sh(['ip', 'netns', 'exec', name, ...args]);
  const lossRule = (probability: number) => ['-i', 'lan', '-o', 'wan', '-m', 'statistic', '--mode', 'random', '--probability', String(probability), '-j', 'DROP'];
  const loss = { A: 0, B: 0 };
  try {
    for (const name of Object.values(ns)) {
      await sh(['ip', 'netns', 'add', name]);
      created.push(name);
      await ipn(name, 'link', 'set', 'lo', 'up');
    }
    await ipn(ns.public, 'link', 'add', 'br0', 'type', 'bridge');
    await ipn(ns.public, 'addr', 'add', '10.77.0.1/24', 'dev', 'br0');
    await ipn(ns.public, 'link', 'set', 'br0', 'up');
    for (const [side, n] of [['A', 1], ['B', 2]] as const) {
      const router = side === 'A' ? ns.routerA : ns.routerB;
      const home = side === 'A' ? ns.homeA : ns.homeB;
      const opts = routers[side] ?? {};
      await ipn(router, 'link', 'add', 'wan', 'type', 'veth', 'peer', 'name', `port${side}`, 'netns', ns.public);
      await ipn(ns.public, 'link', 'set', `port${side}`, 'master', 'br0');
      await ipn(ns.public, 'link', 'set', `port${side}`, 'up');
      await ipn(router, 'addr', 'add', `10.77.0.${n + 1}/24`, 'dev', 'wan');
      await ipn(router, 'link', 'set', 'wan', 'up');
      await ipn(home, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'lan', 'netns', router);
      await ipn(router, 'addr', 'add', `192.168.${n}.1/24`, 'dev', 'lan');
      await ipn(router, 'link', 'set', 'lan', 'up');
      await ipn(home, 'addr', 'add', `192.168.${n}.2/24`, 'dev', 'eth0');
      await ipn(home, 'link', 'set', 'eth0', 'up');
      await ipn(home, 'route', 'add', 'default', 'via', `192.168.${n}.1`);
      await inNs(router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
      const ipt = (...args: string[]) => inNs(router, 'iptables', '-w', ...args);
      await ipt('-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE', ...(opts.symmetric ? ['--random-fully'] : []));
      await ipt('-P', 'FORWARD', 'DROP');
      await ipt('-A', 'FORWARD', '-i', 'lan', '-o', 'wan', '-j', 'ACCEPT');
      await ipt('-A', 'FORWARD', '-i', 'wan', '-o', 'lan', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT');
      // Unsolicited packets to the router itself are dropped too: accepting
      // them would create conntrack entries that change later mappings.
      await ipt('-A', 'INPUT', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT');
      await ipt('-A', 'INPUT', '-i', 'wan', '-j', 'DROP');
      if (opts.loss) {
        await ipt('-I', 'FORWARD', '1', ...lossRule(opts.loss));
        loss[side] = opts.loss;
      }
    }
  } catch (err) {
    await destroy();
    throw err;
  }
  const routerNs = (r: 'A' | 'B') => (r === 'A' ? ns.routerA : ns.routerB);
  return {
    ns,
    publicIp: '10.77.0.1',
    routerIp: { A: '10.77.0.2', B: '10.77.0.3' },
    homeIp: { A: '192.168.1.2', B: '192.168.2.2' },
    spawnIn(name, command, opts = {}) {
      if (destroyed) throw new Error('the lab is destroyed');
      const child = spawn('ip', ['netns', 'exec', name, ...command], { stdio: ['pipe', 'pipe', 'pipe'], cwd: opts.cwd });
      children.add(child);
      return child;
    },
    async setLoss(router, probability) {
      const ipt = (...args: string[]) => inNs(routerNs(router), 'iptables', '-w', ...args);
      if (loss[router]) await ipt('-D', 'FORWARD', ...lossRule(loss[router]));
      loss[router] = probability;
      if (probability) await ipt('-I', 'FORWARD', '1', ...lossRule(probability));
    },
    async droppedByLoss(router) {
      const out = await inNs(routerNs(router), 'iptables', '-w', '-L', 'FORWARD', '-v', '-n', '-x');
      const line = out.split('\n').find((l) => l.includes('statistic mode random'));
      return line ? Number(line.trim().split(/\s+/)[0]) : 0;
    },
    destroy,
  };
}

/** coturn running in the lab's public namespace. */
export interface LabTurn {
  username: string;
  credential: string;
  stunUrl: string;
  turnUrl: string;
  log(): string;
}

/**
 * Start coturn in the public namespace on `publicIp:3478` (relaying from the
 * same address) and wait until it answers a STUN Binding Request sent from
 * inside the lab. The lab kills it on `destroy()`.
 */
export async function startLabTurn(lab: NatLab, turnserver: string): Promise<LabTurn> {
  const dir = await mkdtemp(join(tmpdir(), 'rtcmesh-labturn-'));
  const username = 'rtcmesh';
  const credential = randomBytes(9).toString('base64url');
  const ip = lab.publicIp;
  const child = lab.spawnIn(lab.ns.public, [
    turnserver,
    '-n',
    `--listening-ip=${ip}`,
    '--listening-port=3478',
    `--relay-ip=${ip}`,
    '--lt-cred-mech',
    `--user=${username}:${credential}`,
    '--realm=rtcmesh.test',
    '--no-tls',
    '--no-dtls',
    '--no-cli',
    '--no-tcp',
    '--no-rfc5780',
    `--pidfile=${join(dir, 'turnserver.pid')}`,
    `--db=${join(dir, 'turndb')}`,
    '--log-file=stdout',
    '--simple-log',
  ]);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  child.once('exit', () => void rm(dir, { recursive: true, force: true }));
  const probe = lab.spawnIn(lab.ns.homeA, [process.execPath, '--input-type=module', '-e', stunProbe(ip, 3478, 10_000)]);
  let probeOut = '';
  probe.stdout!.on('data', (d: Buffer) => (probeOut += d.toString()));
  probe.stderr!.on('data', (d: Buffer) => (probeOut += d.toString()));
  const code = await new Promise<number | null>((resolve) => probe.once('exit', (c) => resolve(c)));
  if (code !== 0) throw new Error(`coturn in the lab did not answer STUN: ${probeOut}\n${output}`);
  return { username, credential, stunUrl: `stun:${ip}:3478`, turnUrl: `turn:${ip}:3478?transport=udp`, log: () => output };
}

/** A tiny ES module that exits 0 once a STUN server answers (1 after timeoutMs). */
function stunProbe(host: string, port: number, timeoutMs: number): string {
  return `
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
const s = createSocket('udp4');
const req = Buffer.alloc(20);
req.writeUInt16BE(1, 0); req.writeUInt32BE(0x2112a442, 4); randomBytes(12).copy(req, 8);
s.on('error', () => {});
s.on('message', (m) => { if (m.length >= 20 && m.readUInt16BE(0) === 0x0101) process.exit(0); });
const send = () => s.send(req, ${port}, ${JSON.stringify(host)});
setInterval(send, 100); send();
setTimeout(() => { console.error('no STUN answer from ${host}:${port} within ${timeoutMs} ms'); process.exit(1); }, ${timeoutMs});
`;
}

/**
 * `describe(name, fn)` when a lab can be built and coturn exists; otherwise a
 * skipped suite with the reason printed or, under RTCMESH_REQUIRE_SYSTEM=1, a
 * failing one (like `describeSystem`).
 */
export function describeNatLab(name: string, fn: (turnserver: string) => void): void {
  const turnserver = systemBinary('turnserver', '/usr/bin/turnserver');
  const reason = natLabUnavailable() ?? (turnserver ? undefined : 'coturn (/usr/bin/turnserver) is not installed');
  if (reason === undefined) {
    describe(name, () => fn(turnserver!));
    return;
  }
  if (REQUIRE_SYSTEM) {
    describe(name, () => {
      it('needs network namespaces and coturn', () => {
        throw new Error(`${reason}; RTCMESH_REQUIRE_SYSTEM=1 forbids skipping`);
      });
    });
    return;
  }
  console.warn(`[rtcmesh] skipping "${name}": ${reason}`);
  describe.skip(name, () => fn(''));
}
