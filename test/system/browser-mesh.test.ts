/**
 * Chromium pages and Node peers in the same lobbies of a real SignalingServer
 * (ws), all on loopback. The pages load dist/rtcmesh.browser.js (built here
 * by scripts/bundle-browser.mjs, as `npm run build` does) and the same lobby
 * member code as the Node peers (page/mesh-member.ts), driven through
 * Playwright. Chromium runs with the no-DNS, loopback and no-mDNS flags of
 * chromium-page.ts.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as rtcmesh from '../api.js';
import { SignalingServer, TransferMode } from '../api.js';
import { launchChromium, type LaunchedChromium } from './chromium-page.js';
import { serveMeshPage, type MeshPageServer } from './mesh-page-server.js';
import { MeshMember, type JoinSettings } from './page/mesh-member.js';
import { describeSystem, systemBinary } from './require-binary.js';

const HEARTBEAT = { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 3000, livenessTimeoutMs: 1000 };
/** Room beyond the heartbeat timeout for the 5 ms tick and a loaded machine. */
const DETECTION_SLACK_MS = 1500;
const LINK_TIMEOUT = 30_000;

type Method = { [K in keyof MeshMember]: MeshMember[K] extends (...args: any[]) => any ? K : never }[keyof MeshMember];

/** A lobby member in this process or in a page, called the same way. */
class Member {
  id = 0;
  private node: MeshMember | undefined;
  constructor(
    readonly name: string,
    readonly page?: Page,
  ) {
    if (!page) this.node = new MeshMember(rtcmesh);
  }

  call<K extends Method>(method: K, ...args: Parameters<MeshMember[K]>): Promise<Awaited<ReturnType<MeshMember[K]>>> {
    if (this.node) return Promise.resolve((this.node[method] as (...a: unknown[]) => unknown)(...args)) as never;
    return this.page!.evaluate(
      ([m, a]) => (window.member[m as Method] as (...x: unknown[]) => unknown).apply(window.member, a as unknown[]),
      [method, args] as const,
    ) as never;
  }

  async join(settings: JoinSettings): Promise<{ id: number; lobby: string }> {
    const joined = await this.call('join', settings);
    this.id = joined.id;
    return joined;
  }

  close(): void {
    this.node?.close();
  }
}

describeSystem(
  'Chromium pages and Node peers in one lobby (mesh, RPC, departures)',
  systemBinary('chromium', '/usr/bin/chromium'),
  (chromiumPath) => {
    let pageServer: MeshPageServer | undefined;
    let pageUrl: string;
    let signaling: SignalingServer;
    let url: string;
    let chromium: LaunchedChromium;
    const members: Member[] = [];

    beforeAll(async () => {
      pageServer = await serveMeshPage('rtcmesh mesh');
      pageUrl = pageServer.url;
      signaling = new SignalingServer({ resumeGraceMs: 1000, pingIntervalMs: 0 });
      url = (await signaling.listen({ port: 0, host: '127.0.0.1' })).url;
      chromium = await launchChromium(chromiumPath);
    }, 60_000);

    afterAll(async () => {
      for (const m of members) m.close();
      await chromium?.close();
      await signaling?.close();
      await pageServer?.close();
    });

    async function openPage(): Promise<Page> {
      const page = await chromium.browser.newPage();
      page.on('pageerror', (err) => console.error('[chromium pageerror]', err));
      if (process.env['RTCMESH_DEBUG_PAGE']) page.on('console', (msg) => console.log('[page]', msg.text()));
      await page.goto(pageUrl);
      await page.waitForFunction(() => 'member' in window);
      expect(await page.evaluate(() => window.engineName)).toBe('browser');
      return page;
    }

    async function member(name: string, kind: 'node' | 'page'): Promise<Member> {
      const m = new Member(name, kind === 'page' ? await openPage() : undefined);
      members.push(m);
      return m;
    }

    function settings(m: Member, extra: Partial<JoinSettings>): JoinSettings {
      return { url, ...HEARTBEAT, connection: m.page ? {} : { bindAddress: '127.0.0.1' }, ...extra };
    }

    /** Resolve when each member's up links are exactly the other members. */
    async function whole(group: Member[], peersOf: (m: Member) => number[] = (m) => group.filter((o) => o !== m).map((o) => o.id)): Promise<void> {
      for (const m of group) {
        const want = [...peersOf(m)].sort((a, b) => a - b);
        await expect.poll(() => m.call('connectedPeers'), { timeout: LINK_TIMEOUT, interval: 50, message: `${m.name} (${m.id}) links` }).toEqual(want);
      }
    }

    /** Resolve with the time (ms after `since`) at which each of `watchers` saw `id` disconnected. */
    async function departure(watchers: Member[], id: number, since: number): Promise<number[]> {
      const limit = HEARTBEAT.heartbeatTimeoutMs + DETECTION_SLACK_MS;
      return Promise.all(
        watchers.map(async (w) => {
          let seen: number | undefined;
          await expect
            .poll(
              async () => {
                seen = (await w.call('events')).find((e) => e.ev === 'peer_disconnected' && e.id === id)?.at;
                return seen !== undefined;
              },
              { timeout: limit + 5_000, interval: 50, message: `${w.name} sees ${id} leave` },
            )
            .toBe(true);
          return seen! - since;
        }),
      );
    }

    /** Every member requests `whoami` from every other; each answer names the callee and reports the caller as sender. */
    async function requestAll(group: Member[]): Promise<number> {
      const calls = group.flatMap((from) =>
        group
          .filter((to) => to !== from)
          .map(async (to) => {
            const tag = `${from.name}->${to.name}`;
            expect(await from.call('request', to.id, tag)).toEqual({ me: to.id, sender: from.id, tag });
          }),
      );
      await Promise.all(calls);
      return calls.length;
    }

    let mesh: Member[] = [];
    let meshLobby = '';

    it('two pages and two Node peers form a full mesh (6 links) and exchange reliable and unreliable packets both ways on every pair', async () => {
      const n1 = await member('node1', 'node');
      const { lobby } = await n1.join(settings(n1, { mode: 'mesh' }));
      meshLobby = lobby;
      const [p1, p2, n2] = await Promise.all([member('page1', 'page'), member('page2', 'page'), member('node2', 'node')]);
      await Promise.all([p1, p2, n2].map((m) => m.join(settings(m, { lobby }))));
      mesh = [n1, p1, p2, n2];
      expect(new Set(mesh.map((m) => m.id)).size).toBe(4);
      await whole(mesh);

      for (const from of mesh) {
        for (const to of mesh) {
          if (to === from) continue;
          await from.call('send', to.id, TransferMode.RELIABLE, `r ${from.id}>${to.id}`);
          for (let k = 0; k < 3; k++) await from.call('send', to.id, TransferMode.UNRELIABLE, `u ${from.id}>${to.id} ${k}`);
        }
      }
      for (const to of mesh) {
        const others = mesh.filter((m) => m !== to);
        await expect
          .poll(
            async () => {
              const got = await to.call('received');
              return others.every((f) => got.some((p) => p.text === `r ${f.id}>${to.id}`) && got.some((p) => p.text.startsWith(`u ${f.id}>${to.id} `)));
            },
            { timeout: 10_000, interval: 50, message: `${to.name} receives from everyone` },
          )
          .toBe(true);
        const got = await to.call('received');
        for (const p of got) {
          const [kind, route] = p.text.split(' ');
          expect(route).toBe(`${p.from}>${to.id}`); // the sender the mesh reports is the one that sent it
          expect(p.mode).toBe(kind === 'r' ? TransferMode.RELIABLE : TransferMode.UNRELIABLE);
        }
        for (const f of others) expect(got.filter((p) => p.text === `r ${f.id}>${to.id}`)).toHaveLength(1);
        expect(new Set(got.map((p) => p.text)).size).toBe(got.length); // no duplicates
      }
    }, 90_000);

    it('RPC request round-trips in every direction, page ↔ Node, page ↔ page, Node ↔ Node', async () => {
      expect(mesh).toHaveLength(4);
      for (const m of mesh) await m.call('startRpc');
      expect(await requestAll(mesh)).toBe(12);
    }, 60_000);

    it('a page reload: the others see peer_disconnected within the heartbeat timeout; it rejoins with a fresh id and the mesh is whole again', async () => {
      const [n1, p1, p2, n2] = mesh as [Member, Member, Member, Member];
      const oldId = p1.id;
      const since = Date.now();
      await p1.page!.reload();
      await p1.page!.waitForFunction(() => 'member' in window);
      const times = await departure([n1, p2, n2], oldId, since);
      console.log(`[browser-mesh] reload of ${oldId} seen after ${times.join(', ')} ms`);
      expect(Math.max(...times)).toBeLessThanOrEqual(HEARTBEAT.heartbeatTimeoutMs + DETECTION_SLACK_MS);
      await p1.join(settings(p1, { lobby: meshLobby }));
      expect(p1.id).not.toBe(oldId);
      await whole(mesh);
      await p1.call('startRpc');
      expect(await requestAll(mesh)).toBe(12);
    }, 60_000);

    it('a page killed abruptly (renderer crash, no unload) is detected within the heartbeat timeout', async () => {
      const [n1, p1, p2, n2] = mesh as [Member, Member, Member, Member];
      const goneId = p2.id;
      const cdp = await p2.page!.context().newCDPSession(p2.page!);
      const since = Date.now();
      void cdp.send('Page.crash').catch(() => undefined); // never answered: the renderer dies
      const times = await departure([n1, p1, n2], goneId, since);
      console.log(`[browser-mesh] crash of ${goneId} seen after ${times.join(', ')} ms`);
      expect(Math.max(...times)).toBeLessThanOrEqual(HEARTBEAT.heartbeatTimeoutMs + DETECTION_SLACK_MS);
      await p2.page!.close().catch(() => undefined);
      mesh = [n1, p1, n2];
      await whole(mesh);
      expect(await requestAll(mesh)).toBe(6);
    }, 60_000);

    it('client_server: a Node host (id 1) and two pages; page-to-page RPC is relayed through the host and reports the original sender', async () => {
      const host = await member('host', 'node');
      const { lobby, id } = await host.join(settings(host, { mode: 'client_server' }));
      expect(id).toBe(1);
      // Here every endpoint exists before the links open, as in a game.
      await host.call('startRpc');
      const [a, b] = await Promise.all([member('pageA', 'page'), member('pageB', 'page')]);
      await Promise.all(
        [a, b].map(async (m) => {
          await m.join(settings(m, { lobby }));
          await m.call('startRpc');
        }),
      );
      await whole([host, a, b], (m) => (m === host ? [a.id, b.id] : [1]));
      // A client learns the other clients from the host's endpoint.
      for (const [m, other] of [[a, b], [b, a]] as const) {
        await expect.poll(() => m.call('rpcPeers'), { timeout: 10_000, interval: 50 }).toEqual([1, other.id].sort((x, y) => x - y));
      }
      const relayedBefore = (await host.call('rpcStats')).framesRelayed;
      expect(await a.call('request', b.id, 'a->b')).toEqual({ me: b.id, sender: a.id, tag: 'a->b' });
      expect(await b.call('request', a.id, 'b->a')).toEqual({ me: a.id, sender: b.id, tag: 'b->a' });
      // The callee's handler saw the page that called, not the host that carried the frame.
      expect((await b.call('servedCalls')).filter((c) => c.tag === 'a->b')).toEqual([{ me: b.id, sender: a.id, tag: 'a->b' }]);
      expect((await a.call('servedCalls')).filter((c) => c.tag === 'b->a')).toEqual([{ me: a.id, sender: b.id, tag: 'b->a' }]);
      expect((await host.call('rpcStats')).framesRelayed).toBeGreaterThanOrEqual(relayedBefore + 4); // two requests, two responses
      // and the host talks to both directly
      expect(await host.call('request', a.id, 'h->a')).toEqual({ me: a.id, sender: 1, tag: 'h->a' });
      expect(await b.call('request', 1, 'b->h')).toEqual({ me: 1, sender: b.id, tag: 'b->h' });
    }, 60_000);
  },
  'chromium (/usr/bin/chromium)',
);
