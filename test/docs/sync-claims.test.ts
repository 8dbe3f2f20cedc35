/**
 * Claims of docs/sync.md (schemas, host, client, inputs, parts, mesh mode),
 * checked with in-memory transports (the sync layer is sans-IO and
 * transport-agnostic; test/sync covers the real engines). Each `it()` quotes
 * the claim it checks.
 */
import { describe, expect, it } from 'vitest';
import { defineSchema, ErrorCode, SyncClient, SyncErrorCode, SyncHost, SyncPeer, t, type SyncErrorEvent } from '../api.js';
import { MemoryLinks, memoryHostAndClient } from '../sync/harness.js';

const Unit = defineSchema('unit', { pos: t.vec2(t.quant(-100, 100, 0.01)), hp: t.uint8, label: t.string() });
const Input = defineSchema('input', { mx: t.int8 });

function world(options: { host?: Partial<ConstructorParameters<typeof SyncHost>[1]>; client?: Partial<ConstructorParameters<typeof SyncClient>[1]> } = {}) {
  return memoryHostAndClient({ schemas: [Unit], inputSchema: Input, ...options.host }, { schemas: [Unit], inputSchema: Input, ...options.client }, 1000);
}

describe('docs/sync.md: schemas', () => {
  it('"t.string(maxBytes = 64)": 64 UTF-8 bytes are accepted, 65 are refused with INVALID_ARGUMENT', () => {
    const { host } = world();
    expect(() => host.spawn(Unit, { pos: { x: 0, y: 0 }, hp: 1, label: 'é'.repeat(32) })).not.toThrow();
    expect(() => host.spawn(Unit, { pos: { x: 0, y: 0 }, hp: 1, label: 'é'.repeat(32) + 'x' })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
  });

  it('"Values are normalised when set, so what the host reads back (obj.get()) is exactly what clients decode"; quant values outside are clamped', () => {
    const w = world();
    const obj = w.host.spawn(Unit, { pos: { x: 1.23456, y: 1000 }, hp: 7, label: 'a' });
    expect(obj.get('pos').x).toBeCloseTo(1.23, 9); // on the 0.01 grid
    expect(obj.get('pos').y).toBe(100); // clamped
    w.round();
    const replica = w.client.objects.get(obj.id)!;
    expect(replica.state).toEqual(obj.state);
    obj.set('pos', { x: -33.333333, y: -1e9 });
    w.round();
    expect(obj.get('pos').x).toBeCloseTo(-33.33, 9);
    expect(obj.get('pos').y).toBe(-100);
    expect(replica.get('pos')).toEqual(obj.get('pos'));
  });
});

describe('docs/sync.md: host', () => {
  it('"Ids are never reused" (spawn after despawn gets a new id)', () => {
    const { host } = world();
    const a = host.spawn(Unit, { pos: { x: 0, y: 0 }, hp: 1, label: '' });
    const id = a.id;
    a.despawn();
    const ids = [0, 1, 2].map(() => host.spawn(Unit, { pos: { x: 0, y: 0 }, hp: 1, label: '' }).id);
    expect(ids).not.toContain(id);
    expect(new Set(ids).size).toBe(3);
  });

  it('"a transport of your own must have every SyncTransport method, and inputSchema must come from defineSchema() (else INVALID_ARGUMENT naming it)"', () => {
    const links = new MemoryLinks([2]);
    const { send: _send, ...noSend } = links.transport(1);
    expect(() => new SyncHost(noSend as never, { schemas: [Unit] })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT, message: expect.stringContaining('send') }));
    expect(() => new SyncHost(links.transport(1), { schemas: [Unit], inputSchema: { mx: t.int8 } as never })).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT, message: expect.stringContaining('inputSchema') }),
    );
  });

  it('"objects that left its interest, or were despawned, after b: a despawn"; "With no interest, every peer sees every object"', () => {
    const w = world();
    const events: string[] = [];
    w.client.on('spawn', (o) => events.push(`spawn:${o.id}`));
    w.client.on('despawn', (o) => events.push(`despawn:${o.id}`));
    const a = w.host.spawn(Unit, { pos: { x: 0, y: 0 }, hp: 1, label: 'a' });
    const b = w.host.spawn(Unit, { pos: { x: 0, y: 0 }, hp: 1, label: 'b' });
    w.round();
    expect(w.host.visibleTo(2).sort()).toEqual([a.id, b.id].sort());
    a.despawn();
    w.round();
    expect(events).toEqual([`spawn:${a.id}`, `spawn:${b.id}`, `despawn:${a.id}`]);
    expect([...w.client.objects.keys()]).toEqual([b.id]);
  });
});

describe('docs/sync.md: inputs', () => {
  it('"sendInput(value) numbers each input (1, 2, …)"; "takeInput(peer) returns the next one and marks it processed, and every snapshot to that peer carries the last processed sequence number"', () => {
    const w = world();
    expect([1, 2, 3].map((mx) => w.client.sendInput({ mx }))).toEqual([1, 2, 3]);
    w.round();
    expect(w.host.pendingInputs(2)).toBe(3);
    expect(w.host.takeInput(2)).toEqual({ seq: 1, input: { mx: 1 } });
    expect(w.host.takeInput(2)).toEqual({ seq: 2, input: { mx: 2 } });
    w.round();
    expect(w.client.lastProcessedInput).toBe(2);
    expect(w.client.unacknowledgedInputs()).toEqual([{ seq: 3, input: { mx: 3 } }]);
    const replayed: number[] = [];
    w.client.replay<{ mx: number }>((input, seq) => replayed.push(seq * 100 + input.mx));
    expect(replayed).toEqual([303]);
  });

  it('"Every client message carries the oldest unacknowledged inputs (up to inputRedundancy) … so a lost message costs nothing as long as a later one arrives"', () => {
    const w = world({ client: { inputRedundancy: 3 } });
    w.round(); // a first snapshot: from now on every poll sends a client message
    for (let i = 1; i <= 5; i++) w.client.sendInput({ mx: i });
    w.client.poll(5000);
    w.links.deliver(() => false); // lost
    w.client.poll(5033);
    w.links.deliver();
    expect(w.host.pendingInputs(2)).toBe(3); // 1, 2 and 3: the oldest three
    const taken: number[] = [];
    for (let next = w.host.takeInput<{ mx: number }>(2); next; next = w.host.takeInput(2)) taken.push(next.seq);
    w.round();
    w.round();
    for (let next = w.host.takeInput<{ mx: number }>(2); next; next = w.host.takeInput(2)) taken.push(next.seq);
    expect(taken).toEqual([1, 2, 3, 4, 5]);
  });

  it('"A host queue holds at most maxQueuedInputs per peer: more are refused (INPUT_FLOOD) and stay unacknowledged, so the client sends them again"', () => {
    const w = world({ host: { maxQueuedInputs: 4 } });
    for (let i = 1; i <= 6; i++) w.client.sendInput({ mx: i });
    w.round();
    expect(w.host.pendingInputs(2)).toBe(4);
    expect(w.hostErrors.map((e) => e.code)).toContain(SyncErrorCode.INPUT_FLOOD);
    const taken: number[] = [];
    for (let next = w.host.takeInput<{ mx: number }>(2); next; next = w.host.takeInput(2)) taken.push(next.input.mx);
    w.round(); // the client learns 4 were processed; 5 and 6 are sent again
    w.round();
    for (let next = w.host.takeInput<{ mx: number }>(2); next; next = w.host.takeInput(2)) taken.push(next.input.mx);
    expect(taken).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('docs/sync.md: client', () => {
  it('"A client applies parts independently and acknowledges a tick only once all of its parts arrived"; "snapshot(tick) (every part of a tick applied)"', () => {
    const w = world({ host: { maxPartBytes: 64 } });
    for (let i = 0; i < 20; i++) w.host.spawn(Unit, { pos: { x: i, y: i }, hp: i, label: `unit number ${i}` });
    const ticks: number[] = [];
    w.client.on('snapshot', (tick) => ticks.push(tick));
    w.host.tick();
    const parts = w.links.queue.length;
    expect(parts).toBeGreaterThan(1);
    // deliver all parts but the last: objects of the delivered parts appear, the tick is not complete
    const last = w.links.queue.at(-1);
    w.links.deliver((m) => m !== last);
    expect(w.client.objects.size).toBeGreaterThan(0);
    expect(w.client.objects.size).toBeLessThan(20);
    expect(ticks).toEqual([]);
    expect(w.client.getStats().ticksCompleted).toBe(0);
    w.client.poll(1000);
    w.links.deliver();
    expect(w.host.getStats().ackRttMs[2]).toBeUndefined(); // nothing acknowledged
    // the next tick (a reset again: no baseline) arrives whole
    w.round();
    expect(ticks.length).toBe(1);
    expect(w.client.objects.size).toBe(20);
    expect(w.client.getStats().ticksCompleted).toBe(1);
  });

  it('"spawns and despawns ride in the snapshots and repeat until acknowledged": a lost spawn arrives with the next snapshot', () => {
    const w = world();
    const obj = w.host.spawn(Unit, { pos: { x: 1, y: 2 }, hp: 3, label: 'lost' });
    w.host.tick();
    expect(w.links.deliver(() => false)).toBe(0); // the snapshot carrying the spawn is lost
    w.host.tick();
    w.links.deliver();
    expect(w.client.objects.get(obj.id)?.state).toEqual(obj.state);
    // and a lost despawn too
    w.round();
    obj.despawn();
    w.host.tick();
    w.links.deliver(() => false);
    w.round();
    expect(w.client.objects.has(obj.id)).toBe(false);
  });

  it('"parts of a tick older than one it already applied are dropped (counted staleParts)"', () => {
    const w = world();
    const obj = w.host.spawn(Unit, { pos: { x: 0, y: 0 }, hp: 0, label: '' });
    w.round();
    obj.set('hp', 1);
    w.host.tick();
    const late = w.links.queue.splice(0); // tick t is delayed
    obj.set('hp', 2);
    w.host.tick();
    w.links.deliver(); // tick t + 1 arrives first
    expect(w.client.objects.get(obj.id)!.get('hp')).toBe(2);
    for (const m of late) w.links.inject(m.from, m.to, m.data);
    expect(w.client.getStats().staleParts).toBe(late.length);
    expect(w.client.objects.get(obj.id)!.get('hp')).toBe(2);
  });

  it('"render time never goes back"', () => {
    const w = world({ client: { interpolationDelayMs: 100 } });
    w.host.spawn(Unit, { pos: { x: 0, y: 0 }, hp: 1, label: '' });
    const seen: number[] = [];
    let now = 1000;
    for (let i = 0; i < 40; i++) {
      w.host.tick();
      // jittery delivery: some frames see nothing, some a burst
      if (i % 3 !== 1) w.links.deliver();
      w.client.poll((now += i % 5 === 0 ? 2 : 40));
      w.links.deliver();
      seen.push(w.client.renderTime);
    }
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
    expect(seen.at(-1)!).toBeGreaterThan(seen.find((x) => Number.isFinite(x))!);
  });
});

describe('docs/sync.md: mesh mode', () => {
  it('"a snapshot from a peer that is not connected (or from this peer itself) is NOT_AUTHORITY"; "a snapshot naming an object of another owner lands in the sender\'s own namespace"', () => {
    const links = new MemoryLinks([1, 2, 3], { mesh: true });
    const peers = [1, 2, 3].map((id) => new SyncPeer(links.transport(id), { schemas: [Unit] }));
    const [p1, p2, p3] = peers as [SyncPeer, SyncPeer, SyncPeer];
    const errors: SyncErrorEvent[] = [];
    p1.on('sync_error', (e) => errors.push(e));
    const mine = p1.spawn(Unit, { pos: { x: 1, y: 1 }, hp: 1, label: 'p1' });
    p2.spawn(Unit, { pos: { x: 2, y: 2 }, hp: 2, label: 'p2' });
    for (let i = 0; i < 3; i++) {
      for (const p of peers) p.tick();
      links.deliver();
      for (const p of peers) p.poll(1000 + i * 33);
      links.deliver();
    }
    expect(p3.owners().sort()).toEqual([1, 2]);
    expect(p3.objectsOf(1).get(mine.id)?.state).toEqual(mine.state);
    // p2's snapshot echoed to p1 as if p1 had sent it to itself, and one from a stranger (9)
    p2.tick();
    const snap = links.queue.find((m) => m.from === 2 && m.to === 1)!;
    links.inject(1, 1, snap.data);
    links.inject(9, 1, snap.data);
    expect(errors.map((e) => [e.code, e.peer])).toEqual([
      [SyncErrorCode.NOT_AUTHORITY, 1],
      [SyncErrorCode.NOT_AUTHORITY, 9],
    ]);
    // p1's own object is untouched, and p2's objects live under owner 2 only
    expect(mine.get('hp')).toBe(1);
    expect(p1.owners().sort()).toEqual([2, 3]);
    expect([...p1.objectsOf(2).values()].map((o) => o.state.label)).toEqual(['p2']);
    for (const p of peers) p.close();
  });
});
