/**
 * Every example runs to completion and exits by itself: the examples are
 * part of the documentation and must keep working.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runNode } from './helpers.js';

const example = (name: string) => runNode(fileURLToPath(new URL(`../examples/${name}`, import.meta.url)));

describe('examples', () => {
  it('hello/hello.ts: two peers join a lobby, greet each other over RPC and exit', async () => {
    const r = await example('hello/hello.ts');
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('ann got a greeting from bob');
    expect(r.stdout).toContain('bob got a greeting from ann');
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('done');
    expect(r.code).toBe(0);
  });

  it('netcode-test: the vitest example passes on the virtual network', async () => {
    const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
    const config = fileURLToPath(new URL('../examples/netcode-test/vitest.config.ts', import.meta.url));
    const r = await runNode(vitest, ['run', '--config', config, '--reporter', 'verbose'], [], 120_000);
    expect(r.stdout).toMatch(/1 passed/);
    expect(r.stdout).toContain('no chat is lost');
    expect(r.code).toBe(0);
  }, 150_000);

  it('two-peers.ts prints what B received and exits', async () => {
    const r = await example('two-peers.ts');
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain("B received { hello: 'world', tick: 1 }");
    expect(r.code).toBe(0);
  });

  it('star-by-hand.ts gets a reply from every client and exits', async () => {
    const r = await example('star-by-hand.ts');
    expect(r.stderr).toBe('');
    for (const id of [2, 3, 4]) expect(r.stdout).toContain(`server got "thanks from ${id}" from ${id}`);
    expect(r.code).toBe(0);
  });

  it('game-server/run.ts: the host sees 3 bots, every bot sees every player and the chat, and it exits', async () => {
    const r = await example('game-server/run.ts');
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('host sees 3 clients');
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('bot '));
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toMatch(/sees p\d+ \(.*\), p\d+ \(.*\), p\d+ \(.*\); chat: \d+: hello arena$/);
    expect(r.code).toBe(0);
  });
});
