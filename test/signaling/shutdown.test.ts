import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, client, startServer, waitForEvent } from './helpers.js';

afterEach(cleanup);

const script = fileURLToPath(new URL('./fixtures/lifecycle.ts', import.meta.url));

/** Run a script with tsx; resolve with its exit code and output (it must exit by itself). */
function run(file: string, timeoutMs = 30_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child did not exit by itself within ${timeoutMs} ms (open handles?)\n${out}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('shutdown', () => {
  it('closing the server and clients leaves no open handles: the process exits by itself', async () => {
    const { code, out } = await run(script);
    expect(out).toContain('lifecycle ok');
    const resources = JSON.parse(/resources (.*)/.exec(out)?.[1] ?? '[]') as string[];
    expect(resources.filter((r) => r === 'Timeout')).toEqual([]);
    expect(code).toBe(0);
  });

  it('close() tells clients, refuses new connections and empties the stats', async () => {
    const { server, url } = await startServer();
    const a = client(url);
    await a.join({ lobby: 'x' });
    const closed = waitForEvent<[string]>(a, 'closed');
    await server.close({ reconnect: false, reason: 'bye' });
    await closed;
    expect(server.getStats()).toMatchObject({ connections: 0, lobbies: 0, peers: 0 });
    await expect(client(url).join()).rejects.toMatchObject({ code: 'CLOSED' });
    await server.close(); // idempotent
  });
});
