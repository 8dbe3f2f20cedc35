/**
 * Hostile and broken input: snapshots from a non-authority, truncated and
 * random snapshots, schema mismatches, acks for ticks never sent, input
 * floods. Each is dropped, counted and reported; nothing throws, state stays
 * as it was, memory stays bounded.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { BitWriter } from '../../src/sync/bits.js';
import { defineSchema, SyncClient, SyncErrorCode, SyncHost, t } from '../../src/sync/index.js';
import { MemoryLinks, memoryHostAndClient } from './harness.js';

const Unit = defineSchema('unit', { pos: t.vec2(t.quant(-100, 100, 0.1)), hp: t.uint8, name: t.string(8) });
const Input = defineSchema('input', { move: t.int8 });

function world(clientOptions: Partial<ConstructorParameters<typeof SyncClient>[1]> = {}) {
  return memoryHostAndClient({ schemas: [Unit], inputSchema: Input, maxQueuedInputs: 16, maxInputsPerMessage: 8 }, { schemas: [Unit], inputSchema: Input, ...clientOptions });
}

const snapshotOf = (state: ReturnType<typeof world>) => JSON.stringify([...state.client.objects.values()].map((o) => [o.id, o.state]));

describe('sync under hostile input', () => {
  it('snapshots from a peer that is not the authority are dropped', () => {
    const w = world();
    w.host.spawn(Unit, { pos: { x: 1, y: 2 }, hp: 5, name: 'a' });
    w.host.tick();
    const [msg] = w.links.queue.splice(0);
    w.links.inject(3, 2, msg!.data); // a genuine snapshot, relayed by someone else
    expect(w.client.objects.size).toBe(0);
    expect(w.clientErrors.map((e) => e.code)).toEqual([SyncErrorCode.NOT_AUTHORITY]);
    w.links.inject(1, 2, msg!.data);
    expect(w.client.objects.size).toBe(1);
    // A client sending a snapshot to the host.
    w.links.inject(2, 1, msg!.data);
    expect(w.hostErrors.map((e) => e.code)).toEqual([SyncErrorCode.NOT_AUTHORITY]);
    expect(w.client.getStats().errors).toEqual({ [SyncErrorCode.NOT_AUTHORITY]: 1 });
  });

  it('every truncation and random bytes are dropped without throwing or changing state', () => {
    const w = world();
    for (let i = 0; i < 20; i++) w.host.spawn(Unit, { pos: { x: i, y: -i }, hp: i, name: `u${i}` });
    w.round();
    const before = snapshotOf(w);
    expect(w.client.objects.size).toBe(20);
    for (const u of w.host.objects.values()) u.set('hp', 200);
    w.host.tick();
    const [msg] = w.links.queue.splice(0);
    const data = msg!.data;
    let dropped = 0;
    for (let cut = 0; cut < data.length - 1; cut++) {
      w.links.inject(1, 2, data.subarray(0, cut));
      dropped++;
    }
    expect(snapshotOf(w)).toBe(before);
    expect(w.client.getStats().errors[SyncErrorCode.MALFORMED]).toBe(dropped);
    // Random garbage (seeded).
    let s = 7;
    const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let i = 0; i < 2000; i++) {
      const junk = Uint8Array.from({ length: 1 + (rnd() % 64) }, rnd);
      expect(() => w.links.inject(1, 2, junk)).not.toThrow();
      expect(() => w.links.inject(2, 1, junk)).not.toThrow();
    }
    w.links.inject(1, 2, 'not binary');
    w.links.inject(2, 1, { evil: true });
    expect(w.client.getStats().errors[SyncErrorCode.MALFORMED]).toBeGreaterThan(dropped);
    expect(w.host.getStats().errors[SyncErrorCode.MALFORMED]).toBeGreaterThan(0);
    // The genuine message still applies afterwards, and the client keeps converging.
    w.links.inject(1, 2, data);
    expect([...w.client.objects.values()].every((o) => o.get('hp') === 200)).toBe(true);
    w.round();
    w.round();
    expect(w.client.objects.size).toBe(20);
  });

  it('a schema mismatch is reported, not applied', () => {
    const links = new MemoryLinks([2]);
    const host = new SyncHost(links.transport(1), { schemas: [Unit] });
    const Other = defineSchema('unit', { pos: t.vec2(t.quant(-100, 100, 0.01)), hp: t.uint8, name: t.string(8) });
    const client = new SyncClient(links.transport(2), { schemas: [Other] });
    const codes: string[] = [];
    client.on('sync_error', (e) => codes.push(e.code));
    host.spawn(Unit, { pos: { x: 1, y: 1 }, hp: 1, name: '' });
    host.tick();
    links.deliver();
    expect(client.objects.size).toBe(0);
    expect(codes).toEqual([SyncErrorCode.SCHEMA_MISMATCH]);
  });

  it('acks for ticks never sent are refused and do not move the baseline', () => {
    const w = world();
    const u = w.host.spawn(Unit, { pos: { x: 1, y: 1 }, hp: 1, name: '' });
    w.round();
    w.round();
    const ack = (tick: number) => {
      const bw = new BitWriter();
      bw.bits(2, 2); // client message
      bw.bits(w.client['hash'] as number, 16);
      bw.bool(true);
      bw.bits(tick, 32);
      bw.uvar(0);
      w.links.inject(2, 1, bw.finish());
    };
    ack(1_000_000); // the future
    ack(0); // never sent
    expect(w.hostErrors.map((e) => e.code)).toEqual([SyncErrorCode.BAD_ACK, SyncErrorCode.BAD_ACK]);
    // The client still converges (its baseline was not moved to a tick it lacks).
    u.set('hp', 99);
    w.round();
    w.round();
    expect(w.client.objects.get(u.id)?.get('hp')).toBe(99);
    expect(w.clientErrors).toEqual([]);
  });

  it('input floods are refused and counted; queued inputs stay bounded', () => {
    const w = world();
    const flood = (first: number, n: number) => {
      const bw = new BitWriter();
      bw.bits(2, 2);
      bw.bits(w.client['hash'] as number, 16);
      bw.bool(false);
      bw.uvar(n);
      bw.bits(first, 32);
      for (let i = 0; i < n; i++) bw.bits(i & 0x7f, 8);
      w.links.inject(2, 1, bw.finish());
    };
    w.round();
    flood(1, 9); // more than maxInputsPerMessage (8)
    expect(w.host.pendingInputs(2)).toBe(0);
    for (let k = 0; k < 10; k++) flood(1 + k * 8, 8); // 80 inputs, queue holds 16
    expect(w.host.pendingInputs(2)).toBe(16);
    const codes = w.hostErrors.map((e) => e.code);
    expect(codes.every((c) => c === SyncErrorCode.INPUT_FLOOD)).toBe(true);
    expect(codes.length).toBe(1 + 8);
    // Taking them yields 1…16 in order; the refused ones were never marked received.
    const seqs: number[] = [];
    for (let n = w.host.takeInput(2); n !== undefined; n = w.host.takeInput(2)) seqs.push(n.seq);
    expect(seqs).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
  });

  it('a client caps the objects it holds (LIMIT) and its pending inputs', () => {
    const w = world({ maxObjects: 10, maxPendingInputs: 4 });
    for (let i = 0; i < 11; i++) w.host.spawn(Unit, { pos: { x: 0, y: 0 }, hp: 0, name: '' });
    w.round();
    expect(w.client.objects.size).toBe(0);
    expect(w.clientErrors[0]?.code).toBe(SyncErrorCode.LIMIT);
    for (let i = 0; i < 10; i++) w.client.sendInput({ move: i });
    expect(w.client.unacknowledgedInputs().map((i) => i.seq)).toEqual([7, 8, 9, 10]);
    expect(w.client.getStats().inputsDropped).toBe(6);
  });

  it('API misuse throws RtcmeshError with a clear code', () => {
    const w = world();
    const Stranger = defineSchema('stranger', { a: t.bool });
    expect(() => w.host.spawn(Stranger, { a: true })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    const u = w.host.spawn(Unit, { pos: { x: 0, y: 0 }, hp: 0, name: '' });
    expect(() => u.set('hp', 256)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(() => u.set({ nope: 1 } as never)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(() => w.client.sendInput({ move: 1000 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    u.despawn();
    expect(() => u.set('hp', 1)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_STATE }));
    expect(() => new SyncHost(w.links.transport(1), { schemas: [] })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(() => new SyncHost(w.links.transport(1), { schemas: [Unit], bogus: 1 } as never)).toThrow(expect.objectContaining({ code: ErrorCode.UNKNOWN_OPTION }));
    expect(() => w.client.poll(NaN)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    w.host.close();
    expect(() => w.host.tick()).toThrow(expect.objectContaining({ code: ErrorCode.CLOSED }));
  });
});
