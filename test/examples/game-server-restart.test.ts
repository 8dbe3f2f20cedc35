/**
 * docs/game-server.md, "When the host restarts", with the example's own code:
 * the host runs as a program (examples/game-server/host.ts), is killed with
 * SIGKILL and started again with its host key. Its bots keep their ids, see
 * `peer_restarted(1)`, start their sync afresh, and see every player move
 * again, replicated by the new host. Real node-datachannel on loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { startBot } from '../../examples/game-server/bot.js';
import type { ArenaClient } from '../../examples/game-server/client.js';
import { SignalingServer } from '../api.js';
import { LOOPBACK, waitUntil } from '../helpers.js';

const TIMEOUT = 30_000;
const HOST = fileURLToPath(new URL('../../examples/game-server/host.ts', import.meta.url));
const KEY = 'arena-host-secret';

/** Start host.ts; resolves once it printed that it hosts the lobby as peer 1. */
function runHost(url: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', HOST, url, 'arena', KEY, '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('hosting lobby "arena" as peer 1')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`host.ts exited with ${code} before hosting; stdout: ${out}; stderr: ${err}`)));
  });
}

const children: ChildProcess[] = [];
const bots: ArenaClient[] = [];
let signaling: SignalingServer | undefined;
afterAll(async () => {
  for (const bot of bots) bot.close();
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await signaling?.close();
});

const allMove = (bot: ArenaClient, ids: number[]) =>
  bot.players().length === ids.length && ids.every((id) => bot.players().some((p) => p.peer === id && p.moved));

it('a host killed and restarted with its key gets id 1 back; bots keep their ids and see players move again', async () => {
  signaling = new SignalingServer({ hostKey: KEY, resumeGraceMs: 20_000 });
  const { url } = await signaling.listen({ port: 0, host: '127.0.0.1' });
  children.push(await runHost(url));
  for (let i = 0; i < 3; i++) bots.push(await startBot(url, 'arena', LOOPBACK));
  const ids = bots.map((b) => b.mesh.getUniqueId());
  for (const bot of bots) await waitUntil(() => allMove(bot, ids), 'every bot sees every player move', TIMEOUT);

  const restarted = bots.map(() => false);
  /** Where each bot saw each player when the host came back. */
  const atRestart = bots.map(() => new Map<number, string>());
  const where = (p: { x: number; y: number }) => `${p.x},${p.y}`;
  const disconnected: number[] = [];
  bots.forEach((bot, i) => {
    bot.mesh.on('peer_restarted', (id) => {
      if (id !== 1) return;
      restarted[i] = true;
      for (const p of bot.players()) atRestart[i]!.set(p.peer, where(p));
    });
    bot.mesh.on('peer_disconnected', (id) => disconnected.push(id));
  });

  const old = children[0]!;
  const exited = new Promise((resolve) => old.once('exit', resolve));
  old.kill('SIGKILL');
  await exited;
  children.push(await runHost(url)); // reclaims id 1 with its key (it would fail with HOST_TAKEN otherwise)

  await waitUntil(() => restarted.every(Boolean), 'every bot sees peer_restarted(1)', TIMEOUT);
  expect(bots.map((b) => b.mesh.getUniqueId())).toEqual(ids);
  // The new host's snapshots arrive: every player moves, away from where it was when the host came back.
  for (const [i, bot] of bots.entries()) {
    await waitUntil(() => allMove(bot, ids) && bot.players().every((p) => atRestart[i]!.get(p.peer) !== where(p)), 'every bot sees every player move again', TIMEOUT);
  }
  expect(disconnected).not.toContain(1);
  for (const bot of bots) expect(bot.mesh.getPeerIds()).toContain(1);

  // Ctrl-C: the host leaves the lobby, the bots see it go, and the process exits by itself.
  const host = children[1]!;
  const code = new Promise((resolve) => host.once('exit', (c) => resolve(c)));
  host.kill('SIGINT');
  expect(await code).toBe(0);
  await waitUntil(() => disconnected.filter((id) => id === 1).length === 3, 'every bot sees the host leave', TIMEOUT);
});
