import { describe, expect, it } from 'vitest';
import { ErrorCode, RtcmeshError, isRtcmeshError } from '../../src/errors.js';
import { TransferMode } from '../../src/mesh/types.js';
import { RpcEndpoint, RpcRemoteError, type AnyRpcMethods } from '../../src/rpc/index.js';
import { FrameKind, decodeMessage, encode, encodeHeader } from '../../src/rpc/codec.js';
import { FakeHub } from './fake-mesh.js';
import { meshWorld, starWorld } from './fake-worlds.js';
import { MSGPACK_VALUES, rawMessage, registerStandard, roundTripAll, runMatrix } from './harness.js';

// Batching, the method-table handshake and receive-side validation: endpoint-wire.test.ts.

/** Bytes of one message with our header and the given frames. */
const message = rawMessage;

describe('modes, callLocal and targets', () => {
  it('mesh mode: every combination runs on exactly the expected peers with the caller as sender', async () => {
    const { world } = meshWorld();
    await world.ready();
    const cases = await runMatrix(world);
    expect(cases).toBeGreaterThan(50);
  });

  it('server/client mode: same matrix, client traffic relayed through peer 1', async () => {
    const { world, hub } = starWorld();
    await world.ready();
    // Clients have no link to each other.
    expect(hub.peers.get(2)!.getPeerIds()).toEqual([1]);
    expect(world.ep(2).getPeerIds()).toEqual([1, 3]);
    const cases = await runMatrix(world);
    expect(cases).toBeGreaterThan(50);
    expect(world.ep(1).getStats().framesRelayed).toBeGreaterThan(0);
  });

  it('client-to-client rpcId arrives via peer 1 with the original sender', async () => {
    const { world } = starWorld([2, 3, 4]);
    await world.ready();
    const relayedBefore = world.ep(1).getStats().framesRelayed;
    world.ep(3).rpcId(4, 'seq', 42);
    await world.barrier();
    expect(world.log.filter((r) => r.name === 'seq')).toEqual([{ at: 4, sender: 3, name: 'seq', args: [42] }]);
    expect(world.ep(1).getStats().framesRelayed).toBeGreaterThan(relayedBefore);
  });

  it('peer 1 drops a relay frame whose origin is not the link it came on', async () => {
    const { world } = starWorld();
    await world.ready();
    const server = world.ep(1);
    const forged = message(server.getTableChecksum(), [FrameKind.RELAY, 3, 3, [FrameKind.CALL, 'seq', [1]]]);
    server.receive(forged, 2, 0, TransferMode.RELIABLE);
    await world.barrier();
    expect(world.log.filter((r) => r.name === 'seq')).toEqual([]);
    expect(world.errors.some((e) => e.code === 'FORGED_SENDER' && e.at === 1 && e.senderId === 2)).toBe(true);
  });

  it('peer 1 never relays a frame back to its origin: a relay targeting its own sender is dropped and reported', async () => {
    const { world } = starWorld();
    await world.ready();
    const server = world.ep(1);
    const relayed = server.getStats().framesRelayed;
    const sum = server.getTableChecksum();
    server.receive(message(sum, [FrameKind.RELAY, 2, 2, [FrameKind.CALL, 'seq', [1]]]), 2, 0, TransferMode.RELIABLE);
    server.receive(message(sum, [FrameKind.RELAY, 2, 2, [FrameKind.REQUEST, 'ping', [], 5]]), 2, 0, TransferMode.RELIABLE);
    // Broadcast and all-but-one relays skip the origin too.
    server.receive(message(sum, [FrameKind.RELAY, 0, 2, [FrameKind.CALL, 'seq', [2]]]), 2, 0, TransferMode.RELIABLE);
    server.receive(message(sum, [FrameKind.RELAY, -3, 2, [FrameKind.CALL, 'seq', [3]]]), 2, 0, TransferMode.RELIABLE);
    expect(server.getStats().framesRelayed - relayed).toBe(1); // seq 2, to client 3 only
    await world.barrier();
    const seq = world.log.filter((r) => r.name === 'seq').map((r) => [r.at, r.sender, r.args[0]]);
    expect(seq.sort()).toEqual([[1, 2, 2], [1, 2, 3], [3, 2, 2]]);
    expect(world.errors.map((e) => [e.code, e.at, e.senderId])).toEqual([['UNKNOWN_TARGET', 1, 2], ['UNKNOWN_TARGET', 1, 2]]);
    expect(server.getStats().errors.UNKNOWN_TARGET).toBe(2);
  });

  it('a relay peer 1 cannot re-encode is dropped for every target and its request fails at once', async () => {
    const { world, hub } = starWorld();
    await world.ready();
    const p = world.ep(2).request(3, 'echo', 1);
    world.ep(2).flush();
    const inbox = hub.peers.get(1)!.inbox;
    expect(inbox.length).toBe(1);
    const honest = decodeMessage(inbox.pop()!.data).frames[0] as [number, number, number, [number, unknown, unknown[], number]];
    const [, method, , id] = honest[3];
    // The same request, but its argument is a 129-bit bigint (msgpackr's bigint extension 0x42): decodable, not encodable.
    const forged = new Uint8Array([
      ...encodeHeader(world.ep(1).getTableChecksum()),
      0x94, FrameKind.RELAY, 3, 2,
      0x94, FrameKind.REQUEST, ...encode(method), 0x91, 0xd8, 0x42, ...new Array(16).fill(0x11), ...encode(id),
    ]);
    inbox.push({ from: 2, channel: 0, mode: TransferMode.RELIABLE, data: forged });
    const err = await world.settle(p).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.REMOTE_ERROR, remoteCode: 'MALFORMED_FRAME', peerId: 3 });
    await world.barrier();
    expect(world.errors.map((e) => [e.code, e.at, e.senderId, e.message.split(':')[0]])).toEqual([['MALFORMED_FRAME', 1, 2, 'relayed frame cannot be re-encoded']]);
    expect(world.log).toEqual([]);
  });

  it('a client drops relayed and peer-list frames that do not come from peer 1', async () => {
    const { world } = starWorld();
    await world.ready();
    const c = world.ep(2);
    c.receive(message(c.getTableChecksum(), [FrameKind.RELAYED, 1, [FrameKind.CALL, 'seq', [1]]]), 3, 0, TransferMode.RELIABLE);
    c.receive(message(c.getTableChecksum(), [FrameKind.PEERS, 0, [9]]), 3, 0, TransferMode.RELIABLE);
    expect(world.errors.filter((e) => e.code === 'FORGED_SENDER').length).toBe(2);
    expect(c.getPeerIds()).toEqual([1, 3]);
  });

  it('authority is configurable', async () => {
    const { world } = meshWorld();
    await world.ready();
    for (const ep of world.endpoints.values()) ep.setAuthority(2);
    world.ep(2).rpc('m_authority_remote', 'a');
    world.ep(1).rpc('m_authority_remote', 'b');
    await world.barrier();
    const ran = world.log.filter((r) => r.name === 'm_authority_remote');
    expect(ran.map((r) => [r.at, r.sender]).sort()).toEqual([[1, 2], [3, 2]]);
    expect(world.errors.filter((e) => e.code === 'UNAUTHORIZED_SENDER').map((e) => e.at).sort()).toEqual([2, 3]);
  });

  it('handlers see channel, mode and tick', async () => {
    const hub = new FakeHub();
    const [a, b] = [hub.add(1, 'mesh'), hub.add(2, 'mesh')];
    hub.link(1, 2);
    const seen: unknown[] = [];
    const mk = (m: typeof a) =>
      new RpcEndpoint(m)
        .register('u', (ctx) => void seen.push([ctx.senderId, ctx.channel, ctx.mode, ctx.tick, ctx.name]), { transferMode: TransferMode.UNRELIABLE })
        .register('c', (ctx) => void seen.push([ctx.senderId, ctx.channel, ctx.mode, ctx.tick, ctx.name]), { channel: 2 });
    const ea = mk(a);
    const eb = mk(b);
    for (let i = 0; i < 3; i++) {
      ea.poll(), eb.poll(), ea.flush(), eb.flush();
    }
    ea.rpc('u');
    ea.rpc('c');
    ea.flush();
    eb.poll();
    expect(seen).toEqual([
      [1, 0, TransferMode.UNRELIABLE, eb.tick, 'u'],
      [1, 2, TransferMode.RELIABLE, eb.tick, 'c'],
    ]);
  });
});

describe('request / response', () => {

  for (const topology of ['mesh', 'relayed'] as const) {
    it(`round-trips every msgpack type (${topology})`, async () => {
      const { world } = topology === 'mesh' ? meshWorld([1, 2], { maxMessageSize: 1 << 20 }) : starWorld([2, 3], { maxMessageSize: 1 << 20 });
      await world.ready();
      expect(await roundTripAll(world, topology === 'mesh' ? 1 : 2, topology === 'mesh' ? 2 : 3)).toBe(MSGPACK_VALUES.length);
    });
  }

  it('remote errors come back typed', async () => {
    const { world } = meshWorld([1, 2]);
    await world.ready();
    const r = (name: string) => world.settle(world.ep(1).request(2, name)).then(
      () => expect.unreachable(),
      (e: unknown) => e as RpcRemoteError,
    );
    const plain = await r('fail_plain');
    expect(plain).toBeInstanceOf(RpcRemoteError);
    expect(plain.code).toBe(ErrorCode.REMOTE_ERROR);
    expect([plain.remoteCode, plain.remoteMessage, plain.peerId, plain.rpcName]).toEqual(['HANDLER_ERROR', 'boom', 2, 'fail_plain']);
    expect((await r('fail_typed')).remoteCode).toBe(ErrorCode.INVALID_STATE);
    expect((await r('fail_custom')).remoteCode).toBe('NO_AMMO');
    expect((await r('unencodable')).remoteCode).toBe('HANDLER_ERROR');
    const tooBig = await world.settle(world.ep(1).request(2, 'big', 100_000)).catch((e: RpcRemoteError) => e);
    expect((tooBig as RpcRemoteError).remoteCode).toBe('RESULT_TOO_LARGE');
    await expect(world.settle(world.ep(1).request(2, 'big', 10))).resolves.toBe('x'.repeat(10));
  });

  it('a request refused remotely (unknown, unauthorised, invalid args) rejects at once instead of timing out', async () => {
    const hub = new FakeHub();
    const [a, b] = [hub.add(1, 'mesh'), hub.add(2, 'mesh')];
    hub.link(1, 2);
    const ea = new RpcEndpoint(a, { requestTimeoutMs: 1e9 })
      .register('only_here', () => 1, { mode: 'any_peer' })
      .register('auth', () => 1)
      .register('v', (_c, n: number) => n, { mode: 'any_peer', validate: (x): x is [number] => typeof x[0] === 'number' });
    const eb = new RpcEndpoint(b, { requestTimeoutMs: 1e9 })
      .register('auth', () => 1)
      .register('v', (_c, n: number) => n, { mode: 'any_peer', validate: (x): x is [number] => typeof x[0] === 'number' });
    const world = { endpoints: [ea, eb] };
    const pump = async <T>(p: Promise<T>) => {
      let done = false;
      p.finally(() => (done = true)).catch(() => {});
      while (!done) {
        for (const e of world.endpoints) e.poll();
        for (const e of world.endpoints) e.flush();
        await new Promise((r) => setImmediate(r));
      }
      return p;
    };
    for (let i = 0; i < 2; i++) for (const e of world.endpoints) e.poll(), e.flush();
    const asCode = (p: Promise<unknown>) => p.then(() => 'resolved', (e: RpcRemoteError) => e.remoteCode);
    const codes = await pump(Promise.all([asCode(ea.request(2, 'only_here')), asCode(eb.request(1, 'auth')), asCode(ea.request(2, 'v', 'nope' as unknown as number))]));
    expect(codes).toEqual(['UNKNOWN_RPC', 'UNAUTHORIZED_SENDER', 'INVALID_ARGS']);
  });

  it('times out on the endpoint clock, checked at poll', async () => {
    let now = 0;
    const clock = { now: () => now };
    const { world } = meshWorld([1, 2], { clock, requestTimeoutMs: 1000 });
    await world.ready();
    const p = world.ep(1).request(2, 'never'); // timeoutMs 100 from its config
    const q = world.ep(1).request(2, 'echo', 1);
    let state = 'pending';
    p.catch((e: unknown) => (state = isRtcmeshError(e, ErrorCode.TIMEOUT) ? 'timeout' : 'other'));
    world.round();
    now = 99;
    world.round();
    await Promise.resolve();
    expect(state).toBe('pending');
    now = 100;
    world.round();
    await expect(p).rejects.toMatchObject({ code: ErrorCode.TIMEOUT });
    await expect(q).resolves.toBe(1);
    expect(world.ep(1).getStats().pendingRequests).toBe(0);
  });

  it('a disconnect rejects the pending requests to that peer (mesh and relayed)', async () => {
    const { world, hub } = meshWorld([1, 2, 3]);
    await world.ready();
    const p = world.ep(1).request(2, 'never');
    const keep = world.ep(1).request(3, 'echo', 'ok');
    hub.unlink(1, 2);
    world.round();
    await expect(p).rejects.toMatchObject({ code: ErrorCode.PEER_DISCONNECTED });
    await expect(world.settle(keep)).resolves.toBe('ok');

    const star = starWorld([2, 3]);
    await star.world.ready();
    const r = star.world.ep(2).request(3, 'never');
    star.world.round();
    star.hub.unlink(1, 3); // client 3 leaves the server: the server tells client 2
    await expect(star.world.settle(r)).rejects.toMatchObject({ code: ErrorCode.PEER_DISCONNECTED });
    expect(star.world.ep(2).getPeerIds()).toEqual([1]);
    // Losing the server cancels everything.
    const s = star.world.ep(2).request(1, 'never');
    star.hub.unlink(1, 2);
    await expect(star.world.settle(s)).rejects.toMatchObject({ code: ErrorCode.PEER_DISCONNECTED });
  });

  it('request to self needs callLocal and resolves locally', async () => {
    const { world } = meshWorld([1, 2]);
    await world.ready();
    await expect(world.ep(2).request(2, 'ping')).resolves.toBe(2);
    await expect(world.ep(2).request(2, 'echo', 1)).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
  });
});

describe('call-site errors', () => {
  it('throws typed errors for misuse', async () => {
    const hub = new FakeHub();
    const server = hub.add(1, 'server');
    const client = hub.add(2, 'client');
    const ec = registerStandard(new RpcEndpoint<AnyRpcMethods>(client), []);
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as RtcmeshError).code;
      }
      return 'no error';
    };
    expect(code(() => ec.rpc('seq', 1))).toBe(ErrorCode.NOT_OPEN);
    hub.link(1, 2);
    const es = registerStandard(new RpcEndpoint<AnyRpcMethods>(server), []);
    for (let i = 0; i < 3; i++) es.poll(), ec.poll(), es.flush(), ec.flush();
    expect(code(() => ec.rpc('seq', 1))).toBe('no error');
    expect(code(() => ec.rpc('nope'))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(code(() => ec.rpcId(2, 'seq', 1))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(code(() => ec.rpcId(7, 'seq', 1))).toBe(ErrorCode.INVALID_PEER);
    expect(code(() => ec.rpcId(1.5, 'seq', 1))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(code(() => ec.register('seq', () => 0))).toBe(ErrorCode.INVALID_STATE);
    expect(code(() => ec.register('', () => 0))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(code(() => ec.register('z', 5 as never))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(code(() => ec.register('z', () => 0, { mode: 'bogus' as never }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(code(() => ec.register('z', () => 0, { chanel: 1 } as never))).toBe(ErrorCode.UNKNOWN_OPTION);
    expect(code(() => ec.register('z', () => 0, { channel: 256 }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(code(() => new RpcEndpoint({} as never))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(code(() => new RpcEndpoint(client, { authority: 0 }))).toBe(ErrorCode.INVALID_ARGUMENT);
    await expect(ec.request(0, 'echo', 1)).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    await expect(ec.request(9, 'echo', 1)).rejects.toMatchObject({ code: ErrorCode.INVALID_PEER });
    ec.close();
    expect(code(() => ec.rpc('seq', 1))).toBe(ErrorCode.CLOSED);
  });

  it('types flow from handlers to call sites', () => {
    const hub = new FakeHub();
    const ep = new RpcEndpoint(hub.add(1, 'mesh'))
      .register('move', (_ctx, x: number, y: number) => x + y, { mode: 'any_peer' })
      .register('name', async (_ctx, id: number) => `p${id}`);
    // Compile-time checks (tsc runs over tests): wrong types are errors.
    // @ts-expect-error x must be a number
    expect(() => ep.rpc('move', 'a', 2)).not.toThrow();
    // @ts-expect-error unknown RPC name
    expect(() => ep.rpc('nope')).toThrow();
    const p: Promise<string> = ep.request(1, 'name', 3).catch(() => 'x');
    expect(p).toBeInstanceOf(Promise);
  });
});
