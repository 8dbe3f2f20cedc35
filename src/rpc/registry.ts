/**
 * The method table: registered RPCs by name, their resolved configs, and the
 * small integer ids (index in the sorted name list) used on the wire once the
 * handshake shows both sides have the same table.
 * @module
 */
import { MAX_PEER_ID, TransferMode } from '../mesh/types.js';
import { checkBool, checkInt, checkOneOf, checkOptions, checkString, invalid } from '../util/validate.js';
import { tableChecksum } from './codec.js';
import type { RpcConfig, RpcContext, RpcMode } from './types.js';

const CONFIG_KEYS = ['mode', 'authority', 'callLocal', 'transferMode', 'channel', 'immediate', 'timeoutMs', 'validate'] as const;
const MODES = ['authority', 'any_peer', 'disabled'] as const;
const IMMEDIATE = [false, true, 'turn'] as const;
const TRANSFER_MODES = [TransferMode.UNRELIABLE, TransferMode.UNRELIABLE_ORDERED, TransferMode.RELIABLE];

/** A registered RPC with its config resolved to defaults. */
export interface RpcEntry {
  name: string;
  handler: (ctx: RpcContext, ...args: any[]) => unknown;
  mode: RpcMode;
  /** Who may call it in `'authority'` mode: a peer id, a function of the call's arguments, or undefined (the endpoint's authority). */
  authority: number | ((args: unknown[]) => number) | undefined;
  callLocal: boolean;
  transferMode: TransferMode;
  channel: number;
  immediate: boolean | 'turn';
  timeoutMs: number | undefined;
  validate: ((args: unknown[]) => boolean) | undefined;
  /** Index in the sorted table; refreshed on every change. */
  id: number;
}

/** Registered RPCs, ids and checksum. */
export class MethodTable {
  private readonly byName = new Map<string, RpcEntry>();
  private byId: RpcEntry[] = [];
  /** Checksum of the sorted names (0 names → FNV offset basis). */
  checksum = tableChecksum([]);

  get size(): number {
    return this.byName.size;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): RpcEntry | undefined {
    return this.byName.get(name);
  }

  getById(id: number): RpcEntry | undefined {
    return this.byId[id];
  }

  /** Add or replace an entry; ids and checksum are recomputed. */
  set(entry: RpcEntry): void {
    this.byName.set(entry.name, entry);
    this.reindex();
  }

  delete(name: string): boolean {
    const had = this.byName.delete(name);
    if (had) this.reindex();
    return had;
  }

  /** Names in id order. */
  names(): string[] {
    return this.byId.map((e) => e.name);
  }

  private reindex(): void {
    const names = [...this.byName.keys()].sort();
    this.byId = names.map((n, i) => {
      const e = this.byName.get(n)!;
      e.id = i;
      return e;
    });
    this.checksum = tableChecksum(names);
  }
}

/** Resolve a config to an entry (already validated by the caller). */
export function makeEntry(name: string, handler: RpcEntry['handler'], config: RpcConfig<any>): RpcEntry {
  return {
    name,
    handler,
    mode: config.mode ?? 'authority',
    authority: config.authority as RpcEntry['authority'],
    callLocal: config.callLocal ?? false,
    transferMode: config.transferMode ?? TransferMode.RELIABLE,
    channel: config.channel ?? 0,
    immediate: config.immediate ?? false,
    timeoutMs: config.timeoutMs,
    validate: config.validate,
    id: -1,
  };
}

/**
 * Check a `register()` call's name, handler and config (throws
 * {@link RtcmeshError} INVALID_ARGUMENT / UNKNOWN_OPTION) and resolve it to an entry.
 */
export function checkedEntry(rpcName: unknown, handler: unknown, config: unknown, maxNameLength: number): RpcEntry {
  const name = checkString(rpcName, 'RPC name', maxNameLength);
  if (name.length === 0) invalid('RPC name', 'a non-empty string', name);
  if (typeof handler !== 'function') invalid(`handler of RPC "${name}"`, 'a function', handler);
  const c = checkOptions<RpcConfig<any>>(config, CONFIG_KEYS, `config of RPC "${name}"`);
  if (c.mode !== undefined) checkOneOf(c.mode, MODES, `config.mode of RPC "${name}"`);
  if (c.authority !== undefined && typeof c.authority !== 'function') checkInt(c.authority, 1, MAX_PEER_ID, `config.authority of RPC "${name}"`);
  if (c.callLocal !== undefined) checkBool(c.callLocal, `config.callLocal of RPC "${name}"`);
  if (c.transferMode !== undefined) checkOneOf(c.transferMode, TRANSFER_MODES, `config.transferMode of RPC "${name}"`);
  if (c.channel !== undefined) checkInt(c.channel, 0, 255, `config.channel of RPC "${name}"`);
  if (c.immediate !== undefined) checkOneOf(c.immediate, IMMEDIATE, `config.immediate of RPC "${name}"`);
  if (c.timeoutMs !== undefined) checkInt(c.timeoutMs, 1, 2 ** 31 - 1, `config.timeoutMs of RPC "${name}"`);
  if (c.validate !== undefined && typeof c.validate !== 'function') invalid(`config.validate of RPC "${name}"`, 'a function', c.validate);
  return makeEntry(name, handler as RpcEntry['handler'], c);
}
