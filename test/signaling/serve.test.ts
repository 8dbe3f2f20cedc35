import { describe, expect, it } from 'vitest';
import { runServe } from '../../src/cli/serve.js';
import { ErrorCode, WebSocketSignalingClient } from '../../src/index.js';
import { waitUntil } from './helpers.js';

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

  it('refuses bad flags with a message naming the flag', async () => {
    await expect(runServe(['--port', 'abc'], { out: () => {} })).rejects.toThrow(/--port must be an integer/);
    await expect(runServe(['--rate-limit', 'lots'], { out: () => {} })).rejects.toThrow(/--rate-limit/);
    await expect(runServe(['--bogus'], { out: () => {} })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
  });
});
