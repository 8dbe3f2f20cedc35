/**
 * TURN credentials from the lobby (issue #14) against a real coturn started
 * with `--use-auth-secret --static-auth-secret=S` on loopback (relay on
 * 127.0.0.2): relay-only peers — Node and Chromium — that only know the
 * signaling URL connect with the credentials their `joined` answer carried;
 * expired and forged credentials are refused by coturn and reported as
 * NO_CANDIDATES (ICE gathers no relay candidate, the channel never opens).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as rtcmesh from '../api.js';
import { ErrorCode, SignalingServer, TransferMode, isRtcmeshError, turnCredential, type RtcmeshError } from '../api.js';
import { makePair, waitForEvent } from '../helpers.js';
import { launchChromium, type LaunchedChromium } from './chromium-page.js';
import { serveMeshPage, type MeshPageServer } from './mesh-page-server.js';
import { startCoturn, type Coturn } from './coturn.js';
import { MeshMember, type JoinSettings } from './page/mesh-member.js';
import { describeSystem, systemBinary } from './require-binary.js';

const SECRET = 'rtcmesh-turn-lobby-secret';
const HEARTBEAT = { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 5000, livenessTimeoutMs: 2000 };
const LINK_TIMEOUT = 30_000;
/** Node peers: loopback, relay only, and no iceServers of their own — they come from the lobby. */
const NODE_RELAY = { bindAddress: '127.0.0.1', iceTransportPolicy: 'relay' as const };

describeSystem(
  'TURN credentials from the lobby, through coturn (use-auth-secret)',
  systemBinary('turnserver', '/usr/bin/turnserver'),
  (turnserver) => {
    let turn: Coturn;
    let signaling: SignalingServer;
    let url: string;
    const cleanup: (() => unknown)[] = [];

    beforeAll(async () => {
      turn = await startCoturn(turnserver, { authSecret: SECRET });
      signaling = new SignalingServer({ pingIntervalMs: 0, turn: { secret: SECRET, urls: [turn.url], ttlSeconds: 600 } });
      url = (await signaling.listen({ port: 0, host: '127.0.0.1' })).url;
    }, 30_000);

    afterAll(async () => {
      for (const c of cleanup.reverse()) await c();
      await signaling?.close();
      await turn?.stop();
    });

    function settings(connection: JoinSettings['connection'], extra: Partial<JoinSettings> = {}): JoinSettings {
      return { url, ...HEARTBEAT, connection, ...extra };
    }

    function nodeMember(): MeshMember {
      const m = new MeshMember(rtcmesh);
      cleanup.push(() => m.close());
      return m;
    }

    it('two relay-only Node peers connect with lobby-issued credentials (selected pair relay ↔ relay)', async () => {
      const a = nodeMember();
      const b = nodeMember();
      const { lobby } = await a.join(settings(NODE_RELAY, { mode: 'mesh' }));
      await b.join(settings(NODE_RELAY, { lobby }));
      await expect.poll(() => a.connectedPeers(), { timeout: LINK_TIMEOUT, interval: 50 }).toEqual([b.id()]);
      await expect.poll(() => b.connectedPeers(), { timeout: LINK_TIMEOUT, interval: 50 }).toEqual([a.id()]);
      expect(a.pairTypes(b.id())).toEqual({ local: 'relay', remote: 'relay' });
      b.send(a.id(), TransferMode.RELIABLE, 'via turn');
      await expect.poll(() => a.received().map((r) => r.text), { timeout: 10_000 }).toContain('via turn');
      a.close();
      b.close();
    });

    function relayWith(username: string, credential: string) {
      return { ...NODE_RELAY, iceServers: [{ urls: turn.url, username, credential }] };
    }

    async function refused(username: string, credential: string): Promise<RtcmeshError> {
      const [a, b] = makePair(relayWith(username, credential));
      cleanup.push(() => a.close(), () => b.close());
      const failed = waitForEvent<[RtcmeshError]>(a, 'error', (e) => isRtcmeshError(e, ErrorCode.NO_CANDIDATES), 30_000);
      const ch = a.createDataChannel('never');
      a.createOffer();
      const [err] = await failed;
      expect(ch.getReadyState()).not.toBe(1);
      a.close();
      b.close();
      return err;
    }

    it('coturn refuses expired credentials (made by the helper with a lifetime in the past): NO_CANDIDATES', async () => {
      const c = turnCredential(SECRET, 'lobby:2', -60);
      const err = await refused(c.username, c.credential);
      expect(err.message).toMatch(/TURN|iceServers/);
      // The same helper with a future expiry is accepted (the refusal is the expiry, not the format).
      const ok = turnCredential(SECRET, 'lobby:2', 600);
      const [a, b] = makePair(relayWith(ok.username, ok.credential));
      cleanup.push(() => a.close(), () => b.close());
      const received = waitForEvent(b, 'data_channel_received', () => true, 30_000);
      a.createDataChannel('ok');
      a.createOffer();
      await received;
      a.close();
      b.close();
    });

    it('coturn refuses forged credentials (wrong secret): NO_CANDIDATES', async () => {
      const c = turnCredential('not-the-secret', 'lobby:2', 600);
      const err = await refused(c.username, c.credential);
      expect(err.message).toMatch(/TURN|iceServers/);
    });

    describeSystem(
      'Chromium with lobby-issued TURN credentials',
      systemBinary('chromium', '/usr/bin/chromium'),
      (chromiumPath) => {
        let pageServer: MeshPageServer | undefined;
        let pageUrl: string;
        let chromium: LaunchedChromium;

        beforeAll(async () => {
          pageServer = await serveMeshPage('rtcmesh turn');
          pageUrl = pageServer.url;
          chromium = await launchChromium(chromiumPath);
        }, 60_000);

        afterAll(async () => {
          await chromium?.close();
          await pageServer?.close();
        });

        async function openPage(): Promise<Page> {
          const page = await chromium.browser.newPage();
          page.on('pageerror', (err) => console.error('[chromium pageerror]', err));
          await page.goto(pageUrl);
          await page.waitForFunction(() => 'member' in window);
          return page;
        }

        it('a relay-only Chromium page and a relay-only Node peer connect through a SignalingServer with lobby-issued credentials', async () => {
          const node = nodeMember();
          const { lobby } = await node.join(settings(NODE_RELAY, { mode: 'mesh' }));
          const page = await openPage();
          const pageSettings = settings({ iceTransportPolicy: 'relay' }, { lobby });
          const joined = await page.evaluate((s) => window.member.join(s), pageSettings);
          await expect.poll(() => node.connectedPeers(), { timeout: LINK_TIMEOUT, interval: 50 }).toEqual([joined.id]);
          await expect.poll(() => page.evaluate(() => window.member.connectedPeers()), { timeout: LINK_TIMEOUT, interval: 50 }).toEqual([node.id()]);
          // Both ends relayed: Node's local candidate and the page's (its remote here) are relay candidates.
          expect(node.pairTypes(joined.id)).toEqual({ local: 'relay', remote: 'relay' });
          await page.evaluate(([to, mode]) => window.member.send(to, mode, 'from chromium via turn'), [node.id(), TransferMode.RELIABLE] as const);
          await expect.poll(() => node.received().map((r) => r.text), { timeout: 10_000 }).toContain('from chromium via turn');
          await page.evaluate(() => window.member.close());
          await page.close();
          node.close();
        });
      },
      'chromium (/usr/bin/chromium)',
    );
  },
  'coturn (/usr/bin/turnserver)',
);
