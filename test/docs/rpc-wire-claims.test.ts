/**
 * The wire format of docs/rpc.md ("Wire format", "Codec", "Method-table
 * handshake"), checked on the bytes two RpcEndpoints really exchange over an
 * in-memory MultiplayerPeer. Each `it()` quotes the claim it checks.
 */
import { describe, expect, it } from 'vitest';
import { Unpackr } from 'msgpackr';
import { ErrorCode, RpcEndpoint, TransferMode, type AnyRpcMethods } from '../api.js';
import { FakeHub } from '../rpc/fake-mesh.js';

/** 32-bit FNV-1a over UTF-8 bytes, written from its definition. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Every msgpack value of a message, read by a plain decoder (no records). */
function values(data: Uint8Array): unknown[] {
  return new Unpackr({ mapsAsObjects: false, useRecords: false, int64AsType: 'bigint' }).unpackMultiple(data) as unknown[];
}

function world() {
  const hub = new FakeHub();
  const m1 = hub.add(1, 'mesh');
  const m2 = hub.add(2, 'mesh');
  hub.link(1, 2);
  const names = ['move', 'chat'];
  const eps = [m1, m2].map((m) => {
    const ep = new RpcEndpoint<AnyRpcMethods>(m);
    for (const n of names) ep.register(n, () => 0, { mode: 'any_peer' });
    return ep;
  });
  return { m1, m2, e1: eps[0]!, e2: eps[1]! };
}

describe('docs/rpc.md: wire format', () => {
  it('"a header (the sender\'s method-table checksum …) followed by one or more frames"; "the checksum is 32-bit FNV-1a over the sorted names, each followed by a NUL byte"; "HELLO [6, checksum, count] … on link open … on the reliable channel"', () => {
    const { m2, e1 } = world();
    e1.poll(); // the link opens
    e1.flush();
    const checksum = fnv1a('chat\0move\0');
    const hello = m2.inbox.map((p) => ({ mode: p.mode, channel: p.channel, values: values(p.data) }));
    expect(hello).toEqual([{ mode: TransferMode.RELIABLE, channel: 0, values: [checksum, [6, checksum, 2]] }]);
  });

  it('"CALL [0, method, args]" — "method is an integer id or the RPC\'s name": a name before the peer\'s HELLO, then "ids are indexes into the sorted list of registered names"', () => {
    const { m1, m2, e1, e2 } = world();
    e1.poll(); // the link opens here; peer 2's HELLO has not arrived
    e1.rpcId(2, 'move', 1);
    e1.flush();
    const first = m2.inbox.flatMap((p) => values(p.data).slice(1)) as unknown[][];
    expect(first.filter((f) => f[0] === 0)).toEqual([[0, 'move', [1]]]);
    for (let i = 0; i < 2; i++) (e1.poll(), e2.poll(), e1.flush(), e2.flush());
    m2.inbox.length = 0;
    m1.inbox.length = 0;
    e1.rpcId(2, 'move', 2); // both tables known and equal: the id
    e1.flush();
    const calls = m2.inbox.map((p) => values(p.data).slice(1));
    expect(calls).toEqual([[[0, 1, [2]]]]); // 'move' is index 1 of ['chat', 'move']
  });

  it('"integers 64–127 are written as uint8 (never as positive fixints)"; "-0 is written as the integer 0"; other numbers "float64 (never float32)"', () => {
    const { m2, e1 } = world();
    e1.poll();
    m2.inbox.length = 0;
    e1.rpcId(2, 'chat', 100, -0, 1.5, 0.1);
    e1.flush();
    const data = m2.inbox[0]!.data;
    const frame = values(data)[1] as [number, unknown, unknown[]];
    expect(frame[2]).toEqual([100, 0, 1.5, 0.1]);
    expect(Object.is(frame[2][1], -0)).toBe(false);
    const hex = Buffer.from(data).toString('hex');
    expect(hex).toContain('cc64'); // 100 as uint8
    expect(hex).toContain('cb3ff8000000000000'); // 1.5 as float64
    expect(hex).not.toContain('ca'); // no float32 marker anywhere in this message
  });

  it('"bigint outside that range: refused at the call site (INVALID_ARGUMENT)"; in range it arrives as a bigint', () => {
    const { m2, e1 } = world();
    e1.poll();
    m2.inbox.length = 0;
    expect(() => e1.rpcId(2, 'chat', 2n ** 64n)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(() => e1.rpcId(2, 'chat', -(2n ** 63n) - 1n)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    e1.rpcId(2, 'chat', 5n);
    e1.flush();
    const frame = values(m2.inbox[0]!.data)[1] as [number, unknown, unknown[]];
    expect(frame[2]).toEqual([5n]);
  });

  it('relay: a client\'s rpcId(otherClient) goes to peer 1 as "[4, target, ownId, frame]", peer 1 forwards "[5, origin, frame]"; "PEERS [7, op, ids] (op 0 set, 1 add, 2 remove) peer 1 → clients"', () => {
    const hub = new FakeHub();
    const meshes = [hub.add(1, 'server'), hub.add(2, 'client'), hub.add(3, 'client')];
    hub.link(1, 2);
    hub.link(1, 3);
    const eps = meshes.map((m) => new RpcEndpoint<AnyRpcMethods>(m).register('chat', (_ctx, _text: string) => 0, { mode: 'any_peer' }));
    const round = () => eps.forEach((ep) => (ep.poll(), ep.flush()));
    const frames = (i: number) => meshes[i]!.inbox.flatMap((p) => values(p.data).slice(1).map((f) => ({ from: p.from, f: f as unknown[] })));
    // links open one peer at a time on the server: a set, then an add
    eps[0]!.poll();
    eps[0]!.flush();
    const peers = [...frames(1), ...frames(2)].filter((x) => x.f[0] === 7);
    expect(peers.every((x) => x.from === 1)).toBe(true);
    expect(peers.map((x) => x.f[1])).toContain(0);
    round();
    round();
    for (const m of meshes) m.inbox.length = 0;
    eps[1]!.rpcId(3, 'chat', 'hi');
    eps[1]!.flush();
    const relay = frames(0).filter((x) => x.f[0] === 4);
    expect(relay).toHaveLength(1);
    expect(relay[0]!.f.slice(1, 3)).toEqual([3, 2]);
    expect((relay[0]!.f[3] as unknown[])[0]).toBe(0);
    eps[0]!.poll();
    eps[0]!.flush();
    const relayed = frames(2).filter((x) => x.f[0] === 5);
    expect(relayed).toHaveLength(1);
    expect(relayed[0]!.from).toBe(1);
    expect(relayed[0]!.f[1]).toBe(2);
    expect((relayed[0]!.f[2] as unknown[]).slice(2)).toEqual([['hi']]);
    // a client leaving: peer 1 tells the other with a remove
    hub.unlink(1, 3);
    for (const m of meshes) m.inbox.length = 0;
    eps[0]!.poll();
    eps[0]!.flush();
    const removes = frames(1).filter((x) => x.f[0] === 7 && x.f[1] === 2);
    expect(removes.map((x) => x.f[2])).toEqual([[3]]);
  });
});
