/**
 * `rtcmesh demo` (what `npm start` runs): the arena game on loopback. An
 * embedded signaling server, a host process (`Mesh.host`, id 1) and N-1 bot
 * processes (`Mesh.join`, node-datachannel) form one mesh lobby; bots stream
 * their stick to the host through the sync input stream, the host moves
 * every player and orb and replicates them with the sync layer (delta
 * snapshots per client, spatial interest), chat goes over reliable RPC. The
 * game page is served on http://127.0.0.1:PORT so a person can play in the
 * same lobby. The terminal shows a per-link table (RTT from the heartbeat
 * ping, packets/s, bytes/s, loss, candidates, reconnects) and a per-peer sync
 * table (objects, bytes per tick per client, acks, input lag). A peer process
 * that dies (try `kill -9`) is detected by the others and restarted; a
 * restarted host reclaims id 1 with the demo's host key.
 * `--virtual` runs the same game on the virtual network (demo/virtual-run.ts).
 * @module
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { SignalingServer } from '../signaling/drivers/server.js';
import type { ParentMessage, PeerMessage } from './demo/messages.js';
import { Screen } from './demo/screen.js';
import { StatsBoard, type DemoSummary } from './demo/stats-board.js';
import { syncLine } from './demo/sync-board.js';

/** Options of {@link runMeshDemo} (parsed and validated by the CLI). */
export interface MeshDemoOptions {
  peers: number;
  /** 0 = until Ctrl-C. */
  seconds: number;
  /** Signaling server port (0 = any free port). */
  port: number;
  /** Game page port (0 = any free port); undefined = no page. */
  webPort?: number;
  lobby: string;
  json: boolean;
  virtual?: { latencyMs: number; jitterMs: number; loss: number; seed: number };
  /** Where output goes (default stdout) and whether it is a terminal. */
  out?: (text: string) => void;
  tty?: boolean;
}

const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const PEER_PROCESS = new URL(`./demo/peer-process${EXT}`, import.meta.url);

/** Run the demo until `--seconds` or Ctrl-C. */
export async function runMeshDemo(o: MeshDemoOptions): Promise<DemoSummary> {
  const write = o.out ?? ((t: string) => process.stdout.write(t));
  const screen = new Screen(write, o.tty ?? process.stdout.isTTY === true);
  if (o.virtual) {
    const { runVirtualDemo } = await import('./demo/virtual-run.js');
    const summary = await runVirtualDemo({ peers: o.peers, seconds: o.seconds || 10, lobby: o.lobby, ...o.virtual }, screen);
    if (o.json) write(`${JSON.stringify(summary)}\n`);
    return summary;
  }

  const t0 = performance.now();
  const server = new SignalingServer({ pingIntervalMs: 0 });
  const { url } = await server.listen({ port: o.port, host: '127.0.0.1' });
  screen.line(`rtcmesh demo: signaling server on ${url}, lobby "${o.lobby}"`);
  let web: { url: string; close(): Promise<void> } | undefined;
  if (o.webPort !== undefined) {
    const { serveGamePage } = await import('./demo/web.js');
    web = await serveGamePage({ port: o.webPort, signaling: url, lobby: o.lobby });
    screen.line(`play in the browser: ${web.url}   (join from code: Mesh.join({ signaling: '${url}', lobby: '${o.lobby}' }))`);
  }

  const board = new StatsBoard();
  const hostKey = randomBytes(16).toString('hex'); // lets a restarted host process reclaim id 1
  const children = new Map<string, ChildProcess>();
  const joined = new Set<string>();
  let stopping = false;
  const names = ['host', ...Array.from({ length: o.peers - 1 }, (_, i) => `bot${i + 1}`)];
  board.order = names;
  const expectedLinks = (o.peers * (o.peers - 1)) / 2;
  let formed = false;
  const guestsSeen = new Set<string>();

  const start = (name: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const child = fork(PEER_PROCESS, [url, o.lobby, name, name === 'host' ? 'host' : 'bot', hostKey], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.set(name, child);
      child.on('message', (m: PeerMessage) => {
        if (m.type === 'joined') {
          board.name(m.id, name);
          joined.add(name);
          if (!stopping) screen.line(`${name} joined as peer ${m.id} (pid ${child.pid})`);
          resolve();
        } else if (m.type === 'stats') {
          board.report(name, m.id, m.links, m.counters, m.players, performance.now(), m.sync);
          // Players the demo did not start (a person on the page, your own code).
          for (const p of m.players) {
            const key = `${name}>${p.id}`;
            if (names.includes(p.name) || guestsSeen.has(key)) continue;
            guestsSeen.add(key);
            if (!stopping) screen.line(`${name} sees player "${p.name}" (peer ${p.id})`);
          }
        } else if (m.type === 'event' && !stopping) {
          screen.line(`${name}: ${m.text}`);
        }
      });
      child.once('exit', (code, signal) => {
        if (children.get(name) === child) children.delete(name);
        if (!joined.has(name)) reject(new Error(`${name} exited before joining (code ${code}, signal ${signal})`));
        joined.delete(name);
        if (stopping) return;
        screen.line(`${name} (pid ${child.pid}) died (${signal ?? `exit code ${code}`}); restarting it`);
        board.restarted(name);
        start(name).catch((err: unknown) => screen.line(`could not restart ${name}: ${err instanceof Error ? err.message : String(err)}`));
      });
    });

  screen.line(`starting ${names.length} peer processes: ${names.join(', ')}`);
  await start('host');
  await Promise.all(names.slice(1).map(start));

  const refresh = setInterval(() => {
    const links = board.connectedLinks();
    if (!formed && links >= expectedLinks) {
      formed = true;
      screen.line(`full mesh formed: ${o.peers} peers, ${expectedLinks} link${expectedLinks === 1 ? "" : "s"}, in ${(performance.now() - t0).toFixed(0)} ms`);
    }
    if (screen.live) screen.block(`${board.table()}${formed ? '' : `connecting: ${links}/${expectedLinks} links\n`}Ctrl-C stops`);
  }, 500);
  const plain = screen.live ? undefined : setInterval(() => screen.line(`\n${board.table().trimEnd()}`), 2000);

  let onSignal: (sig: string) => void = () => {};
  const why = await new Promise<string>((resolve) => {
    onSignal = (sig: string) => resolve(sig);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    if (o.seconds > 0) setTimeout(() => resolve('time'), o.seconds * 1000).unref();
  });
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  stopping = true;
  clearInterval(refresh);
  if (plain) clearInterval(plain);
  screen.block(board.table());
  screen.release();
  const summary = board.summary((performance.now() - t0) / 1000);
  await Promise.all(
    [...children.values()].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.send({ type: 'stop' } satisfies ParentMessage, () => {});
          setTimeout(() => child.kill('SIGKILL'), 5000).unref();
        }),
    ),
  );
  await web?.close();
  await server.close();
  if (!o.json) screen.line(`\nsummary: ${summary.peers} peers, ${summary.links} link${summary.links === 1 ? "" : "s"}, rtt p50 ${summary.rtt_p50_ms} ms p99 ${summary.rtt_p99_ms} ms, ${summary.msgs} messages, ${summary.lost_reliable} reliable lost, ${summary.reconnects} reconnects, ${summary.restarts} restarts`);
  if (!o.json) screen.line(syncLine(summary));
  screen.line(`stopped (${why}): closed every peer process, the page and the server`);
  if (o.json) write(`${JSON.stringify(summary)}\n`);
  return summary;
}
