/**
 * Claims of docs/benchmarks.md about what the commands print (not the
 * figures): the suite list and `rtcmesh loadtest`'s exit codes. Each `it()`
 * quotes the claim it checks.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { runCli } from '../../src/cli/program.js';
import { SignalingServer } from '../api.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const servers: SignalingServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close({ reconnect: false });
});

describe('docs/benchmarks.md', () => {
  it('"npx rtcmesh bench --list # the suite names": the same suites as the table of the page', async () => {
    const doc = readFileSync(fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url)), 'utf8');
    const table = doc.slice(doc.indexOf('| suite | what it measures |'), doc.indexOf('## Load-testing'));
    const documented = [...table.matchAll(/^\| `([a-z0-9]+)` \|/gm)].map((m) => m[1]!);
    const r = await cli('bench', '--list');
    expect(r.code).toBe(0);
    const listed = r.out.trim().split('\n').map((l) => l.trim());
    expect(documented.sort()).toEqual(listed.sort());
  });

  it('"rtcmesh loadtest … exits with code 4 when any error happened" (a lobby too small for its clients)', async () => {
    const server = new SignalingServer({ maxPeersPerLobby: 2, pingIntervalMs: 0 });
    servers.push(server);
    const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
    const r = await cli('loadtest', url, '--clients', '4', '--lobbies', '1', '--seconds', '0.2', '--rate', '5', '--json');
    expect(r.code).toBe(ExitCode.CHECK_FAILED);
    expect(ExitCode.CHECK_FAILED).toBe(4);
    expect(r.err).toMatch(/loadtest: \d+ error\(s\)/);
    // "prints join latency p50/p99, messages sent and relayed, relayed per second and errors (--json adds one JSON line)"
    expect(r.out).toMatch(/join p50 ms +join p99 ms +sent +relayed +relayed\/s +errors/);
    const summary = JSON.parse(r.out.trimEnd().split('\n').at(-1)!) as Record<string, number>;
    expect(summary.joined).toBe(2);
    expect(summary.errors).toBeGreaterThan(0);
  });
});
