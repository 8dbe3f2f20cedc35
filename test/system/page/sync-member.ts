/**
 * A sync client in a lobby, written once and run on both sides: in Node
 * (rtcmesh's Node entry) and in Chromium (the page loads it with
 * dist/rtcmesh.browser.js). It joins a client_server lobby, replicates the
 * host's objects with a SyncClient driven on a 5 ms timer, and records the
 * state of every tick it completes so the test can compare it with the
 * host's. Everything it reports is plain JSON.
 */
import type { defineSchema as DefineSchema, LobbyMultiplayerPeer, Mesh, PeerConnectionConfig, RpcEndpoint, rpcTransport as RpcTransport, Schema, SlotValue, SyncClient, t as T } from '../../../src/browser.js';

/** The parts of rtcmesh the member uses (the Node or the browser entry point). */
export interface SyncApi {
  Mesh: typeof Mesh;
  RpcEndpoint: typeof RpcEndpoint;
  SyncClient: typeof SyncClient;
  rpcTransport: typeof RpcTransport;
  defineSchema: typeof DefineSchema;
  t: typeof T;
}

/** The replicated schema, built with the given entry point's `defineSchema` (host and members list the same). */
export function moverSchema(api: Pick<SyncApi, 'defineSchema' | 't'>) {
  const { t } = api;
  return api.defineSchema('mover', {
    pos: t.vec3(t.quant(-1000, 1000, 0.01)),
    yaw: t.quant(-Math.PI, Math.PI, 0.01),
    hp: t.uint8,
  });
}

export interface SyncJoinSettings {
  url: string;
  lobby: string;
  connection: PeerConnectionConfig;
}

/** The state at one completed host tick: [object id, slots] pairs. */
export interface TickState {
  tick: number;
  objects: [number, SlotValue[]][];
}

/** What the member saw. */
export interface SyncReport {
  id: number;
  tick: number;
  spawns: number;
  updates: number;
  despawns: number;
  errors: Record<string, number>;
  /** Latest authoritative values by object id. */
  state: [number, unknown][];
}

/** Completed ticks kept for the test to collect. */
const KEEP = 64;

export class SyncMember {
  private mesh: LobbyMultiplayerPeer | undefined;
  private endpoint: RpcEndpoint | undefined;
  private sync: SyncClient | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly ticks: TickState[] = [];
  private readonly counts = { spawns: 0, updates: 0, despawns: 0 };
  private readonly schema: Schema<any>;

  constructor(private readonly api: SyncApi) {
    this.schema = moverSchema(api);
  }

  async join(s: SyncJoinSettings): Promise<number> {
    const mesh = await this.api.Mesh.join({ signaling: s.url, lobby: s.lobby, mode: 'client_server', waitForHostMs: 15_000, connection: s.connection });
    this.mesh = mesh;
    const ep = new this.api.RpcEndpoint(mesh);
    this.endpoint = ep;
    const sync = new this.api.SyncClient(this.api.rpcTransport(ep), { schemas: [this.schema] });
    this.sync = sync;
    sync.on('spawn', () => this.counts.spawns++);
    sync.on('update', () => this.counts.updates++);
    sync.on('despawn', () => this.counts.despawns++);
    sync.on('snapshot', (tick) => {
      this.ticks.push({ tick, objects: [...sync.objects.values()].map((o) => [o.id, [...o.slots]]) });
      if (this.ticks.length > KEEP) this.ticks.shift();
    });
    this.timer = setInterval(() => {
      ep.poll();
      sync.poll(performance.now());
      ep.flush();
    }, 5);
    return mesh.getUniqueId();
  }

  /** The completed ticks recorded since the last call (at most the last 64). */
  drain(): TickState[] {
    return this.ticks.splice(0);
  }

  report(): SyncReport {
    const sync = this.sync;
    return {
      id: this.mesh?.getUniqueId() ?? 0,
      tick: sync?.tick ?? -1,
      ...this.counts,
      errors: sync?.getStats().errors ?? {},
      state: sync === undefined ? [] : [...sync.objects.values()].map((o) => [o.id, o.state]),
    };
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.sync?.close();
    this.endpoint?.close();
    this.mesh?.close();
  }
}
