/**
 * The RPC layer's sans-IO contract: the request table and the ticker are
 * state machines driven by poll(now) with nextDeadline(); timers, clock reads
 * and randomness live only in src/rpc/drivers/.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, isRtcmeshError } from '../../src/errors.js';
import { RpcEndpoint, Ticker, type AnyRpcMethods } from '../../src/rpc/index.js';
import { RequestTable } from '../../src/rpc/requests.js';
import { FakeHub } from './fake-mesh.js';
import { World, registerStandard } from './harness.js';

/** A clock that fails the test if read: proves a path is driven by the time it is given. */
const forbiddenClock = {
  now(): number {
    throw new Error('the clock was read');
  },
};

function pair(options?: ConstructorParameters<typeof World>[1]) {
  const hub = new FakeHub();
  const meshes = [hub.add(1, 'mesh'), hub.add(2, 'mesh')];
  hub.link(1, 2);
  return new World(meshes, options);
}

describe('request table', () => {
  it('expires requests at their deadlines and reports the soonest one', async () => {
    const table = new RequestTable((p) => new Error(`timeout ${p.name}`));
    expect(table.nextDeadline()).toBe(Infinity);
    const a = table.open(2, 'a', 300);
    const b = table.open(3, 'b', 100);
    const c = table.open(2, 'c', 200);
    expect([a.id, b.id, c.id]).toEqual([1, 2, 3]);
    expect(table.nextDeadline()).toBe(100);
    const settled: string[] = [];
    for (const [n, r] of [['a', a], ['b', b], ['c', c]] as const) r.promise.then(() => settled.push(`${n} ok`), (e: Error) => settled.push(e.message));
    table.poll(99);
    table.resolve(c.id, 'v'); // answered before its deadline
    expect(table.nextDeadline()).toBe(100);
    table.poll(100);
    expect(table.nextDeadline()).toBe(300);
    expect(table.size).toBe(1);
    table.poll(1e9);
    expect(table.nextDeadline()).toBe(Infinity);
    await Promise.resolve();
    expect(settled).toEqual(['c ok', 'timeout b', 'timeout a']);
  });
});

describe('endpoint deadlines', () => {
  it('nextDeadline() is the soonest request timeout; pollAt(now) expires it without reading the clock', async () => {
    let now = 1000;
    const world = pair({ clock: { now: () => now }, requestTimeoutMs: 1000 });
    await world.ready();
    const ep = world.ep(1);
    expect(ep.nextDeadline()).toBe(Infinity);
    const slow = ep.request(2, 'never'); // timeoutMs 100
    const echo = ep.request(2, 'echo', 5); // the endpoint's 1000
    expect(ep.nextDeadline()).toBe(1100);
    let state = 'pending';
    slow.catch((e: unknown) => (state = isRtcmeshError(e, ErrorCode.TIMEOUT) ? 'timeout' : 'other'));
    // From here on the endpoints get their time from the caller only.
    now = NaN;
    (ep as unknown as { clock: unknown }).clock = forbiddenClock;
    const other = world.ep(2) as unknown as { clock: unknown; pollAt(now: number): void; flush(): void };
    other.clock = forbiddenClock;
    const round = (t: number) => {
      ep.pollAt(t);
      other.pollAt(t);
      ep.flush();
      other.flush();
    };
    for (let i = 0; i < 3; i++) round(1099); // request out, answer back
    await expect(echo).resolves.toBe(5);
    expect(state).toBe('pending');
    expect(ep.nextDeadline()).toBe(1100);
    round(1100);
    await expect(slow).rejects.toMatchObject({ code: ErrorCode.TIMEOUT });
    expect(ep.nextDeadline()).toBe(Infinity);
    expect(() => ep.pollAt(NaN)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    const pollable = ep.asPollable();
    (ep as unknown as { clock: unknown }).clock = { now: () => 5000 }; // a request reads the clock for its deadline
    const p = ep.request(2, 'never');
    expect(pollable.nextDeadline()).toBe(5100);
    ep.flush();
    void p.catch(() => {});
    ep.close();
    expect(pollable.nextDeadline()).toBe(Infinity);
    await expect(p).rejects.toMatchObject({ code: ErrorCode.CLOSED });
  });
});

describe('ticker as a state machine', () => {
  it('poll(now) runs the ticks due at now, nextDeadline() is the next tick, and the endpoints get that now', async () => {
    const hub = new FakeHub();
    const [a, b] = [hub.add(1, 'mesh'), hub.add(2, 'mesh')];
    hub.link(1, 2);
    // Endpoints and ticker read no clock: every time comes from poll(now).
    const log: { at: number; sender: number; name: string; args: unknown[] }[] = [];
    const ea = registerStandard(new RpcEndpoint<AnyRpcMethods>(a, { clock: forbiddenClock }), log);
    const eb = registerStandard(new RpcEndpoint<AnyRpcMethods>(b, { clock: forbiddenClock }), log);
    const ticker = new Ticker([ea, eb], { rate: 50, clock: forbiddenClock, maxCatchUp: 2 });
    expect(ticker.nextDeadline()).toBe(-Infinity);
    expect(ticker.poll(500)).toBe(1);
    expect(ticker.nextDeadline()).toBe(520);
    expect(ticker.poll(519)).toBe(0);
    // A request's deadline is on the time it was made at: there is no clock to read, so it fails at once.
    await expect(ea.request(2, 'never')).rejects.toThrow('the clock was read');
    expect(ticker.poll(520)).toBe(1);
    expect(ticker.poll(600)).toBe(2); // 4 due, 2 run, 2 skipped
    expect([ticker.tick, ticker.overruns, ticker.skippedTicks]).toEqual([4, 1, 2]);
    expect(ticker.nextDeadline()).toBe(620);
    ea.rpcId(2, 'seq', 1);
    // Jumping from deadline to deadline, as a virtual network's runner does.
    for (let i = 0; i < 3; i++) ticker.poll(ticker.nextDeadline());
    expect(log).toEqual([{ at: 2, sender: 1, name: 'seq', args: [1] }]);
    expect(ticker.tick).toBe(7);
    expect(() => ticker.poll(NaN)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
  });
});

describe('sans-IO sources', () => {
  it('src/rpc has no timers, clock reads or randomness outside drivers/', () => {
    const root = join(import.meta.dirname, '../../src/rpc');
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) {
          if (name !== 'drivers') walk(p);
        } else if (p.endsWith('.ts')) files.push(p);
      }
    };
    walk(root);
    expect(files.length).toBeGreaterThan(10);
    const forbidden = /\b(setTimeout|setInterval|setImmediate|Date\.now|performance\.now|Math\.random|crypto\.)/;
    const offenders = files.flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, at: `${relative(root, f)}:${i + 1}` }))
        .filter(({ line }) => !/^\s*(\*|\/\/)/.test(line) && forbidden.test(line))
        .map(({ at, line }) => `${at}: ${line.trim()}`),
    );
    expect(offenders).toEqual([]);
    expect(readFileSync(join(root, 'drivers/ticker-loop.ts'), 'utf8')).toMatch(/RealtimeDriver/);
  });
});
