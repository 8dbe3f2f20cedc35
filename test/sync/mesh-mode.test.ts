/**
 * Mesh mode (SyncPeer): every peer is the authority of the objects it spawns
 * and replicates them to every other peer with per-peer acknowledged deltas.
 * On the virtual network (deterministic for a seed) 4 peers over lossy,
 * jittery, duplicating, reordering links each own players and short-lived
 * projectiles; at every tick a peer completes from an owner, its copy of that
 * owner's objects equals the owner's state at that tick, and at the end every
 * peer holds every other peer's current objects. Forged and foreign snapshots
 * are dropped, counted and reported.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { BitWriter } from '../../src/sync/bits.js';
import { defineSchema, rpcTransport, SyncErrorCode, SyncPeer, t, visibleWhen, type HostObject, type SyncErrorEvent, type SyncTransport } from '../../src/sync/index.js';
import type { SlotValue } from '../../src/sync/schema.js';
import { writeEntryKind, writeSnapshotHeader, ENTRY_UPDATE } from '../../src/sync/wire.js';
import { virtualMesh } from './harness.js';

const Player = defineSchema('player', { pos: t.vec2(t.quant(-500, 500, 0.01)), yaw: t.quant(-Math.PI, Math.PI, 0.001), hp: t.uint8, name: t.string(8) });
const Shot = defineSchema('shot', { pos: t.vec2(t.quant(-500, 500, 0.01)), ttl: t.uint8 });
const SCHEMAS = [Player, Shot];

/** mulberry32: the test's own seeded dice. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const slotsOf = (objects: ReadonlyMap<number, { slots: SlotValue[] }>) => new Map([...objects].map(([id, o]) => [id, [...o.slots]]));

function sameObjects(got: ReadonlyMap<number, { slots: SlotValue[] }>, want: Map<number, SlotValue[]>): string | undefined {
  if (got.size !== want.size) return `${got.size} objects, owner has ${want.size}`;
  for (const [id, slots] of want) {
    const o = got.get(id);
    if (o === undefined) return `object ${id} missing`;
    if (o.slots.some((v, k) => v !== slots[k])) return `object ${id} is ${JSON.stringify(o.slots)}, owner ${JSON.stringify(slots)}`;
  }
  return undefined;
}

/** 4 peers, each owning 3–6 players and spawning shots; returns figures for the determinism check. */
function simulate(seed: number, ticks: number) {
  const dt = 1000 / 30;
  const { net, all } = virtualMesh(4, { latencyMs: 60, jitter: { ms: 10, distribution: 'normal' }, loss: 0.1, duplicate: 0.05, reorder: 0.05, reorderDelayMs: 30 }, seed);
  const rand = rng(seed * 7 + 1);
  const peers = all.map((ep) => new SyncPeer(rpcTransport(ep), { schemas: SCHEMAS }));
  const errors: SyncErrorEvent[] = [];
  const spawnsSeen = new Map<number, number>(); // by observing peer
  const history = peers.map(() => new Map<number, Map<number, SlotValue[]>>()); // per owner: tick → id → slots
  const problems: string[] = [];
  let checked = 0;
  peers.forEach((p, i) => {
    p.on('sync_error', (e) => errors.push(e));
    p.on('spawn', () => spawnsSeen.set(i, (spawnsSeen.get(i) ?? 0) + 1));
    p.on('snapshot', (owner, tick) => {
      const want = history[owner - 1]!.get(tick);
      if (want === undefined) return void problems.push(`peer ${i + 1}: no record of owner ${owner} tick ${tick}`);
      const bad = sameObjects(p.objectsOf(owner), want);
      if (bad !== undefined && problems.length < 10) problems.push(`peer ${i + 1}, owner ${owner}, tick ${tick}: ${bad}`);
      checked++;
    });
  });
  const players: HostObject<typeof Player.fields>[][] = peers.map((p, i) =>
    Array.from({ length: 3 + i }, (_, k) => p.spawn(Player, { pos: { x: i * 10, y: k }, yaw: 0, hp: 100, name: `p${i + 1}.${k}` })),
  );
  const shots: HostObject<typeof Shot.fields>[][] = peers.map(() => []);
  const step = (tick: number, moving: boolean) => {
    for (const ep of all) ep.poll();
    peers.forEach((p, i) => {
      if (moving) {
        for (const pl of players[i]!) {
          if (rand() < 0.5) continue;
          const pos = pl.get('pos');
          pl.set({ pos: { x: pos.x + rand() - 0.5, y: pos.y + rand() - 0.5 }, yaw: rand() * 6 - 3 });
          if (rand() < 0.05) pl.set('hp', Math.floor(rand() * 101));
        }
        if (rand() < 0.1) shots[i]!.push(p.spawn(Shot, { pos: players[i]![0]!.get('pos'), ttl: 20 }));
      }
      for (const s of shots[i]!) s.set('ttl', s.get('ttl') - 1);
      for (const s of shots[i]!.filter((s) => s.get('ttl') === 0)) s.despawn();
      shots[i] = shots[i]!.filter((s) => s.alive);
      const built = p.sender.currentTick;
      p.tick();
      history[i]!.set(built, slotsOf(p.owned));
      history[i]!.delete(built - 100);
      p.poll(net.clock.now());
    });
    for (const ep of all) ep.flush();
    net.clock.advance(dt);
    void tick;
  };
  for (let tick = 1; tick <= ticks; tick++) step(tick, true);
  // Everyone stops moving (shots run out); loss goes on. Every peer must converge on every owner's current state.
  for (let tick = 1; tick <= 90; tick++) step(tick, false);
  const converged = peers.map((p, i) => peers.every((owner, j) => j === i || sameObjects(p.objectsOf(j + 1), slotsOf(owner.owned)) === undefined));
  const stats = peers.map((p) => p.getStats());
  const owners = peers.map((p) => p.owners().sort());
  const digest = JSON.stringify(peers.map((p) => [1, 2, 3, 4].map((o) => [...p.objectsOf(o).values()].map((r) => [r.id, r.tick, r.slots]))));
  for (const p of peers) p.close();
  for (const ep of all) {
    ep.close();
    ep.mesh.close();
  }
  net.close();
  return { problems, checked, errors, converged, stats, owners, digest, spawnsSeen };
}

describe('mesh mode: every peer the authority of its own objects', () => {
  it('4 peers over 10 % loss, jitter, duplication and reordering: every completed tick equals its owner\'s state; all converge; deterministic for a seed', () => {
    const a = simulate(5, 600);
    if (process.env['SYNC_DEBUG']) console.log(JSON.stringify(a.stats.map((s) => ({ bytesPerTickPerPeer: s.sent.bytesSent / 690 / 3, resets: s.sent.resetsSent, acks: s.sent.acksReceived }))));
    expect(a.problems).toEqual([]);
    expect(a.errors).toEqual([]);
    expect(a.converged).toEqual([true, true, true, true]);
    expect(a.owners).toEqual([[2, 3, 4], [1, 3, 4], [1, 2, 4], [1, 2, 3]]);
    // Each peer completed most ticks of each of 3 owners (each checked), on deltas, not resets.
    expect(a.checked).toBeGreaterThan(4 * 3 * 600 * 0.5);
    for (const s of a.stats) {
      expect(s.sent.peers).toBe(3);
      expect(s.sent.acksReceived).toBeGreaterThan(3 * 600 * 0.5);
      expect(s.sent.resetsSent).toBeLessThan(3 * 690 * 0.05);
      expect(Object.keys(s.received)).toHaveLength(3);
    }
    // Shots were spawned and despawned everywhere (players 3+4+5+6 = 18 at least, seen by 3 peers each… and the shots).
    for (let i = 0; i < 4; i++) expect(a.spawnsSeen.get(i)).toBeGreaterThan(18);
    // Same seed, same run.
    const b = simulate(5, 600);
    expect(b.digest).toBe(a.digest);
    expect(b.checked).toBe(a.checked);
  });
});

/** In-memory mesh transports: messages queue until delivered. */
class MemoryMesh {
  readonly queue: { from: number; to: number; data: Uint8Array }[] = [];
  private readonly handlers = new Map<number, (peer: number, data: unknown) => void>();
  private readonly restartHandlers = new Map<number, (peer: number) => void>();
  constructor(readonly ids: number[]) {}
  /** `id`'s process restarted: the others are told (as the mesh's peer_restarted does). */
  restarted(id: number): void {
    for (const [at, h] of this.restartHandlers) if (at !== id) h(id);
  }
  transport(id: number): SyncTransport {
    return {
      ownId: () => id,
      authority: () => 1,
      peers: () => this.ids.filter((p) => p !== id),
      send: (peer, data) => (this.queue.push({ from: id, to: peer, data: data.slice() }), true),
      maxMessageSize: () => 65536,
      onMessage: (h) => void this.handlers.set(id, h),
      onPeerLeft: () => {},
      onPeerRestarted: (h) => void this.restartHandlers.set(id, h),
      close: () => void this.handlers.delete(id),
    };
  }
  inject(from: number, to: number, data: unknown): void {
    this.handlers.get(to)?.(from, data);
  }
  deliver(): void {
    for (const m of this.queue.splice(0)) this.handlers.get(m.to)?.(m.from, m.data);
  }
}

describe('mesh mode under hostile input', () => {
  function world() {
    const net = new MemoryMesh([1, 2, 3]);
    const peers = [1, 2, 3].map((id) => new SyncPeer(net.transport(id), { schemas: SCHEMAS }));
    const errors: SyncErrorEvent[] = [];
    peers[0]!.on('sync_error', (e) => errors.push(e));
    let now = 0;
    const round = () => {
      for (const p of peers) p.tick();
      net.deliver();
      now += 33;
      for (const p of peers) p.poll(now);
      net.deliver();
    };
    return { net, peers, errors, round };
  }

  it('an update forged by peer 3 for an object only peer 2 owns is dropped, counted and reported; peer 2\'s object is untouched', () => {
    const w = world();
    const [p1, p2, p3] = w.peers as [SyncPeer, SyncPeer, SyncPeer];
    const twos = Array.from({ length: 5 }, (_, k) => p2.spawn(Player, { pos: { x: k, y: 0 }, yaw: 0, hp: 50, name: `two${k}` }));
    p3.spawn(Player, { pos: { x: 9, y: 9 }, yaw: 0, hp: 10, name: 'three' });
    for (let i = 0; i < 3; i++) w.round();
    expect([...p1.objectsOf(2).keys()]).toEqual([1, 2, 3, 4, 5]);
    expect([...p1.objectsOf(3).keys()]).toEqual([1]);
    const before = JSON.stringify([...p1.objectsOf(2).values()].map((o) => o.state));
    const base = p1.receiver(3)!.tick;
    // Peer 3 sends a delta on a tick peer 1 completed from it, updating object 4 (peer 2's; peer 3 has no object 4).
    const w3 = new BitWriter(64);
    writeSnapshotHeader(w3, { schemaHash: 0, tick: base + 1, rate: 30, baselineDelta: 1, partIndex: 0, partCount: 1, inputAck: -1, entryCount: 1 }, false);
    w3.uvar(4 - 0 - 1);
    writeEntryKind(w3, ENTRY_UPDATE);
    w3.bits(0, 1);
    for (let i = 0; i < Player.leaves.length; i++) w3.bits(i === 3 ? 1 : 0, 1); // hp changed…
    w3.bits(0, 1);
    w3.bits(0, 8); // …to 0
    w.net.inject(3, 1, w3.finish());
    // Peer 3 replays a genuine snapshot of peer 2's (an update of peer 2's object 2) as its own.
    twos[1]!.set('hp', 1);
    p2.tick();
    const genuine = w.net.queue.find((m) => m.from === 2 && m.to === 1)!.data;
    w.net.queue.length = 0;
    w.net.inject(3, 1, genuine);
    expect(JSON.stringify([...p1.objectsOf(2).values()].map((o) => o.state))).toBe(before);
    // Both land in peer 3's own namespace, where there is no such object.
    expect(w.errors.map((e) => [e.code, e.peer])).toEqual([
      [SyncErrorCode.UNKNOWN_OBJECT, 3],
      [SyncErrorCode.UNKNOWN_OBJECT, 3],
    ]);
    expect(p1.getStats().errors).toEqual({ [SyncErrorCode.UNKNOWN_OBJECT]: 2 });
    expect(p1.getStats().received[3]!.errors).toEqual({ [SyncErrorCode.UNKNOWN_OBJECT]: 2 });
    // The real one from its owner applies.
    w.net.inject(2, 1, genuine);
    expect(p1.objectsOf(2).get(2)!.get('hp')).toBe(1);
    expect(p1.objectsOf(3).get(1)!.get('name')).toBe('three');
  });

  it('snapshots from a peer that is not connected, or from itself, are dropped; junk never throws', () => {
    const w = world();
    const [p1, p2] = w.peers as [SyncPeer, SyncPeer, SyncPeer];
    p2.spawn(Shot, { pos: { x: 1, y: 1 }, ttl: 5 });
    p2.tick();
    const genuine = w.net.queue.find((m) => m.from === 2 && m.to === 1)!.data;
    w.net.inject(9, 1, genuine);
    w.net.inject(1, 1, genuine);
    expect(p1.owners()).toEqual([]);
    expect(w.errors.map((e) => [e.code, e.peer])).toEqual([
      [SyncErrorCode.NOT_AUTHORITY, 9],
      [SyncErrorCode.NOT_AUTHORITY, 1],
    ]);
    let s = 3;
    const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let i = 0; i < 500; i++) expect(() => w.net.inject(2 + (i % 2), 1, Uint8Array.from({ length: 1 + (rnd() % 40) }, rnd))).not.toThrow();
    expect(() => w.net.inject(2, 1, 'text')).not.toThrow();
    expect(p1.getStats().errors[SyncErrorCode.MALFORMED]).toBeGreaterThan(0);
    expect(p1.owners().every((o) => o === 2 || o === 3)).toBe(true);
    // Then the real snapshot still applies.
    w.net.inject(2, 1, genuine);
    expect([...p1.objectsOf(2).values()].map((o) => o.state)).toEqual([{ pos: { x: 1, y: 1 }, ttl: 5 }]);
  });

  it('a peer that restarts under the same id: the others drop its old objects, take its new ones, and resend theirs from scratch', () => {
    const w = world();
    const [p1, p2, p3] = w.peers as [SyncPeer, SyncPeer, SyncPeer];
    p1.spawn(Player, { pos: { x: 1, y: 1 }, yaw: 0, hp: 1, name: 'one' });
    for (let k = 0; k < 3; k++) p2.spawn(Shot, { pos: { x: k, y: k }, ttl: 9 });
    for (let i = 0; i < 40; i++) w.round(); // peer 2 is far ahead of tick 1 now
    expect(p1.objectsOf(2).size).toBe(3);
    const gone: number[] = [];
    p1.on('despawn', (_o, owner) => gone.push(owner));
    // Peer 2's process restarts: a new SyncPeer, ticks from 1 again, one other object.
    p2.close();
    const again = new SyncPeer(w.net.transport(2), { schemas: SCHEMAS });
    w.peers[1] = again;
    again.spawn(Player, { pos: { x: 5, y: 5 }, yaw: 1, hp: 7, name: 'two-b' });
    w.net.restarted(2);
    expect(gone).toEqual([2, 2, 2]);
    for (let i = 0; i < 3; i++) w.round();
    expect([...p1.objectsOf(2).values()].map((o) => o.get('name'))).toEqual(['two-b']);
    expect([...p3.objectsOf(2).values()].map((o) => o.get('name'))).toEqual(['two-b']);
    expect([...again.objectsOf(1).values()].map((o) => o.get('name'))).toEqual(['one']);
    expect(w.errors).toEqual([]);
  });

  it('interest: an owner decides which of its objects each peer sees', () => {
    const net = new MemoryMesh([1, 2, 3]);
    const p1 = new SyncPeer(net.transport(1), { schemas: SCHEMAS, interest: visibleWhen((peer, obj) => peer !== 3 || obj.id !== 1) });
    const others = [2, 3].map((id) => new SyncPeer(net.transport(id), { schemas: SCHEMAS }));
    p1.spawn(Shot, { pos: { x: 1, y: 0 }, ttl: 1 });
    p1.spawn(Shot, { pos: { x: 2, y: 0 }, ttl: 2 });
    for (let i = 0; i < 3; i++) {
      p1.tick();
      net.deliver();
      for (const p of others) p.poll(i * 33);
      net.deliver();
    }
    expect([...others[0]!.objectsOf(1).keys()]).toEqual([1, 2]);
    expect([...others[1]!.objectsOf(1).keys()]).toEqual([2]);
    expect(p1.sender.visibleTo(3)).toEqual([2]);
  });

  it('validates its options and refuses use after close', () => {
    const net = new MemoryMesh([1, 2]);
    expect(() => new SyncPeer(net.transport(1), { schemas: SCHEMAS, tickRate: 0 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(() => new SyncPeer(net.transport(1), { schemas: SCHEMAS, maxObjectsPerOwner: -1 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(() => new SyncPeer(net.transport(1), { schemas: SCHEMAS, inputSchema: Player } as never)).toThrow(expect.objectContaining({ code: ErrorCode.UNKNOWN_OPTION }));
    const p = new SyncPeer(net.transport(1), { schemas: SCHEMAS });
    expect(() => p.poll(NaN)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    p.close();
    expect(() => p.spawn(Shot, { pos: { x: 0, y: 0 }, ttl: 1 })).toThrow(expect.objectContaining({ code: ErrorCode.CLOSED }));
    expect(() => p.tick()).toThrow(expect.objectContaining({ code: ErrorCode.CLOSED }));
  });
});
