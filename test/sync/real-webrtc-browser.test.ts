/**
 * State sync with a browser: a Node host (id 1 of a client_server lobby of a
 * real SignalingServer), 3 Node clients and 1 Chromium page replicate 100
 * moving objects for 5 s, all on loopback. The page runs the browser bundle
 * (built by scripts/bundle-browser.mjs, as `npm run build` does for
 * dist/rtcmesh.browser.js) and the same SyncMember code as the Node clients
 * (test/system/page/sync-member.ts). Every tick a client completes must equal
 * the host's state at that tick; once the objects stop, every client's state
 * equals the host's (within quantisation). In mesh mode, 2 Node peers and
 * the page join a mesh lobby, each the authority of 20 moving objects of its
 * own (SyncMeshMember), and all converge. Chromium runs with the no-DNS,
 * loopback and no-mDNS flags of test/system/chromium-page.ts; without
 * Chromium the test is skipped (fails under RTCMESH_REQUIRE_SYSTEM=1).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as rtcmesh from '../api.js';
import { Mesh, RpcEndpoint, SignalingServer, SyncHost, rpcTransport, type AnyRpcMethods } from '../api.js';
import { LOOPBACK } from '../helpers.js';
import { launchChromium, type LaunchedChromium } from '../system/chromium-page.js';
import { serveMeshPage, type MeshPageServer } from '../system/mesh-page-server.js';
import { moverSchema, SyncMember, SyncMeshMember, type MeshReport, type SyncReport, type TickState } from '../system/page/sync-member.js';
import { describeSystem, systemBinary } from '../system/require-binary.js';
import { circle, tickAndRecord, type TickHistory } from './circling.js';

const TIMEOUT = 60_000;
const MOVE_FOR_MS = 5_000;
/** Half a quantisation step of the schema's position and yaw (0.01): what a decoded value may differ from the host's by. */
const HALF_STEP = 0.005 + 1e-9;

/** A client in this process or in the page, called the same way. */
interface Client {
  name: string;
  drain(): Promise<TickState[]>;
  report(): Promise<SyncReport>;
}

describeSystem('sync over real WebRTC with a Chromium page (server mode and mesh mode)', systemBinary('chromium', '/usr/bin/chromium'), (chromiumPath) => {
  const cleanup: (() => unknown)[] = [];
  let pageServer: MeshPageServer;
  let url: string;
  let chromium: LaunchedChromium;
  beforeAll(async () => {
    pageServer = await serveMeshPage('rtcmesh sync', 'test/system/page/sync-page.ts');
    cleanup.push(() => pageServer.close());
    const signaling = new SignalingServer({ pingIntervalMs: 0 });
    cleanup.push(() => signaling.close());
    url = (await signaling.listen({ port: 0, host: '127.0.0.1' })).url;
    chromium = await launchChromium(chromiumPath);
    cleanup.push(() => chromium.close());
  }, 60_000);
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  async function openPage(): Promise<Page> {
    const page = await chromium.browser.newPage();
    page.on('pageerror', (err) => console.error('[chromium pageerror]', err));
    if (process.env['RTCMESH_DEBUG_PAGE']) page.on('console', (msg) => console.log('[page]', msg.text()));
    await page.goto(pageServer.url);
    await page.waitForFunction(() => 'syncMember' in window);
    expect(await page.evaluate(() => window.syncEngineName)).toBe('browser');
    cleanup.push(() => page.close().catch(() => undefined));
    return page;
  }

  it('replicate 100 moving objects for 5 s: every completed tick equals the host\'s, and all converge', async () => {
    // The host: id 1, its sync registered before anyone connects.
    const hostMesh = await Mesh.host({ signaling: url, lobby: 'sync', mode: 'client_server', connection: LOOPBACK });
    cleanup.push(() => hostMesh.close());
    const server = new RpcEndpoint<AnyRpcMethods>(hostMesh);
    cleanup.push(() => server.close());
    const Mover = moverSchema(rtcmesh);
    const host = new SyncHost(rpcTransport(server), { schemas: [Mover] });
    const objects = Array.from({ length: 100 }, (_, i) => host.spawn(Mover, { pos: { x: i, y: 0, z: 0 }, yaw: 0, hp: 100 }));
    const history: TickHistory = new Map();
    let moving = true;
    let hostTurn = 0;
    let stopped = false;
    const hostLoop = new Promise<void>((resolve) => {
      const turn = () => {
        if (stopped) return resolve();
        server.poll();
        hostTurn++;
        if (moving) circle(objects, hostTurn);
        tickAndRecord(host, history, 2000);
        server.flush();
        setTimeout(turn, 10);
      };
      turn();
    });
    cleanup.push(async () => {
      stopped = true;
      await hostLoop;
    });

    // 3 Node clients and the page join the host's lobby.
    const nodeMembers = [0, 1, 2].map(() => new SyncMember(rtcmesh));
    for (const m of nodeMembers) cleanup.push(() => m.close());
    const page = await openPage();
    cleanup.push(() => page.evaluate(() => window.syncMember.close()).catch(() => undefined));
    const ids = await Promise.all([
      ...nodeMembers.map((m) => m.join({ url, lobby: 'sync', connection: LOOPBACK })),
      page.evaluate((u) => window.syncMember.join({ url: u, lobby: 'sync', connection: {} }), url),
    ]);
    expect(new Set(ids).size).toBe(4);
    expect(ids).not.toContain(1);
    const clients: Client[] = [
      ...nodeMembers.map((m, i) => ({ name: `node${i + 1}`, drain: async () => m.drain(), report: async () => m.report() })),
      { name: 'page', drain: () => page.evaluate(() => window.syncMember.drain()), report: () => page.evaluate(() => window.syncMember.report()) },
    ];

    // Collect each client's completed ticks and check them against the host's record.
    const verified = clients.map(() => 0);
    const problems: string[] = [];
    const check = async () => {
      for (const [i, c] of clients.entries()) {
        for (const { tick, objects: got } of await c.drain()) {
          const want = history.get(tick);
          if (want === undefined) problems.push(`${c.name}: no host record of tick ${tick}`);
          else if (got.length !== want.size || got.some(([id, slots]) => want.get(id)?.every((v, k) => v === slots[k]) !== true)) problems.push(`${c.name}: tick ${tick} differs from the host's`);
          else verified[i]!++;
        }
      }
      return problems.length > 0; // stops the wait: reported below
    };
    const movingSince = Date.now();
    await expect
      .poll(async () => (await check()) || (Date.now() - movingSince >= MOVE_FOR_MS && verified.every((v) => v >= 50)), { timeout: TIMEOUT, interval: 100, message: 'every client verifies 50 ticks while the objects move for 5 s' })
      .toBe(true);
    expect(problems.slice(0, 5)).toEqual([]);
    console.log(`[sync-browser] verified ticks per client (node1..3, page): ${verified.join(', ')}`);

    // The objects stop: every client converges on the host's state, within quantisation.
    moving = false;
    const hostState = () => new Map(objects.map((o) => [o.id, o.state]));
    const close = (a: number, b: number) => Math.abs(a - b) <= HALF_STEP;
    const converged = (r: SyncReport) => {
      const want = hostState();
      return (
        r.state.length === want.size &&
        r.state.every(([id, s]) => {
          const w = want.get(id);
          const g = s as typeof w;
          return w !== undefined && g !== undefined && close(g.pos.x, w.pos.x) && close(g.pos.y, w.pos.y) && close(g.pos.z, w.pos.z) && close(g.yaw, w.yaw) && g.hp === w.hp;
        })
      );
    };
    for (const c of clients) {
      await expect.poll(async () => (await check()) || converged(await c.report()), { timeout: TIMEOUT, interval: 100, message: `${c.name} converges on the host's state` }).toBe(true);
      expect(problems.slice(0, 5)).toEqual([]);
    }
    for (const c of clients) {
      const r = await c.report();
      expect(r.spawns, `${c.name} spawns`).toBe(100);
      expect(r.updates, `${c.name} updates`).toBeGreaterThan(100 * 20);
      expect(r.despawns).toBe(0);
      expect(r.errors, `${c.name} errors`).toEqual({});
    }
    expect(host.getStats().errors).toEqual({});
    expect(host.getPeerIds().sort()).toEqual([...ids].sort());
  }, 120_000);

  it('mesh mode: 2 Node peers and 1 Chromium page in a mesh lobby, each the authority of its own 20 moving objects, all converge', async () => {
    const nodes = [0, 1].map(() => new SyncMeshMember(rtcmesh));
    for (const m of nodes) cleanup.push(() => m.close());
    const page = await openPage();
    cleanup.push(() => page.evaluate(() => window.syncMeshMember.close()).catch(() => undefined));
    const first = await nodes[0]!.join({ url, connection: LOOPBACK }, 20);
    const others = await Promise.all([
      nodes[1]!.join({ url, lobby: first.lobby, connection: LOOPBACK }, 20),
      page.evaluate(([u, lobby]) => window.syncMeshMember.join({ url: u, lobby, connection: {} }, 20), [url, first.lobby] as const),
    ]);
    const ids = [first.id, ...others.map((o) => o.id)];
    expect(new Set(ids).size).toBe(3);
    const members: { name: string; report(): Promise<MeshReport>; stop(): Promise<void> }[] = [
      ...nodes.map((m, i) => ({ name: `node${i + 1}`, report: async () => m.report(), stop: async () => m.stop() })),
      { name: 'page', report: () => page.evaluate(() => window.syncMeshMember.report()), stop: () => page.evaluate(() => window.syncMeshMember.stop()) },
    ];
    // While everything moves, each member applies updates of both other owners.
    for (const m of members) {
      await expect
        .poll(async () => {
          const r = await m.report();
          return r.updates.length === 2 && r.updates.every(([, n]) => n >= 20 * 50);
        }, { timeout: TIMEOUT, interval: 100, message: `${m.name} applies 50 updates per object of each other owner` })
        .toBe(true);
    }
    for (const m of members) await m.stop();
    // Stopped: every member holds exactly every other owner's current objects (within quantisation).
    const close = (a: number, b: number) => Math.abs(a - b) <= HALF_STEP;
    type S = { pos: { x: number; y: number; z: number }; yaw: number; hp: number };
    const same = (got: [number, unknown][], want: [number, unknown][]) =>
      got.length === want.length &&
      want.every(([id, w]) => {
        const g = got.find(([gid]) => gid === id)?.[1] as S | undefined;
        const v = w as S;
        return g !== undefined && close(g.pos.x, v.pos.x) && close(g.pos.y, v.pos.y) && close(g.pos.z, v.pos.z) && close(g.yaw, v.yaw) && g.hp === v.hp;
      });
    const converged = async () => {
      const reports = await Promise.all(members.map((m) => m.report()));
      return reports.every((r) => {
        const remote = new Map(r.remote);
        return reports.every((owner) => owner === r || (owner.owned.length === 20 && same(remote.get(owner.id) ?? [], owner.owned)));
      });
    };
    await expect.poll(converged, { timeout: TIMEOUT, interval: 100, message: 'every member holds every other owner\'s objects' }).toBe(true);
    for (const m of members) expect((await m.report()).errors, `${m.name} errors`).toEqual({});
  }, 120_000);
});
