/**
 * Sync members of a lobby, written once and run on both sides: in Node
 * (rtcmesh's Node entry) and in Chromium (the page loads it with
 * dist/rtcmesh.browser.js). A {@link SyncMember} joins a client_server lobby,
 * replicates the host's objects with a SyncClient driven on a 5 ms timer,
 * and records the state of every tick it completes so the test can compare
 * it with the host's. A {@link SyncMeshMember} joins a mesh lobby with a
 * SyncPeer, owns moving objects of its own and replicates everyone else's.
 * Everything they report is plain JSON.
 */
import type {
  defineSchema as DefineSchema,
  HostObject,
  LobbyMultiplayerPeer,
  Mesh,
  PeerConnectionConfig,
  RpcEndpoint,
  rpcTransport as RpcTransport,
  Schema,
  SlotValue,
  SyncClient,
  SyncPeer,
  t as T,
} from '../../../src/browser.js';

/** The parts of rtcmesh the member uses (the Node or the browser entry point). */
export interface SyncApi {
  Mesh: typeof Mesh;
  RpcEndpoint: typeof RpcEndpoint;
  SyncClient: typeof SyncClient;
  SyncPeer: typeof SyncPeer;
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

/** Stops a member's tick timer, then closes its sync layer, RPC endpoint and mesh, top down. */
function closeMember(timer: ReturnType<typeof setInterval> | undefined, ...layers: ({ close(): void } | undefined)[]): void {
  if (timer !== undefined) clearInterval(timer);
  for (const layer of layers) layer?.close();
}

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
    closeMember(this.timer, this.sync, this.endpoint, this.mesh);
    this.timer = undefined;
  }
}

/** What a mesh member holds: its own objects, and every remote owner's. Values are plain objects. */
export interface MeshReport {
  id: number;
  owned: [number, unknown][];
  remote: [number, [number, unknown][]][];
  /** Updates applied per remote owner. */
  updates: [number, number][];
  errors: Record<string, number>;
}

export class SyncMeshMember {
  private mesh: LobbyMultiplayerPeer | undefined;
  private endpoint: RpcEndpoint | undefined;
  private sync: SyncPeer | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly updates = new Map<number, number>();
  private readonly schema: Schema<any>;
  private moving = true;
  private turn = 0;

  constructor(private readonly api: SyncApi) {
    this.schema = moverSchema(api);
  }

  /** Join (or, without `lobby`, create) a mesh lobby and own `count` objects that move on a circle until {@link stop}. */
  async join(s: { url: string; lobby?: string; connection: PeerConnectionConfig }, count: number): Promise<{ id: number; lobby: string }> {
    const mesh = await this.api.Mesh.join({ signaling: s.url, ...(s.lobby !== undefined && { lobby: s.lobby }), mode: 'mesh', connection: s.connection });
    this.mesh = mesh;
    const ep = new this.api.RpcEndpoint(mesh);
    this.endpoint = ep;
    const sync = new this.api.SyncPeer(this.api.rpcTransport(ep), { schemas: [this.schema] });
    this.sync = sync;
    sync.on('update', (_obj, owner) => this.updates.set(owner, (this.updates.get(owner) ?? 0) + 1));
    const me = mesh.getUniqueId();
    const own: HostObject<any>[] = Array.from({ length: count }, (_, k) => sync.spawn(this.schema, { pos: { x: k, y: 0, z: 0 }, yaw: 0, hp: k }));
    this.timer = setInterval(() => {
      ep.poll();
      if (this.moving) {
        this.turn++;
        for (const o of own) {
          const a = this.turn / 20 + o.id + me;
          o.set({ pos: { x: 50 * Math.cos(a), y: 50 * Math.sin(a), z: me % 1000 }, yaw: Math.sin(a) * 3, hp: (this.turn + o.id) % 256 });
        }
      }
      sync.tick();
      sync.poll(performance.now());
      ep.flush();
    }, 10);
    return { id: me, lobby: mesh.lobby };
  }

  /** Stop moving (the objects keep being replicated). */
  stop(): void {
    this.moving = false;
  }

  report(): MeshReport {
    const sync = this.sync;
    return {
      id: this.mesh?.getUniqueId() ?? 0,
      owned: sync === undefined ? [] : [...sync.owned.values()].map((o) => [o.id, o.state]),
      remote: sync === undefined ? [] : sync.owners().map((owner) => [owner, [...sync.objectsOf(owner).values()].map((o) => [o.id, o.state])]),
      updates: [...this.updates],
      errors: sync?.getStats().errors ?? {},
    };
  }

  close(): void {
    closeMember(this.timer, this.sync, this.endpoint, this.mesh);
    this.timer = undefined;
  }
}
