/**
 * `rtcmesh demo` (what `npm start` runs) forms a real mesh, prints live
 * stats, and exits by itself when told to stop.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('rtcmesh demo forms a full mesh, prints stats and exits cleanly', async () => {
  const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, 'demo', '--peers', '4', '--seconds', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`demo did not exit; stdout: ${stdout}; stderr: ${stderr}`));
    }, 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  expect(result.stderr).toBe('');
  expect(result.stdout).toMatch(/signaling server listening on ws:\/\/127\.0\.0\.1:\d+/);
  expect(result.stdout).toMatch(/full mesh formed: 4 peers, 6 links/);
  expect(result.stdout).toMatch(/peer links rtt ms/);
  expect(result.stdout).toContain('closed every peer and the server; exiting');
  expect(result.code).toBe(0);
});
