/**
 * `rtcmesh loadtest <ws-url>`: N real WebSocket signaling clients join M
 * lobbies of a running server (bounded concurrency), then relay ICE-candidate
 * frames to each other at a fixed rate; a progress bar while joining and a
 * final table: join latency p50/p99, relayed/s, errors.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { WebSocketSignalingClient } from '../signaling/drivers/websocket-client.js';
import { percentile, renderTable } from './table.js';

/** Options of {@link runLoadtest}. */
export interface LoadtestOptions {
  url: string;
  clients: number;
  lobbies: number;
  seconds: number;
  /** Relay frames per second per client. */
  rate: number;
  concurrency: number;
  json: boolean;
  tty: boolean;
  out: (text: string) => void;
}

/** What a load test measured. */
export interface LoadtestReport {
  clients: number;
  lobbies: number;
  joined: number;
  join_p50_ms: number;
  join_p99_ms: number;
  sent: number;
  relayed: number;
  relayed_per_s: number;
  errors: number;
  firstError?: string;
}

interface Member {
  client: WebSocketSignalingClient;
  lobby: number;
  id: number;
  peers: Set<number>;
}

/** Run a load test against a server. Resolves with the figures (errors counted, not thrown). */
export async function runLoadtest(o: LoadtestOptions): Promise<LoadtestReport> {
  const tag = randomBytes(4).toString('hex');
  const joinMs: number[] = [];
  const members: Member[] = [];
  const all: WebSocketSignalingClient[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const fail = (what: string) => {
    errors++;
    firstError ??= what;
  };
  let relayed = 0;
  let relaying = false;
  const progress = progressBar(o, o.clients);

  let next = 0;
  const joinOne = async (i: number) => {
    const client = new WebSocketSignalingClient(o.url, { reconnect: { maxAttempts: 0 }, pingIntervalMs: 0 });
    all.push(client);
    const member: Member = { client, lobby: i % o.lobbies, id: 0, peers: new Set() };
    client.on('peer_joined', (id) => member.peers.add(id));
    client.on('peer_left', (id) => member.peers.delete(id));
    client.on('candidate', () => relayed++);
    client.on('error', (err) => fail(err.message));
    client.on('closed', (reason) => {
      if (relaying || member.id === 0) fail(`client closed: ${reason}`);
    });
    const t0 = performance.now();
    try {
      const result = await client.join({ lobby: `loadtest-${tag}-${member.lobby}` });
      joinMs.push(performance.now() - t0);
      member.id = result.id;
      for (const p of result.peers) member.peers.add(p);
      members.push(member);
      progress.tick(true);
    } catch (err) {
      fail(err instanceof Error ? err.message : String(err));
      progress.tick(false);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(o.concurrency, o.clients) }, async () => {
      while (next < o.clients) await joinOne(next++);
    }),
  );
  progress.done();

  // Relay phase: every client sends `rate` candidates per second to a peer of its lobby.
  relaying = true;
  let sent = 0;
  const t0 = performance.now();
  const periodMs = 1000 / o.rate;
  const timer = setInterval(() => {
    for (const m of members) {
      if (m.peers.size === 0 || m.client.closed) continue;
      const peers = [...m.peers];
      const to = peers[sent % peers.length]!;
      try {
        m.client.sendCandidate(to, '0', 0, `candidate:1 1 udp 2122260223 127.0.0.1 ${10000 + (sent % 50000)} typ host`);
        sent++;
      } catch (err) {
        fail(err instanceof Error ? err.message : String(err));
      }
    }
  }, periodMs);
  await new Promise((resolve) => setTimeout(resolve, o.seconds * 1000));
  clearInterval(timer);
  // Let the last frames arrive before counting.
  await new Promise((resolve) => setTimeout(resolve, Math.min(500, 2 * periodMs)));
  const elapsed = (performance.now() - t0) / 1000;
  relaying = false;
  // Leave first so the server frees the places now instead of holding them for a resume.
  for (const m of members) if (!m.client.closed) m.client.leave();
  for (const c of all) c.close();

  const sorted = joinMs.sort((a, b) => a - b);
  const report: LoadtestReport = {
    clients: o.clients,
    lobbies: o.lobbies,
    joined: members.length,
    join_p50_ms: round(percentile(sorted, 0.5)),
    join_p99_ms: round(percentile(sorted, 0.99)),
    sent,
    relayed,
    relayed_per_s: Math.round(relayed / elapsed),
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
  };
  o.out(
    renderTable(
      ['clients', 'lobbies', 'joined', 'join p50 ms', 'join p99 ms', 'sent', 'relayed', 'relayed/s', 'errors'],
      [[report.clients, report.lobbies, report.joined, report.join_p50_ms, report.join_p99_ms, report.sent, report.relayed, report.relayed_per_s, report.errors].map(String)],
    ),
  );
  if (o.json) o.out(`${JSON.stringify(report)}\n`);
  return report;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Join progress: a one-line bar redrawn in place on a TTY, a line per 10 % elsewhere; attempts drive it, successes are what it reports as joined. */
function progressBar(o: LoadtestOptions, total: number): { tick(joined: boolean): void; done(): void } {
  let count = 0;
  let ok = 0;
  let lastDecile = -1;
  const draw = () => {
    const width = 30;
    const filled = Math.round((count / total) * width);
    o.out(`\rjoining [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${ok}/${total} joined${count > ok ? `, ${count - ok} failed` : ''}`);
  };
  return {
    tick(joined) {
      count++;
      if (joined) ok++;
      if (o.tty) return draw();
      const decile = Math.floor((count / total) * 10);
      if (decile !== lastDecile) {
        lastDecile = decile;
        o.out(`joined ${ok}/${total}${count > ok ? ` (${count - ok} failed)` : ''}\n`);
      }
    },
    done() {
      if (o.tty) o.out('\n');
    },
  };
}
