/**
 * Per-RPC authority (Godot's per-node `set_multiplayer_authority`) and
 * `getRemoteSenderId()` (Godot's `get_remote_sender_id()`), over fake meshes
 * in server/client mode.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, RtcmeshError } from '../../src/errors.js';
import { RpcEndpoint, RpcRemoteError, type AnyRpcMethods, type RpcErrorEvent } from '../../src/rpc/index.js';
import { FakeHub } from './fake-mesh.js';

function star(clients = [2, 3]) {
  const hub = new FakeHub();
  const meshes = [hub.add(1, 'server'), ...clients.map((id) => hub.add(id, 'client'))];
  for (const c of clients) hub.link(1, c);
  const ran: { at: number; name: string; sender: number; remote: number; args: unknown[] }[] = [];
  const errors: (RpcErrorEvent & { at: number })[] = [];
  const eps = new Map<number, RpcEndpoint<AnyRpcMethods>>();
  for (const m of meshes) {
    const at = m.getUniqueId();
    const ep = new RpcEndpoint<AnyRpcMethods>(m);
    const log = (name: string) => (ctx: { senderId: number }, ...args: unknown[]) => void ran.push({ at, name, sender: ctx.senderId, remote: ep.getRemoteSenderId(), args });
    ep.register('paddle', log('paddle'), { authority: 2 })
      .register('inputs', log('inputs'), { authority: (args) => args[0] as number, callLocal: true })
      .register('plain', log('plain'), { callLocal: true })
      .register('ask', (ctx) => ctx.senderId, { mode: 'any_peer', callLocal: true });
    ep.on('rpc_error', (e) => errors.push({ ...e, at }));
    eps.set(at, ep);
  }
  const pump = () => {
    for (let i = 0; i < 6; i++) {
      for (const ep of eps.values()) ep.poll();
      for (const ep of eps.values()) ep.flush();
    }
  };
  pump();
  return { eps, ran, errors, pump };
}

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof RtcmeshError ? err.code : String(err);
  }
  return undefined;
};

describe('per-RPC authority', () => {
  it('config.authority (a peer id): only that peer may call it, whatever the endpoint authority', () => {
    const { eps, ran, errors, pump } = star();
    eps.get(1)!.rpc('paddle', 'from 1');
    eps.get(3)!.rpc('paddle', 'from 3');
    eps.get(2)!.rpc('paddle', 'from 2');
    pump();
    expect(ran.filter((r) => r.name === 'paddle').map((r) => [r.at, r.args[0]]).sort()).toEqual([
      [1, 'from 2'],
      [3, 'from 2'],
    ]);
    expect(errors.filter((e) => e.code === 'UNAUTHORIZED_SENDER').map((e) => [e.at, e.senderId]).sort()).toEqual([
      [1, 3],
      [2, 1],
      [2, 3],
      [3, 1],
    ]);
    expect(eps.get(1)!.getAuthority('paddle')).toBe(2);
    expect(eps.get(2)!.isAuthority('paddle')).toBe(true);
    expect(eps.get(2)!.isAuthority()).toBe(false);
  });

  it('setAuthority(id, name) moves one RPC; setAuthority(id) moves the endpoint default only', () => {
    const { eps, ran, errors, pump } = star();
    for (const ep of eps.values()) ep.setAuthority(3, 'paddle');
    eps.get(3)!.rpc('paddle', 'now 3');
    eps.get(2)!.rpc('plain', 'not the authority');
    pump();
    expect(ran.filter((r) => r.name === 'paddle').map((r) => r.at).sort()).toEqual([1, 2]);
    // plain keeps the endpoint's authority (1): 2's own call_local run is refused too, as Godot documents.
    expect(ran.filter((r) => r.name === 'plain')).toEqual([]);
    expect(errors.filter((e) => e.name === 'plain').map((e) => e.at).sort()).toEqual([1, 2, 3]);
    for (const ep of eps.values()) ep.setAuthority(2);
    expect(eps.get(1)!.getAuthority('plain')).toBe(2);
    expect(eps.get(1)!.getAuthority('paddle')).toBe(3);
  });

  it('config.authority as a function of the arguments: each object has its owner; local runs are checked the same way', () => {
    const { eps, ran, errors, pump } = star();
    eps.get(2)!.rpc('inputs', 2, 'mine');
    eps.get(2)!.rpc('inputs', 3, 'forged');
    pump();
    expect(ran.filter((r) => r.name === 'inputs').map((r) => [r.at, r.args[1]]).sort()).toEqual([
      [1, 'mine'],
      [2, 'mine'],
      [3, 'mine'],
    ]);
    expect(errors.filter((e) => e.name === 'inputs').map((e) => [e.at, e.senderId]).sort()).toEqual([
      [1, 2],
      [2, 2],
      [3, 2],
    ]);
    expect(codeOf(() => eps.get(1)!.getAuthority('inputs'))).toBe(ErrorCode.INVALID_ARGUMENT);
  });

  it('a local request to an RPC whose authority is another peer is refused', async () => {
    const { eps } = star();
    eps.get(1)!.register('owned', () => 1, { authority: 2, callLocal: true });
    const err = await eps.get(1)!.request(1, 'owned').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcRemoteError);
    expect((err as RpcRemoteError).remoteCode).toBe('UNAUTHORIZED_SENDER');
  });

  it('validation: a bad authority config or an unknown RPC name throws INVALID_ARGUMENT', () => {
    const { eps } = star();
    const ep = eps.get(1)!;
    expect(codeOf(() => ep.register('x', () => {}, { authority: 0 }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(codeOf(() => ep.register('y', () => {}, { authority: 1.5 }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(codeOf(() => ep.register('z', () => {}, { authority: 'me' as unknown as number }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(codeOf(() => ep.setAuthority(2, 'nope'))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(codeOf(() => ep.getAuthority('nope'))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(codeOf(() => ep.setAuthority(0, 'paddle'))).toBe(ErrorCode.INVALID_ARGUMENT);
  });
});

describe('getRemoteSenderId()', () => {
  it('the caller inside a handler (relayed or direct), own id in a call_local run, 0 outside and after an await', async () => {
    const { eps, ran, pump } = star();
    expect(eps.get(1)!.getRemoteSenderId()).toBe(0);
    eps.get(2)!.rpc('inputs', 2, 'x');
    pump();
    for (const r of ran) expect(r.remote).toBe(r.sender);
    expect(ran.map((r) => [r.at, r.remote]).sort()).toEqual([
      [1, 2],
      [2, 2],
      [3, 2],
    ]);
    for (const ep of eps.values()) expect(ep.getRemoteSenderId()).toBe(0);

    // A call_local RPC made inside a handler sees the caller's own id; the outer handler then sees its sender again (as Godot).
    const nested: [string, number][] = [];
    const ep1 = eps.get(1)!;
    ep1.register('inner', () => void nested.push(['inner', ep1.getRemoteSenderId()]), { mode: 'any_peer', callLocal: true });
    ep1.register('outer', () => {
      nested.push(['outer', ep1.getRemoteSenderId()]);
      ep1.rpcId(1, 'inner');
      nested.push(['outer after', ep1.getRemoteSenderId()]);
    }, { mode: 'any_peer' });
    for (const id of [2, 3]) {
      eps.get(id)!.register('inner', () => {}, { mode: 'any_peer', callLocal: true });
      eps.get(id)!.register('outer', () => {}, { mode: 'any_peer' });
    }
    eps.get(3)!.rpcId(1, 'outer');
    pump();
    expect(nested).toEqual([
      ['outer', 3],
      ['inner', 1],
      ['outer after', 3],
    ]);

    const seen: number[] = [];
    eps.get(3)!.unregister('ask');
    eps.get(3)!.register('ask', async (ctx) => {
      seen.push(eps.get(3)!.getRemoteSenderId());
      await Promise.resolve();
      seen.push(eps.get(3)!.getRemoteSenderId());
      return ctx.senderId;
    }, { mode: 'any_peer', callLocal: true });
    expect(await eps.get(3)!.request(3, 'ask')).toBe(3);
    expect(seen).toEqual([3, 0]);
  });
});

describe('a loop that only polls (as Godot\'s)', () => {
  it('sends what was batched at the next poll(): calls arrive in order, with method ids, and nothing is reported', () => {
    const hub = new FakeHub();
    const meshes = [hub.add(1, 'server'), hub.add(2, 'client'), hub.add(3, 'client')];
    hub.link(1, 2);
    hub.link(1, 3);
    const got: [number, number, unknown][] = [];
    const errors: string[] = [];
    const eps = meshes.map((m) => {
      const ep = new RpcEndpoint<AnyRpcMethods>(m);
      ep.register('say', (ctx, x: unknown) => void got.push([m.getUniqueId(), ctx.senderId, x]), { mode: 'any_peer' });
      ep.on('rpc_error', (e) => errors.push(e.code));
      return ep;
    });
    const frame = () => eps.forEach((ep) => ep.poll());
    for (let i = 0; i < 4; i++) frame();
    eps[1]!.rpc('say', 'a');
    eps[1]!.rpc('say', 'b');
    for (let i = 0; i < 4; i++) frame();
    expect(got).toEqual([
      [1, 2, 'a'],
      [1, 2, 'b'],
      [3, 2, 'a'],
      [3, 2, 'b'],
    ]);
    expect(eps[1]!.usesMethodIds(1)).toBe(true);
    expect(errors).toEqual([]);
  });
});
