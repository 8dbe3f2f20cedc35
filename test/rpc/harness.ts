/**
 * Shared RPC test harness: endpoints over any MultiplayerPeers (fake or real),
 * a pump that polls and flushes every endpoint until a condition holds (no
 * sleeps), a request barrier, and the standard RPC set used by the scenarios.
 */
import { expect } from 'vitest';
import { TransferMode, type MultiplayerPeer } from '../../src/mesh/types.js';
import { RpcEndpoint, RpcHandlerError, type AnyRpcMethods, type RpcEndpointOptions, type RpcErrorEvent, type RpcMode } from '../../src/rpc/index.js';
import { ErrorCode, RtcmeshError } from '../../src/errors.js';
import { encode, encodeHeader } from '../../src/rpc/codec.js';

export interface CallRecord {
  at: number;
  sender: number;
  name: string;
  args: unknown[];
  /** What the handler's context said (recorded by the channel RPCs only). */
  ctx?: { channel: number; mode: TransferMode; tick: number };
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

/** Custom channels of the channel scenarios' meshes: channel 1 reliable, channel 2 unreliable. */
export const CUSTOM_CHANNELS: TransferMode[] = [TransferMode.RELIABLE, TransferMode.UNRELIABLE];

/** An RPC of the channel scenarios and the channel / mode its handler must see. */
export interface ChannelRpc {
  name: string;
  channel: number;
  mode: TransferMode;
}

/** Unreliable transfer modes and custom channels (any_peer, callLocal). */
export const CHANNEL_RPCS: (ChannelRpc & { config: { transferMode?: TransferMode; channel?: number } })[] = [
  { name: 'ch_unreliable', config: { transferMode: TransferMode.UNRELIABLE }, channel: 0, mode: TransferMode.UNRELIABLE },
  { name: 'ch_ordered', config: { transferMode: TransferMode.UNRELIABLE_ORDERED }, channel: 0, mode: TransferMode.UNRELIABLE_ORDERED },
  { name: 'ch_custom_reliable', config: { channel: 1 }, channel: 1, mode: TransferMode.RELIABLE },
  // No transferMode: the custom channel's own mode is what every runner (local ones too) sees.
  { name: 'ch_custom_unreliable', config: { channel: 2 }, channel: 2, mode: TransferMode.UNRELIABLE },
];

/** Registered with mode 'disabled' on this peer, 'any_peer' + callLocal everywhere else. */
export const DISABLED_AT = 3;
export const DISABLED_RPC = 'disabled_at_3';

/**
 * The standard set plus the channel RPCs and {@link DISABLED_RPC}, for meshes
 * created with {@link CUSTOM_CHANNELS}.
 */
export function registerChannels(ep: RpcEndpoint<AnyRpcMethods>, log: CallRecord[]): RpcEndpoint<AnyRpcMethods> {
  registerStandard(ep, log);
  const me = () => ep.mesh.getUniqueId();
  for (const c of [...CHANNEL_RPCS, { name: DISABLED_RPC, config: {} }]) {
    const mode: RpcMode = c.name === DISABLED_RPC && me() === DISABLED_AT ? 'disabled' : 'any_peer';
    ep.register(
      c.name,
      (ctx, ...args: unknown[]) => {
        log.push({ at: me(), sender: ctx.senderId, name: c.name, args, ctx: { channel: ctx.channel, mode: ctx.mode, tick: ctx.tick } });
        return me();
      },
      { ...c.config, mode, callLocal: true },
    );
  }
  return ep;
}

/** Bytes of one message: the header for `checksum`, then the given frames (hand-made, for forging). */
export function rawMessage(checksum: number, ...frames: unknown[]): Uint8Array {
  return concat(encodeHeader(checksum), ...frames.map((f) => encode(f)));
}

/** The bytes of `parts`, one after another. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
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
          if ((target === caller && !callLocal) || target === -caller) {
            // Godot: yourself without call_local is refused; -yourself is an unknown peer id.
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

/**
 * `rpc` from every caller to every target (0, each peer, all but each peer), all
 * calls in flight at once, each tagged with its own nonce. Calls on unreliable
 * channels may be lost, so an incomplete call is sent again every few rounds
 * (runners are deduplicated). Each runs on exactly the expected peers with the
 * caller as senderId and the RPC's channel and mode in its context.
 * Returns the number of calls sent again.
 */
export async function runChannelMatrix(world: World, rpc: ChannelRpc): Promise<number> {
  const ids = [...world.endpoints.keys()].sort((a, b) => a - b);
  world.log.length = 0;
  world.errors.length = 0;
  const cases = ids.flatMap((caller) =>
    [0, ...ids, ...ids.filter((i) => i !== caller).map((i) => -i)].map((target) => ({
      caller,
      target,
      nonce: `${rpc.name} ${caller}>${target}`,
      expected: expectedRunners(ids, caller, target, 'any_peer', true),
    })),
  );
  const fire = (c: (typeof cases)[number]) => {
    const ep = world.ep(c.caller);
    if (c.target === 0) ep.rpc(rpc.name, c.nonce);
    else ep.rpcId(c.target, rpc.name, c.nonce);
  };
  const runners = (nonce: string) => new Set(world.log.filter((r) => r.name === rpc.name && r.args[0] === nonce).map((r) => r.at));
  const complete = (c: (typeof cases)[number]) => {
    const got = runners(c.nonce);
    return c.expected.every((p) => got.has(p));
  };
  for (const c of cases) fire(c);
  let rounds = 0;
  let resent = 0;
  await world.pump(() => {
    const missing = cases.filter((c) => !complete(c));
    if (missing.length === 0) return true;
    if (++rounds % 50 === 0) for (const c of missing) (fire(c), resent++);
    return false;
  }, `every ${rpc.name} call reaches its targets`);
  await world.barrier();
  for (const c of cases) {
    const label = `${c.nonce}`;
    expect([...runners(c.nonce)].sort((a, b) => a - b), label).toEqual(c.expected);
    for (const r of world.log.filter((x) => x.args[0] === c.nonce)) {
      expect([r.sender, r.ctx?.channel, r.ctx?.mode], `${label} at ${r.at}`).toEqual([c.caller, rpc.channel, rpc.mode]);
    }
  }
  expect(world.errors.map((e) => `${e.code}@${e.at}<${e.senderId}: ${e.message}`)).toEqual([]);
  return resent;
}

/**
 * {@link DISABLED_RPC} from every caller to every target: refused at the call
 * site on the peer where it is disabled (INVALID_STATE); elsewhere it runs on the
 * expected peers except {@link DISABLED_AT}, which drops it and reports
 * RPC_DISABLED once per call that reached it. A request to that peer is refused
 * remotely with RPC_DISABLED. Returns the number of calls that were sent.
 */
export async function runDisabledMatrix(world: World): Promise<number> {
  const ids = [...world.endpoints.keys()].sort((a, b) => a - b);
  const targets = [0, ...ids, ...ids.map((i) => -i)];
  world.log.length = 0;
  world.errors.length = 0;
  const refusedFrom = new Map<number, number>();
  const expected: { nonce: string; runners: number[] }[] = [];
  for (const caller of ids) {
    const ep = world.ep(caller);
    for (const target of targets) {
      const nonce = `${caller}>${target}`;
      const send = () => (target === 0 ? ep.rpc(DISABLED_RPC, nonce) : ep.rpcId(target, DISABLED_RPC, nonce));
      if (caller === DISABLED_AT) {
        expect(send, nonce).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_STATE }));
        continue;
      }
      if (target === -caller) {
        expect(send, nonce).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_PEER }));
        continue;
      }
      send();
      const would = expectedRunners(ids, caller, target, 'any_peer', true);
      expected.push({ nonce, runners: would.filter((p) => p !== DISABLED_AT) });
      if (would.includes(DISABLED_AT)) refusedFrom.set(caller, (refusedFrom.get(caller) ?? 0) + 1);
    }
  }
  await expect(world.ep(DISABLED_AT).request(ids[0]!, DISABLED_RPC, 'r')).rejects.toMatchObject({ code: ErrorCode.INVALID_STATE });
  const caller = ids.find((i) => i !== DISABLED_AT)!;
  const refused = await world.settle(world.ep(caller).request(DISABLED_AT, DISABLED_RPC, 'r')).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(refused).toMatchObject({ code: ErrorCode.REMOTE_ERROR, remoteCode: 'RPC_DISABLED', peerId: DISABLED_AT });
  await world.barrier();
  for (const { nonce, runners } of expected) {
    const ran = world.log.filter((r) => r.name === DISABLED_RPC && r.args[0] === nonce);
    expect(ran.map((r) => r.at).sort((a, b) => a - b), nonce).toEqual(runners);
    expect(ran.every((r) => r.sender === Number(nonce.split('>')[0])), nonce).toBe(true);
  }
  const errors = world.errors.map((e) => [e.code, e.at, e.senderId, e.name]);
  const want = [...refusedFrom].flatMap(([from, n]) => Array.from({ length: n }, () => ['RPC_DISABLED', DISABLED_AT, from, DISABLED_RPC]));
  // The refused request is reported too.
  want.push(['RPC_DISABLED', DISABLED_AT, caller, DISABLED_RPC]);
  const order = (a: unknown[], b: unknown[]) => String(a).localeCompare(String(b));
  expect(errors.sort(order)).toEqual(want.sort(order));
  return expected.length;
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
  ['float64 only', 0.1],
  ['float32-representable', Math.fround(0.1)],
  ['float32 max', 3.4028234663852886e38],
  ['float32 smallest subnormal', 1.401298464324817e-45],
  ['float32 values', [1.5, -0.25, Math.fround(1 / 3), Math.fround(-1e-10), 16777216]],
  ['large int', 2 ** 52 + 1],
  ['bigint', -(2n ** 62n)],
  ['small bigint (int64, stays a bigint)', 5n],
  ['positive int64 bigint', 2n ** 62n + 7n],
  ['int64 max bigint', 2n ** 63n - 1n],
  ['int64 min bigint', -(2n ** 63n)],
  ['uint64 bigint', 2n ** 63n],
  ['uint64 max bigint', 2n ** 64n - 1n],
  ['Date, timestamp32', new Date(1_700_000_000_000)],
  ['Date, timestamp64', new Date(1_700_000_000_123)],
  ['Date, timestamp96 (before 1970)', new Date(-62_135_596_800_001)],
  ['Date, epoch', new Date(0)],
  ['Dates nested', { at: new Date(86_400_000), log: [new Date(1), new Map([['d', new Date(2 ** 32 * 1000)]])] }],
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
    // Exactly the same value and JS type: bigints stay bigints, Dates stay Dates (same ms), floats are bit-exact.
    if (typeof v === 'bigint') expect(typeof got === 'bigint' && got === v, label).toBe(true);
    if (v instanceof Date) {
      expect(got, label).toBeInstanceOf(Date);
      expect((got as Date).getTime(), label).toBe(v.getTime());
    }
    if (typeof v === 'number') expect(Object.is(got, v), label).toBe(true);
    if (label === 'float32 values') (v as number[]).forEach((x, i) => expect(Object.is((got as number[])[i], x), label).toBe(true));
    if (label === 'nested object') {
      const o = got as { b: { e: unknown } };
      expect(Object.getPrototypeOf(o), label).toBe(Object.prototype);
      expect(o.b.e, label).toBeInstanceOf(Map);
    }
    n++;
  }
  return n;
}
