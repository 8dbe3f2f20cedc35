/**
 * The `rtcmesh` command line: help and version, one-line errors with hints and
 * distinct exit codes, serve's loopback default, bench, and a load test run by
 * real WebSocket clients against a real server on loopback.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../src/cli/exit-codes.js';
import { runCli } from '../src/cli/program.js';
import { runServe } from '../src/cli/serve.js';
import { SignalingServer } from './api.js';
import { runNode, waitUntil } from './helpers.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe('rtcmesh help and errors', () => {
  it('--help, -h and no arguments list every command, examples and the exit codes', async () => {
    for (const argv of [['--help'], ['-h'], []]) {
      const r = await cli(...argv);
      expect(r.code).toBe(ExitCode.OK);
      for (const c of ['demo', 'serve', 'bench', 'loadtest']) expect(r.out).toMatch(new RegExp(`^  ${c} `, 'm'));
      expect(r.out).toContain('Examples:');
      expect(r.out).toContain('Exit codes:');
      expect(r.err).toBe('');
    }
  });

  it('--version prints the package version', async () => {
    const r = await cli('--version');
    expect(r.code).toBe(0);
    expect(r.out.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('every command has help with examples', async () => {
    for (const c of ['demo', 'serve', 'bench', 'loadtest', 'demo-pair']) {
      for (const argv of [[c, '--help'], ['help', c]]) {
        const r = await cli(...argv);
        expect(r.code, argv.join(' ')).toBe(0);
        expect(r.out, argv.join(' ')).toMatch(/rtcmesh serve|usage|Usage/);
        expect(r.out, argv.join(' ')).toContain('Examples:');
      }
    }
  });

  it('a bad command line is one line plus a hint, exit code 2', async () => {
    for (const argv of [['bogus'], ['demo', '--peers', '99'], ['demo', '--nope'], ['serve', '--port', 'abc'], ['serve', '--bogus'], ['loadtest'], ['loadtest', 'http://x'], ['bench', 'no-such-suite']]) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(ExitCode.USAGE);
      const lines = r.err.trimEnd().split('\n');
      expect(lines, argv.join(' ')).toHaveLength(2);
      expect(lines[0]).toMatch(/^rtcmesh: /);
      expect(lines[1]).toMatch(/^ {2}hint: /);
    }
  });

  it('a port in use is exit code 3 with a hint', async () => {
    const server = new SignalingServer();
    const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
    try {
      const r = await cli('serve', '--port', String(port), '--quiet');
      expect(r.code).toBe(ExitCode.NETWORK);
      expect(r.err).toMatch(/EADDRINUSE/);
      expect(r.err).toMatch(/hint: .*--port/);
    } finally {
      await server.close();
    }
  });

  it('the installed bin runs as a process and sets its exit code', async () => {
    const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
    const ok = await runNode(main, ['--version']);
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const bad = await runNode(main, ['frobnicate']);
    expect(bad.code).toBe(ExitCode.USAGE);
    expect(bad.stderr).toBe('rtcmesh: unknown command \'frobnicate\'\n  hint: run "rtcmesh --help" for the commands\n');
  });
});

describe('rtcmesh serve', () => {
  it('binds 127.0.0.1 unless --host says otherwise', async () => {
    const lines: string[] = [];
    let stop!: (why: string) => void;
    const done = runServe(['--port', '0', '--quiet'], { out: (l) => lines.push(l), stop: new Promise<string>((r) => (stop = r)) });
    await waitUntil(() => lines.some((l) => l.includes('listening on')), 'listening line');
    expect(lines[0]).toMatch(/listening on ws:\/\/127\.0\.0\.1:\d+ \(bound to 127\.0\.0\.1:\d+\)/);
    stop('test');
    await done;
  });
});

describe('rtcmesh bench', () => {
  it('--list names the suites of bench/', async () => {
    const r = await cli('bench', '--list');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')).toEqual(expect.arrayContaining(['peer', 'mesh', 'signaling']));
  });
});

describe('rtcmesh loadtest', () => {
  it('joins real WebSocket clients to lobbies of a running server, relays and prints the table', async () => {
    const server = new SignalingServer();
    const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
    try {
      const r = await cli('loadtest', url, '--clients', '12', '--lobbies', '3', '--seconds', '0.5', '--rate', '20', '--json');
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toContain('joined 12/12');
      expect(r.out).toMatch(/join p50 ms +join p99 ms +sent +relayed +relayed\/s +errors/);
      const summary = JSON.parse(r.out.trimEnd().split('\n').at(-1)!) as Record<string, number>;
      expect(summary).toMatchObject({ clients: 12, lobbies: 3, joined: 12, errors: 0 });
      expect(summary.sent).toBeGreaterThan(0);
      // Every frame a client sent reached the peer it named, through the server.
      expect(summary.relayed).toBe(summary.sent);
      expect(summary.join_p99_ms).toBeGreaterThanOrEqual(summary.join_p50_ms!);
      // The server saw every join and relayed every frame; the clients left when done.
      expect(server.getStats().joins).toBe(12);
      expect(server.getStats().relayed).toBe(summary.sent);
      await waitUntil(() => server.getStats().lobbies === 0, 'lobbies closed');
    } finally {
      await server.close();
    }
  });

  it('an unreachable server is exit code 3', async () => {
    const server = new SignalingServer();
    const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
    await server.close();
    const r = await cli('loadtest', url, '--clients', '2', '--lobbies', '1', '--seconds', '0.1');
    expect(r.code).toBe(ExitCode.NETWORK);
    expect(r.err).toMatch(/^rtcmesh: loadtest: no client could join/);
  });
});
