/**
 * Every example runs to completion and exits by itself: the examples are
 * part of the documentation and must keep working.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

function runExample(name: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = fileURLToPath(new URL(`../examples/${name}`, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not exit within 60 s; stdout: ${stdout}; stderr: ${stderr}`));
    }, 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('examples', () => {
  it('two-peers.ts prints what B received and exits', async () => {
    const r = await runExample('two-peers.ts');
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain("B received { hello: 'world', tick: 1 }");
    expect(r.code).toBe(0);
  });

  it('star-by-hand.ts gets a reply from every client and exits', async () => {
    const r = await runExample('star-by-hand.ts');
    expect(r.stderr).toBe('');
    for (const id of [2, 3, 4]) expect(r.stdout).toContain(`server got "thanks from ${id}" from ${id}`);
    expect(r.code).toBe(0);
  });
});
