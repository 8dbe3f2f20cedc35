/**
 * Signaling is sans-IO: the core and the client arm no timer and read no
 * clock; a memory bus in manual mode runs only when polled, and a run is
 * reproducible from its seed.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ErrorCode, MemorySignalingBus, isRtcmeshError, type MemorySignalingClient } from '../../src/index.js';
import { SignalingCore } from '../../src/signaling/core.js';
import { DeadlineQueue } from '../../src/signaling/deadlines.js';
import { MemoryTokenIssuer } from '../../src/signaling/tokens.js';
import { Rng } from '../../src/transport/virtual/rng.js';
import { seededRandom } from '../../src/util/sans-io.js';

const root = fileURLToPath(new URL('../../src/signaling/', import.meta.url));

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== 'drivers') out.push(...sources(path));
    } else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Poll `bus` from deadline to deadline (never past `until`) while `done()` is false; returns the time reached. */
async function run(bus: MemorySignalingBus, start: number, until: number, done: () => boolean): Promise<number> {
  let now = start;
  for (let steps = 0; steps < 100_000 && !done(); steps++) {
    await new Promise<void>((r) => setImmediate(r)); // let promise continuations (the client's) run
    if (done()) break;
    const next = bus.nextDeadline();
    if (next > until) {
      if (next === Infinity) continue;
      break;
    }
    now = Math.max(now, next);
    bus.poll(now);
  }
  return now;
}

describe('signaling is sans-IO', () => {
  it('no timer, clock, Math.random or crypto call in src/signaling outside drivers/', () => {
    const banned = /\b(setTimeout|setInterval|Date\.now|performance\.now|Math\.random|getRandomValues|randomBytes|randomUUID)\b|node:crypto/;
    const offenders: string[] = [];
    for (const file of sources(root)) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const code = line.replace(/\/\/.*$/, '').replace(/^\s*\*.*$/, '');
          if (banned.test(code)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(sources(root).length).toBeGreaterThan(8);
    expect(offenders).toEqual([]);
  });

  it('DeadlineQueue fires in time order (ties in scheduling order) and honours cancel', () => {
    const q = new DeadlineQueue();
    const rng = new Rng(5);
    const fired: number[] = [];
    const live = new Map<number, ReturnType<DeadlineQueue['schedule']>>();
    for (let i = 0; i < 2000; i++) {
      const at = rng.nextUint32() % 500;
      live.set(i, q.schedule(at, () => fired.push(i)));
    }
    const cancelled = new Set<number>();
    for (let i = 0; i < 2000; i += 3) {
      q.cancel(live.get(i));
      cancelled.add(i);
    }
    expect(q.size).toBe(2000 - cancelled.size);
    q.runDue(249);
    const expected = [...live.entries()]
      .filter(([i, d]) => !cancelled.has(i) && d.at <= 249)
      .sort(([ia, a], [ib, b]) => a.at - b.at || ia - ib)
      .map(([i]) => i);
    expect(fired).toEqual(expected);
    expect(q.next()).toBeGreaterThan(249);
    q.runDue(Infinity);
    expect(fired.length).toBe(2000 - cancelled.size);
    expect(q.next()).toBe(Infinity);
  });

  it("the core's grace timer is a deadline: the peer leaves on the poll at resumeGraceMs, not before", () => {
    let now = 1000;
    const core = new SignalingCore({ resumeGraceMs: 500, joinTimeoutMs: 0, clock: { now: () => now }, random: seededRandom(new Rng(1)) }, new MemoryTokenIssuer());
    const sent: string[][] = [[], []];
    const sessions = [0, 1].map((i) => core.open({ remote: `t${i}`, send: (t) => sent[i]!.push(t), close: () => {} })!);
    sessions[0]!.receive(JSON.stringify({ type: 'join', lobby: 'x' }), 30, false);
    sessions[1]!.receive(JSON.stringify({ type: 'join', lobby: 'x' }), 30, false);
    const left: number[] = [];
    core.on('peer_left', (_l, id) => left.push(id));
    now = 1200;
    sessions[1]!.closed(1006, 'gone');
    expect(core.nextDeadline()).toBe(1700);
    core.poll(1699);
    expect(left).toEqual([]);
    core.poll(1700);
    expect(left.length).toBe(1);
    expect(core.nextDeadline()).toBe(Infinity);
  });

  it("a joiner's wait for its host is a deadline of the core: LOBBY_NOT_FOUND on the poll at waitForHostMs", () => {
    let now = 0;
    const core = new SignalingCore({ joinTimeoutMs: 1000, clock: { now: () => now } }, new MemoryTokenIssuer());
    const sent: Record<string, unknown>[] = [];
    const s = core.open({ remote: 'w', send: (t) => sent.push(JSON.parse(t) as Record<string, unknown>), close: () => sent.push({ closed: true }) })!;
    now = 10;
    s.receive(JSON.stringify({ type: 'join', lobby: 'later', waitForHostMs: 5000 }), 60, false);
    expect(core.getStats().waitingForHost).toBe(1);
    expect(core.nextDeadline()).toBe(5010); // the wait replaced the join timeout (1000)
    core.poll(5009);
    expect(sent).toEqual([]);
    core.poll(5010);
    expect(sent).toEqual([expect.objectContaining({ type: 'error', code: ErrorCode.LOBBY_NOT_FOUND, ref: 'join' })]);
    expect(core.getStats().waitingForHost).toBe(0);
    expect(core.nextDeadline()).toBe(6010); // idle again: the join timeout runs anew
  });

  it('a manual bus does nothing until polled; its join timeout is a deadline', async () => {
    const bus = new MemorySignalingBus({ driver: 'manual', random: seededRandom(new Rng(3)) });
    const client = bus.createClient({ joinTimeoutMs: 1000 });
    bus.setReachable(client, false);
    let error: unknown;
    client.join({ lobby: 'a' }).catch((e: unknown) => (error = e));
    await new Promise<void>((r) => setImmediate(r));
    expect(bus.nextDeadline()).toBe(1000);
    bus.poll(999);
    await new Promise<void>((r) => setImmediate(r));
    expect(error).toBeUndefined();
    bus.poll(1000);
    await new Promise<void>((r) => setImmediate(r));
    expect(isRtcmeshError(error) && error.code).toBe(ErrorCode.TIMEOUT);
    bus.close();
  });

  it('a manual bus: frames wait for the poll; reconnect backoff is a deadline; a run is reproducible from its seed', async () => {
    async function scenario(seed: number) {
      const bus = new MemorySignalingBus({ driver: 'manual', random: seededRandom(new Rng(seed)), resumeGraceMs: 5000 });
      const clients: MemorySignalingClient[] = [];
      const log: string[] = [];
      const ids: number[] = [];
      let now = 0;
      for (let i = 0; i < 4; i++) {
        const c = bus.createClient({ reconnect: { baseDelayMs: 200, maxDelayMs: 1000 } });
        c.on('peer_joined', (id) => log.push(`${i} joined ${id} @${now}`));
        c.on('peer_detached', (id) => log.push(`${i} detached ${id} @${now}`));
        c.on('peer_attached', (id) => log.push(`${i} attached ${id} @${now}`));
        c.on('resumed', () => log.push(`${i} resumed @${now}`));
        clients.push(c);
        let result: { id: number; lobby: string } | undefined;
        void c.join({ lobby: i === 0 ? '' : clients[0]!.lobby! }).then((r) => (result = r));
        // Nothing crosses before a poll.
        await new Promise<void>((r) => setImmediate(r));
        expect(result).toBeUndefined();
        expect(bus.nextDeadline()).toBe(now);
        now = await run(bus, now, now, () => result !== undefined);
        ids.push(result!.id);
      }
      bus.interrupt(clients[2]!);
      now = await run(bus, now, now, () => log.some((l) => l.startsWith('2 resumed')) || bus.nextDeadline() > now);
      // Detached at once; the resume waits for the backoff deadline (in the future).
      expect(log.some((l) => l.includes(`detached ${ids[2]}`))).toBe(true);
      expect(log.some((l) => l.startsWith('2 resumed'))).toBe(false);
      const backoff = bus.nextDeadline();
      expect(backoff).toBeGreaterThan(now);
      expect(backoff).toBeLessThanOrEqual(now + 200);
      now = await run(bus, now, now + 10_000, () => log.some((l) => l.startsWith('2 resumed')) && log.filter((l) => l.includes('attached')).length === 3);
      expect(now).toBe(backoff);
      const lobby = clients[0]!.lobby;
      for (const c of clients) c.close();
      bus.close();
      return { ids, lobby, log, backoff };
    }
    const a = await scenario(11);
    const b = await scenario(11);
    const c = await scenario(12);
    expect(b).toEqual(a);
    expect(a.ids[0]).toBe(1);
    expect(c.lobby).not.toBe(a.lobby);
    expect(c.ids.slice(1)).not.toEqual(a.ids.slice(1));
    expect(c.backoff).not.toBe(a.backoff);
  });
});
