/**
 * Shared RPC test harness: endpoints over any MultiplayerPeers (fake or real),
 * a pump that polls and flushes every endpoint until a condition holds (no
 * sleeps), a request barrier, and the standard RPC set used by the scenarios.
 */
import { expect } from 'vitest';
import type { MultiplayerPeer } from '../../src/mesh/types.js';
import { RpcEndpoint, RpcHandlerError, type AnyRpcMethods, type RpcEndpointOptions, type RpcErrorEvent, type RpcMode } from '../../src/rpc/index.js';
import { ErrorCode, RtcmeshError } from '../../src/errors.js';

export interface CallRecord {
  at: number;
  sender: number;
  name: string;
  args: unknown[];
}

export const MODES: RpcMode[] = ['authority', 'any_peer'];
export const rpcName = (mode: RpcMode, callLocal: boolean) => `m_${mode}_${callLocal ? 'local' : 'remote'}`;

/** Register the standard RPC set on `ep`; calls are appended to `log`. */
export function registerStandard(ep: RpcEndpoint<AnyRpcMethods>, log: CallRecord[]): RpcEndpoint<AnyRpcMethods> {
  const me = () => ep.mesh.getUniqueId();
  for (const mode of MODES) {
    for (const callLocal of [false, true]) {
      const name = rpcName(mode, callLocal);
      ep.register(name, (ctx, ...args: unknown[]) => void log.push({ at: me(), sender: ctx.senderId, name, args }), { mode, callLocal });
    }
  }
  ep.register('ping', () => me(), { mode: 'any_peer', callLocal: true });
  ep.register('echo', (_ctx, v: unknown) => v, { mode: 'any_peer' });
  ep.register('seq', (ctx, n: number) => void log.push({ at: me(), sender: ctx.senderId, name: 'seq', args: [n] }), { mode: 'any_peer' });
  ep.register('fail_plain', () => {
    throw new Error('boom');
  }, { mode: 'any_peer' });
  ep.register('fail_typed', () => {
    throw new RtcmeshError(ErrorCode.INVALID_STATE, 'not now');
  }, { mode: 'any_peer' });
  ep.register('fail_custom', async () => {
    throw new RpcHandlerError('NO_AMMO', 'out of ammo');
  }, { mode: 'any_peer' });
  ep.register('never', () => new Promise(() => {}), { mode: 'any_peer', timeoutMs: 100 });
  ep.register('big', (_ctx, n: number) => 'x'.repeat(n), { mode: 'any_peer' });
  ep.register('unencodable', () => 2n ** 70n, { mode: 'any_peer' });
  ep.register('validated', (ctx, x: number) => void log.push({ at: me(), sender: ctx.senderId, name: 'validated', args: [x] }), {
    mode: 'any_peer',
    validate: (a): a is [number] => a.length === 1 && typeof a[0] === 'number',
  });
  return ep;
}

export class World {
  readonly endpoints = new Map<number, RpcEndpoint<AnyRpcMethods>>();
  readonly log: CallRecord[] = [];
  readonly errors: (RpcErrorEvent & { at: number })[] = [];

  constructor(meshes: Iterable<MultiplayerPeer>, options?: RpcEndpointOptions, register = registerStandard) {
    for (const mesh of meshes) {
      const ep = register(new RpcEndpoint<AnyRpcMethods>(mesh, options), this.log);
      const at = mesh.getUniqueId();
      ep.on('rpc_error', (e) => this.errors.push({ ...e, at }));
      this.endpoints.set(at, ep);
    }
  }

  ep(id: number): RpcEndpoint<AnyRpcMethods> {
    const e = this.endpoints.get(id);
    if (!e) throw new Error(`no endpoint ${id}`);
    return e;
  }

  /** One poll + flush round on every endpoint. */
  round(): void {
    for (const e of this.endpoints.values()) e.poll();
    for (const e of this.endpoints.values()) e.flush();
  }

  /** Rounds until `check()`; yields to the event loop between rounds (real sockets need it). */
  async pump(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const start = Date.now();
    for (;;) {
      this.round();
      if (check()) return;
      if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Resolve `p` while pumping. */
  async settle<T>(p: Promise<T>, timeoutMs = 10_000): Promise<T> {
    let done = false;
    const wrapped = p.finally(() => {
      done = true;
    });
    wrapped.catch(() => {});
    await this.pump(() => done, 'a promise settles', timeoutMs);
    return wrapped;
  }

  /**
   * Every peer requests `ping` from every other peer and waits for all answers:
   * on ordered reliable channels everything sent before has been dispatched.
   */
  async barrier(): Promise<void> {
    const all: Promise<unknown>[] = [];
    for (const [id, ep] of this.endpoints) {
      for (const other of this.endpoints.keys()) if (other !== id) all.push(ep.request(other, 'ping'));
    }
    const results = await this.settle(Promise.all(all));
    expect(results.length).toBe(all.length);
  }

  /** Handshake done everywhere (each endpoint heard a HELLO from each peer it knows). */
  async ready(): Promise<void> {
    const ids = [...this.endpoints.keys()];
    await this.pump(
      () =>
        ids.every((id) => ids.every((o) => o === id || this.ep(id).getPeerIds().includes(o))) &&
        ids.every((id) => this.ep(id).mesh.getPeerIds().every((o) => this.ep(id).usesMethodIds(o))),
      'every peer knows every other peer and the handshakes are done',
    );
  }
}

/** Peers that should run a call from `caller` to `target` with (mode, callLocal), given authority 1. */
export function expectedRunners(ids: number[], caller: number, target: number, mode: RpcMode, callLocal: boolean): number[] {
  const inTarget = ids.filter((p) => (target === 0 ? true : target > 0 ? p === target : p !== -target));
  return inTarget.filter((p) => (p !== caller || callLocal) && (mode === 'any_peer' || caller === 1)).sort((a, b) => a - b);
}

/**
 * Every mode × callLocal × caller × target: the handler runs on exactly the
 * expected peers with the caller as senderId; authority RPCs from non-authorities
 * are dropped and reported as UNAUTHORIZED_SENDER on each receiver.
 */
export async function runMatrix(world: World): Promise<number> {
  const ids = [...world.endpoints.keys()].sort((a, b) => a - b);
  const targets = [0, ...ids, ...ids.map((i) => -i)];
  let cases = 0;
  for (const mode of MODES) {
    for (const callLocal of [false, true]) {
      const name = rpcName(mode, callLocal);
      for (const caller of ids) {
        for (const target of targets) {
          world.log.length = 0;
          world.errors.length = 0;
          const ep = world.ep(caller);
          const args = [caller, target, 'x'];
          if (target === caller && !callLocal) {
            expect(() => ep.rpcId(target, name, ...args)).toThrow(RtcmeshError);
            continue;
          }
          if (target === 0) ep.rpc(name, ...args);
          else ep.rpcId(target, name, ...args);
          await world.barrier();
          const ran = world.log.filter((r) => r.name === name);
          const label = `${name} caller ${caller} target ${target}`;
          expect(ran.map((r) => r.at).sort((a, b) => a - b), label).toEqual(expectedRunners(ids, caller, target, mode, callLocal));
          for (const r of ran) {
            expect(r.sender, label).toBe(caller);
            expect(r.args, label).toEqual(args);
          }
          if (mode === 'authority' && caller !== 1) {
            // Every would-be runner reports the refusal instead of running it.
            const would = expectedRunners(ids, caller, target, 'any_peer', callLocal);
            const refused = world.errors.filter((e) => e.code === 'UNAUTHORIZED_SENDER' && e.name === name);
            expect(refused.map((e) => e.at).sort((a, b) => a - b), label).toEqual(would);
            expect(refused.every((e) => e.senderId === caller), label).toBe(true);
          } else {
            expect(world.errors.map((e) => `${e.code}@${e.at}<${e.senderId}: ${e.message}`), label).toEqual([]);
          }
          cases++;
        }
      }
    }
  }
  return cases;
}

/** One value of every msgpack type (and the JS shapes we promise to keep). */
export const MSGPACK_VALUES: [string, unknown][] = [
  ['nil', null],
  ['true', true],
  ['false', false],
  ['positive fixint', 7],
  ['negative int', -123456],
  ['uint32', 4_000_000_000],
  ['float', 3.25],
  ['large int', 2 ** 52 + 1],
  ['bigint', -(2n ** 62n)],
  ['empty string', ''],
  ['unicode string', 'héllo ✓ 🚀'],
  ['long string', 'x'.repeat(70_000)],
  ['Uint8Array', new Uint8Array([0, 1, 2, 255])],
  ['empty Uint8Array', new Uint8Array(0)],
  ['Map', new Map<unknown, unknown>([[1, 'one'], ['two', { n: 2 }], [3.5, [1, 2]]])],
  ['nested object', { a: 1, b: { c: [1, 'x', { d: null }], e: new Map([['k', 'v']]) }, f: '' }],
  ['empty object', {}],
  ['empty array', []],
  ['large array', Array.from({ length: 20_000 }, (_, i) => i * 3)],
  ['array of mixed', [1, 'a', null, true, 2.5, new Uint8Array([9]), { z: 1 }]],
];

/** `from` requests `echo` of every value from `to`; each must come back equal and of the same kind. */
export async function roundTripAll(world: World, from: number, to: number): Promise<number> {
  let n = 0;
  for (const [label, v] of MSGPACK_VALUES) {
    const got = await world.settle(world.ep(from).request(to, 'echo', v));
    if (v instanceof Uint8Array) {
      expect(got, label).toBeInstanceOf(Uint8Array);
      expect(Array.from(got as Uint8Array), label).toEqual(Array.from(v));
    } else {
      expect(got, label).toEqual(v);
    }
    if (v instanceof Map) expect(got, label).toBeInstanceOf(Map);
    if (label === 'nested object') {
      const o = got as { b: { e: unknown } };
      expect(Object.getPrototypeOf(o), label).toBe(Object.prototype);
      expect(o.b.e, label).toBeInstanceOf(Map);
    }
    n++;
  }
  return n;
}
