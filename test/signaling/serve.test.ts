import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runServe } from '../../src/cli/serve.js';
import { ErrorCode, WebSocketSignalingClient, turnCredential } from '../api.js';
import { cleanup, raw, waitUntil } from './helpers.js';

afterEach(cleanup);

describe('rtcmesh serve', () => {
  it('prints where it listens, logs one line per event and shuts down on stop', async () => {
    const lines: string[] = [];
    let stop!: (why: string) => void;
    const done = runServe(['--port', '0', '--host', '127.0.0.1', '--max-peers', '2', '--rate-limit', '50/1000'], {
      out: (l) => lines.push(l),
      stop: new Promise<string>((r) => (stop = r)),
    });
    await waitUntil(() => lines.some((l) => l.includes('listening on')), 'listening line');
    const url = /listening on (ws:\/\/\S+)/.exec(lines.join('\n'))![1]!;
    const a = new WebSocketSignalingClient(url);
    const b = new WebSocketSignalingClient(url);
    const c = new WebSocketSignalingClient(url);
    await a.join({ lobby: 'cli' });
    await b.join({ lobby: 'cli' });
    await expect(c.join({ lobby: 'cli' })).rejects.toMatchObject({ code: ErrorCode.LOBBY_FULL });
    await waitUntil(() => lines.some((l) => / client_error .*code=LOBBY_FULL/.test(l)), 'client_error line');
    expect(lines.some((l) => / lobby_created lobby=cli mode=mesh$/.test(l))).toBe(true);
    expect(lines.filter((l) => / peer_joined lobby=cli /.test(l))).toHaveLength(2);
    stop('test');
    await done;
    for (const x of [a, b, c]) x.close();
    const shutdownAt = lines.findIndex((l) => / shutdown reason=test$/.test(l));
    expect(shutdownAt).toBeGreaterThan(0);
    expect(lines.slice(shutdownAt + 1, -1).every((l) => / disconnection /.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/ closed$/);
  });

  it('serves Prometheus metrics on --metrics-port', async () => {
    const lines: string[] = [];
    let stop!: (why: string) => void;
    const done = runServe(['--port', '0', '--host', '127.0.0.1', '--metrics-port', '0', '--quiet'], {
      out: (l) => lines.push(l),
      stop: new Promise<string>((r) => (stop = r)),
    });
    await waitUntil(() => lines.some((l) => l.includes('/metrics')), 'metrics line');
    const url = /listening on (ws:\/\/\S+)/.exec(lines.join('\n'))![1]!;
    const metricsUrl = /metrics on (http:\/\/\S+)/.exec(lines.join('\n'))![1]!;
    const a = new WebSocketSignalingClient(url);
    await a.join({ lobby: 'm' });
    const text = await (await fetch(metricsUrl)).text();
    expect(text).toMatch(/^# HELP /m);
    expect(text).toMatch(/^rtcmesh_signaling_\w+ /m);
    expect((await fetch(metricsUrl.replace('/metrics', '/other'))).status).toBe(404);
    a.close();
    stop('test');
    await done;
  });

  it('--turn-secret/--turn-url/--turn-ttl hand out TURN credentials with the join', async () => {
    const lines: string[] = [];
    let stop!: (why: string) => void;
    const done = runServe(
      ['--port', '0', '--host', '127.0.0.1', '--quiet', '--turn-secret', 'cli-secret', '--turn-url', 'turn:127.0.0.1:3478,turns:127.0.0.1:5349', '--turn-ttl', '60'],
      { out: (l) => lines.push(l), stop: new Promise<string>((r) => (stop = r)) },
    );
    await waitUntil(() => lines.some((l) => l.includes('listening on')), 'listening line');
    const url = /listening on (ws:\/\/\S+)/.exec(lines.join('\n'))![1]!;
    const a = new WebSocketSignalingClient(url);
    const joined = await a.join({ lobby: 'turn' });
    const ice = joined.iceServers![0]!;
    expect(ice.urls).toEqual(['turn:127.0.0.1:3478', 'turns:127.0.0.1:5349']);
    const expiry = Number(ice.username!.split(':')[0]);
    expect(ice.username).toBe(`${expiry}:turn:${joined.id}`);
    expect(ice.credential).toBe(turnCredential('cli-secret', `turn:${joined.id}`, 0, expiry * 1000).credential);
    expect(expiry - Date.now() / 1000).toBeGreaterThan(50);
    a.close();
    stop('test');
    await done;
    await expect(runServe(['--turn-url', 'turn:h:1'], { out: () => {} })).rejects.toThrow(/--turn-secret/);
    await expect(runServe(['--turn-secret', 'x'], { out: () => {} })).rejects.toThrow(/--turn-url/);
  });

  it('refuses bad flags with a message naming the flag', async () => {
    await expect(runServe(['--port', 'abc'], { out: () => {} })).rejects.toThrow(/--port must be an integer/);
    await expect(runServe(['--rate-limit', 'lots'], { out: () => {} })).rejects.toThrow(/--rate-limit/);
    await expect(runServe(['--bogus'], { out: () => {} })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
  });

  it('the real command stops on SIGTERM: it tells its clients (shutdown, reconnect), closes their sockets (1001) and exits 0', async () => {
    const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', main, 'serve', '--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    try {
      await waitUntil(() => /listening on ws:\/\/\S+/.test(stdout) || child.exitCode !== null, 'the listening line', 30_000);
      const url = /listening on (ws:\/\/\S+)/.exec(stdout)?.[1];
      expect(url, `stdout: ${stdout}\nstderr: ${stderr}`).toBeDefined();
      const a = await raw(url!);
      a.send({ type: 'join', lobby: 'sigterm' });
      await a.next((m) => m.type === 'joined');
      const b = await raw(url!);
      b.send({ type: 'join', lobby: 'sigterm' });
      await b.next((m) => m.type === 'joined');

      child.kill('SIGTERM');
      for (const r of [a, b]) {
        expect(await r.next((m) => m.type === 'shutdown')).toEqual({ type: 'shutdown', reason: 'server stopped (SIGTERM)', reconnect: true });
        expect((await r.closed).code).toBe(1001);
      }
      const limit = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const result = await exited;
      clearTimeout(limit);
      expect(result, `stderr: ${stderr}`).toEqual({ code: 0, signal: null });
      expect(stderr).toBe('');
      const lines = stdout.trimEnd().split('\n');
      expect(lines.some((l) => / shutdown reason=SIGTERM$/.test(l))).toBe(true);
      expect(lines.at(-1)).toMatch(/ closed$/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
