/**
 * RpcEndpoint on the wire: batching into messages (tick, immediate, turn), the
 * method-table handshake, and what the receiving side drops and reports.
 * Targets, requests and call-site errors: endpoint.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { TransferMode } from '../../src/mesh/types.js';
import { RpcEndpoint, type AnyRpcMethods } from '../../src/rpc/index.js';
import { FrameKind } from '../../src/rpc/codec.js';
import { FakeHub } from './fake-mesh.js';
import { meshWorld } from './fake-worlds.js';
import { rawMessage } from './harness.js';

/** Bytes of one message with our header and the given frames. */
const message = rawMessage;

describe('batching', () => {
  it('10 000 RPCs in one tick arrive complete and in order, split into bounded messages', async () => {
    const { world, hub } = meshWorld([1, 2], { maxMessageSize: 4096 });
    await world.ready();
    const before = hub.packetsSent;
    for (let i = 0; i < 10_000; i++) world.ep(1).rpcId(2, 'seq', i);
    world.ep(1).flush();
    const messages = hub.packetsSent - before;
    expect(messages).toBeGreaterThan(1);
    expect(messages).toBeLessThan(100);
    for (const p of hub.peers.get(2)!.inbox) expect(p.data.length).toBeLessThanOrEqual(4096);
    world.ep(2).poll();
    const got = world.log.filter((r) => r.name === 'seq').map((r) => r.args[0]);
    expect(got).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
  });

  it('one message per link and channel per tick; broadcast keeps order with unicasts', async () => {
    const { world, hub } = meshWorld([1, 2, 3]);
    await world.ready();
    const before = hub.packetsSent;
    world.ep(1).rpc('seq', 1);
    world.ep(1).rpcId(2, 'seq', 2);
    world.ep(1).rpc('seq', 3);
    expect(hub.packetsSent).toBe(before); // nothing leaves before flush
    world.ep(1).flush();
    expect(hub.packetsSent - before).toBe(2); // one message to 2, one to 3
    world.round();
    const at = (p: number) => world.log.filter((r) => r.at === p).map((r) => r.args[0]);
    expect(at(2)).toEqual([1, 2, 3]);
    expect(at(3)).toEqual([1, 3]);
  });

  it('immediate RPCs leave at once, after what was batched before them', async () => {
    const hub = new FakeHub();
    const [a, b] = [hub.add(1, 'mesh'), hub.add(2, 'mesh')];
    hub.link(1, 2);
    const seen: number[] = [];
    const mk = (m: typeof a) =>
      new RpcEndpoint(m)
        .register('n', (_c, x: number) => void seen.push(x))
        .register('now', (_c, x: number) => void seen.push(x), { immediate: true });
    const ea = mk(a);
    const eb = mk(b);
    ea.poll(), eb.poll(), ea.flush(), eb.flush();
    eb.poll();
    const before = hub.packetsSent;
    ea.rpc('n', 1);
    ea.rpc('now', 2);
    expect(hub.packetsSent - before).toBe(1);
    eb.poll();
    expect(seen).toEqual([1, 2]);
  });

  it('immediate calls with nothing batched before them leave as one message each; a broadcast shares it; other arguments take the batcher', async () => {
    const { world, hub } = meshWorld([1, 2, 3]);
    world.ep(1).register('now', (ctx, x: unknown) => void world.log.push({ at: 1, sender: ctx.senderId, name: 'now', args: [x] }), { mode: 'any_peer', immediate: true });
    for (const id of [2, 3]) world.ep(id).register('now', (ctx, x: unknown) => void world.log.push({ at: id, sender: ctx.senderId, name: 'now', args: [x] }), { mode: 'any_peer', immediate: true });
    await world.ready();
    const ep = world.ep(1);
    const before = hub.packetsSent;
    ep.rpc('now', 1); // one message to each of 2 links
    ep.rpcId(2, 'now', 'two');
    ep.rpcId(-2, 'now', { three: 3 }); // an object: msgpackr, through the batcher, still at once
    expect(hub.packetsSent - before).toBe(4);
    expect(ep.getStats().framesSent).toBeGreaterThanOrEqual(4);
    world.round();
    const got = (p: number) => world.log.filter((r) => r.at === p && r.name === 'now').map((r) => r.args[0]);
    expect(got(2)).toEqual([1, 'two']);
    expect(got(3)).toEqual([1, { three: 3 }]);
    // An immediate request answers like any other.
    await expect(world.settle(world.ep(2).request(1, 'now', 4))).resolves.toBeUndefined();
    expect(world.errors).toEqual([]);
  });

  it("immediate: 'turn' merges the calls of one synchronous turn into one message per link and channel", async () => {
    const hub = new FakeHub();
    const [a, b] = [hub.add(1, 'mesh'), hub.add(2, 'mesh')];
    hub.link(1, 2);
    const seen: number[] = [];
    const turns: (() => void)[] = [];
    const mk = (m: typeof a) =>
      new RpcEndpoint(m, { turnScheduler: (flush) => void turns.push(flush) })
        .register('n', (_c, x: number) => void seen.push(x))
        .register('t', (_c, x: number) => void seen.push(x), { immediate: 'turn' })
        .register('u', (_c, x: number) => void seen.push(x), { immediate: 'turn', transferMode: TransferMode.UNRELIABLE_ORDERED });
    const ea = mk(a);
    const eb = mk(b);
    ea.poll(), eb.poll(), ea.flush(), eb.flush();
    eb.poll();
    const before = hub.packetsSent;
    ea.rpc('t', 1);
    ea.rpc('n', 2); // tick-batched on the same channel: leaves with the turn's message, in order
    ea.rpc('t', 3);
    ea.rpc('u', 4); // another channel: its own message
    expect(turns.length).toBe(1); // one end-of-turn flush scheduled however many calls
    expect(hub.packetsSent - before).toBe(0);
    turns.shift()!();
    expect(hub.packetsSent - before).toBe(2);
    eb.poll();
    expect(seen).toEqual([1, 2, 3, 4]);
    // A tick flush before the turn ends sends it; the late turn flush then has nothing to send.
    ea.rpc('t', 5);
    ea.flush();
    expect(hub.packetsSent - before).toBe(3);
    turns.shift()!();
    expect(hub.packetsSent - before).toBe(3);
    eb.poll();
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    // The default scheduler: a microtask.
    const ec = new RpcEndpoint(a).register('t', (_c, _x: number) => {}, { immediate: 'turn' });
    ec.poll();
    ec.flush();
    const sent = hub.packetsSent;
    ec.rpc('t', 6);
    ec.rpc('t', 7);
    expect(hub.packetsSent).toBe(sent);
    await Promise.resolve();
    expect(hub.packetsSent).toBe(sent + 1);
    expect(() => new RpcEndpoint(a, { turnScheduler: 5 as never })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(() => ec.register('x', () => {}, { immediate: 'later' as never })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
  });

  it('a frame that can never fit is refused at the call site', async () => {
    const { world } = meshWorld([1, 2], { maxMessageSize: 1024 });
    await world.ready();
    expect(() => world.ep(1).rpc('seq', 'x'.repeat(2000) as unknown as number)).toThrow(expect.objectContaining({ code: ErrorCode.PACKET_TOO_LARGE }));
    // Values msgpack cannot carry are refused at the call site with a typed error.
    expect(() => world.ep(1).rpc('seq', (2n ** 70n) as unknown as number)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    // The same with nobody to send to (all but the only other peer): the arguments are still checked.
    expect(() => world.ep(1).rpcId(-2, 'seq', (2n ** 70n) as unknown as number)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(() => world.ep(1).rpcId(-2, 'seq', 'x'.repeat(2000) as unknown as number)).toThrow(expect.objectContaining({ code: ErrorCode.PACKET_TOO_LARGE }));
  });
});

describe('handshake', () => {
  it('equal tables use integer ids; different tables report a mismatch and fall back to names', async () => {
    const hub = new FakeHub();
    const [a, b, c] = [hub.add(1, 'mesh'), hub.add(2, 'mesh'), hub.add(3, 'mesh')];
    hub.link(1, 2);
    hub.link(1, 3);
    const got: string[] = [];
    const ea = new RpcEndpoint<AnyRpcMethods>(a).register('x', (ctx) => void got.push(`x<${ctx.senderId}`), { mode: 'any_peer' });
    const eb = new RpcEndpoint<AnyRpcMethods>(b).register('x', (ctx) => void got.push(`x<${ctx.senderId}`), { mode: 'any_peer' });
    const ec = new RpcEndpoint<AnyRpcMethods>(c)
      .register('x', (ctx) => void got.push(`x<${ctx.senderId}`), { mode: 'any_peer' })
      .register('extra', () => 0);
    const errs: string[] = [];
    for (const e of [ea, eb, ec]) e.on('rpc_error', (ev) => errs.push(`${ev.code}@${e.mesh.getUniqueId()}<${ev.senderId}`));
    for (let i = 0; i < 3; i++) for (const e of [ea, eb, ec]) e.poll(), e.flush();
    expect(ea.usesMethodIds(2)).toBe(true);
    expect(ea.usesMethodIds(3)).toBe(false);
    expect(errs.sort()).toEqual(['METHOD_TABLE_MISMATCH@1<3', 'METHOD_TABLE_MISMATCH@3<1']);
    ea.rpc('x');
    ec.rpc('x');
    for (let i = 0; i < 2; i++) for (const e of [ea, eb, ec]) e.poll(), e.flush();
    expect(got.sort()).toEqual(['x<1', 'x<1', 'x<3']);
  });

  it('ids sent under another table are dropped, never misrouted', async () => {
    const { world } = meshWorld([1, 2]);
    await world.ready();
    world.ep(2).receive(message(12345, [FrameKind.CALL, 0, []]), 1, 0, TransferMode.RELIABLE);
    expect(world.errors.map((e) => e.code)).toEqual(['METHOD_TABLE_MISMATCH']);
    expect(world.log).toEqual([]);
  });

  it('registering after connect re-runs the handshake', async () => {
    const { world } = meshWorld([1, 2]);
    await world.ready();
    await world.barrier();
    expect(world.ep(1).usesMethodIds(2)).toBe(true);
    world.ep(1).register('late', () => 1, { mode: 'any_peer' });
    world.round();
    world.round();
    expect(world.ep(1).usesMethodIds(2)).toBe(false);
    expect(world.errors.some((e) => e.code === 'METHOD_TABLE_MISMATCH')).toBe(true);
    world.ep(2).register('late', () => 2, { mode: 'any_peer' });
    world.round();
    world.round();
    expect(world.ep(1).usesMethodIds(2)).toBe(true);
    await expect(world.settle(world.ep(1).request(2, 'late'))).resolves.toBe(2);
  });
});

describe('receive-side validation', () => {
  it('drops, counts and reports bad frames without throwing', async () => {
    const { world } = meshWorld([1, 2], { maxMessageSize: 2048 });
    await world.ready();
    const ep = world.ep(2);
    const sum = ep.getTableChecksum();
    const cases: [Uint8Array, string][] = [
      [new Uint8Array([0xc1]), 'MALFORMED_FRAME'],
      [new Uint8Array(3000), 'FRAME_TOO_LARGE'],
      [message(sum, 'not a frame'), 'MALFORMED_FRAME'],
      [message(sum, [FrameKind.CALL, 'nope', []]), 'UNKNOWN_RPC'],
      [message(sum, [FrameKind.CALL, 999, []]), 'UNKNOWN_RPC'],
      [message(sum, [FrameKind.CALL, 'seq', 'not args']), 'MALFORMED_FRAME'],
      [message(sum, [FrameKind.CALL, 'validated', ['str']]), 'INVALID_ARGS'],
      [message(sum, [FrameKind.CALL, 'm_authority_remote', []]), 'UNAUTHORIZED_SENDER'],
      [message(sum, [FrameKind.RESULT, 77, 1]), 'UNEXPECTED_RESPONSE'],
      [message(sum, [99, 1]), 'MALFORMED_FRAME'],
      [message(sum, [FrameKind.RELAY, 0, 2, [FrameKind.CALL, 'seq', [1]]]), 'FORGED_SENDER'],
      // Values that break naive error messages (JSON.stringify of a bigint, String() of a record with a toString key).
      [message(sum, [FrameKind.REQUEST, 5n, [], 1]), 'MALFORMED_FRAME'],
      [message(sum, [FrameKind.RESULT, { toString: 5 }, 1]), 'UNEXPECTED_RESPONSE'],
    ];
    for (const [bytes, code] of cases) {
      world.errors.length = 0;
      expect(() => ep.receive(bytes, 3, 0, TransferMode.RELIABLE)).not.toThrow();
      expect(world.errors.map((e) => e.code), code).toEqual([code]);
    }
    expect(world.log).toEqual([]);
    expect(ep.getStats().errors.MALFORMED_FRAME).toBe(5);
    // Valid traffic still flows afterwards.
    world.ep(1).rpc('seq', 5);
    await world.barrier();
    expect(world.log.map((r) => r.args[0])).toEqual([5]);
  });

  it('an RPC disabled on the receiver is dropped and reported', async () => {
    const hub = new FakeHub();
    const [a, b] = [hub.add(1, 'mesh'), hub.add(2, 'mesh')];
    hub.link(1, 2);
    let ran = 0;
    const ea = new RpcEndpoint(a).register('d', () => void ran++, { mode: 'any_peer' });
    const eb = new RpcEndpoint(b).register('d', () => void ran++, { mode: 'disabled' });
    const errs: string[] = [];
    eb.on('rpc_error', (e) => errs.push(e.code));
    ea.poll(), eb.poll(), ea.flush(), eb.flush();
    ea.rpc('d');
    ea.flush();
    eb.poll();
    expect(ran).toBe(0);
    expect(errs).toEqual(['RPC_DISABLED']);
    expect(() => eb.rpc('d')).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_STATE }));
  });

  it('a throwing handler is reported, not thrown into the loop', async () => {
    const { world } = meshWorld([1, 2]);
    await world.ready();
    world.ep(1).rpcId(2, 'fail_plain');
    world.ep(1).flush();
    expect(() => world.ep(2).poll()).not.toThrow();
    expect(world.errors.map((e) => [e.code, e.name])).toEqual([['HANDLER_ERROR', 'fail_plain']]);
  });
});
