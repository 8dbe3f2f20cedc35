/**
 * Node (node-datachannel engine) ↔ Chromium (browser engine over the native
 * RTCPeerConnection), signaled through Playwright. Real browser, loopback only.
 */
import { EventEmitter } from 'eventemitter3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  ChannelState,
  ConnectionState,
  WebRTCPeerConnection,
  type DataChannelOptions,
  type WebRTCDataChannel,
} from '../api.js';
import { LOOPBACK, opened, reachState, waitForEvent } from '../helpers.js';
import { BrowserPeers, type Remote } from './browser-peers.js';
import { sendData } from './page/send-data.js';
import { describeSystem, systemBinary } from './require-binary.js';


describeSystem(
  'Node ↔ Chromium',
  systemBinary('chromium', '/usr/bin/chromium'),
  (chromiumPath) => {
    const peers = new BrowserPeers();
    const fromPage = peers.fromPage;
    const call = peers.call.bind(peers) as BrowserPeers['call'];
    const pair = () => peers.pair();
    const browserState = (r: Remote, state: ConnectionState) => peers.browserState(r, state);
    const nextName = () => peers.nextName();
    const nodePeers = { push: (pc: WebRTCPeerConnection) => peers.track(pc) };

    beforeAll(() => peers.open(chromiumPath));
    afterAll(() => peers.close());

    async function nodePacket(ch: WebRTCDataChannel): Promise<[number[], boolean]> {
      const [data, isText] = await waitForEvent<[Uint8Array, boolean]>(ch, 'packet');
      return [[...data], isText];
    }


    /** Browser creates `label` in-band and offers; resolves with Node's received channel, open on both sides. */
    async function browserOffers(r: Remote, label: string, options: DataChannelOptions = {}): Promise<WebRTCDataChannel> {
      const received = waitForEvent<[WebRTCDataChannel]>(r.node, 'data_channel_received');
      await call('createChannel', r.name, label, options);
      await call('offer', r.name);
      const [ch] = await received;
      await opened(ch);
      await call('opened', r.name, label);
      return ch;
    }

    it('runs the browser engine with real host candidates (no mDNS) and one --disable-features list', async () => {
      expect(await call('engineName')).toBe('browser');
      const disable = (await peers.page.argv()).filter((a) => a.startsWith('--disable-features='));
      expect(disable).toHaveLength(1);
      const features = disable[0]!.slice('--disable-features='.length).split(',');
      expect(features).toContain('WebRtcHideLocalIpsWithMdns');
      expect(features.length).toBeGreaterThan(1); // Playwright's own entries are kept
    });

    it('connects (browser offers) and exchanges binary and text packets both ways', async () => {
      const r = await pair();
      const ch = await browserOffers(r, 'data');
      await reachState(r.node, ConnectionState.CONNECTED);
      await browserState(r, ConnectionState.CONNECTED);
      expect(r.candidates.length).toBeGreaterThan(0);
      expect(r.candidates.some((c) => c.includes('.local '))).toBe(false);

      const binary = [0, 1, 2, 127, 128, 255];
      const text = 'héllo ✓ 🎮';
      // Listen before sending: with autoPoll, packets reach `packet` listeners only while one is attached.
      const inNode = nodePacket(ch);
      await call('send', r.name, 'data', binary);
      expect(await inNode).toEqual([binary, false]);
      const inNodeText = nodePacket(ch);
      await call('send', r.name, 'data', text);
      const [textBytes, isText] = await inNodeText;
      expect(isText).toBe(true);
      expect(new TextDecoder().decode(new Uint8Array(textBytes))).toBe(text);

      const inBrowser = call('nextPacket', r.name, 'data');
      sendData(ch, binary);
      expect(await inBrowser).toEqual({ data: binary, isText: false });
      const inBrowserText = call('nextPacket', r.name, 'data');
      sendData(ch, text);
      const got = await inBrowserText;
      expect(got.isText).toBe(true);
      expect(new TextDecoder().decode(new Uint8Array(got.data))).toBe(text);

      const nodeStats = r.node.getStats();
      expect(nodeStats.selectedCandidatePair?.local.address).toBe('127.0.0.1');
      expect(nodeStats.selectedCandidatePair?.remote.address).toBe('127.0.0.1');
      // prflx when Chromium's first check arrives before its candidate was signaled.
      expect(['host', 'prflx']).toContain(nodeStats.selectedCandidatePair?.remote.type);
      // The browser's stats are refreshed asynchronously: wait for the pair to show up.
      await expect
        .poll(async () => (await call('stats', r.name)).pair?.remote.address, { timeout: 10_000 })
        .toBe('127.0.0.1');
      const browserStats = await call('stats', r.name);
      expect(browserStats.bytesSent).toBe(binary.length + new TextEncoder().encode(text).length);
      expect(browserStats.bytesReceived).toBe(browserStats.bytesSent);
      expect(browserStats.rttMs).toBeGreaterThanOrEqual(0);
      expect(browserStats.pair?.remote.port).toBe(nodeStats.selectedCandidatePair?.local.port);
      expect(ch.getMaxPacketSize()).toBeGreaterThan(0);
      expect((await call('channelInfo', r.name, 'data')).maxPacketSize).toBeGreaterThan(0);
      r.node.close();
    });

    it('opens negotiated channels with the same id on both sides', async () => {
      const r = await pair();
      const reliable = r.node.createDataChannel('state', { negotiated: true, id: 7 });
      const lossy = r.node.createDataChannel('input', { negotiated: true, id: 9, ordered: false, maxRetransmits: 0 });
      await call('createChannel', r.name, 'state', { negotiated: true, id: 7 });
      await call('createChannel', r.name, 'input', { negotiated: true, id: 9, ordered: false, maxRetransmits: 0 });
      await call('offer', r.name);
      await Promise.all([opened(reliable), opened(lossy), call('opened', r.name, 'state'), call('opened', r.name, 'input')]);
      for (const [ch, label] of [
        [reliable, 'state'],
        [lossy, 'input'],
      ] as const) {
        const info = await call('channelInfo', r.name, label);
        expect(info.id).toBe(ch.getId());
        expect(info.negotiated).toBe(true);
        const inBrowser = call('nextPacket', r.name, label);
        sendData(ch, [ch.getId()]);
        expect((await inBrowser).data).toEqual([ch.getId()]);
        const inNode = nodePacket(ch);
        await call('send', r.name, label, [ch.getId(), 1]);
        expect((await inNode)[0]).toEqual([ch.getId(), 1]);
      }
      expect(reliable.getId()).toBe(7);
      expect(lossy.getId()).toBe(9);
      expect((await call('channelInfo', r.name, 'input')).ordered).toBe(false);
      r.node.close();
    });

    it('delivers an in-band channel created by Node to the browser with its options', async () => {
      const r = await pair();
      const ch = r.node.createDataChannel('events', { ordered: false, maxRetransmits: 0, protocol: 'game/1' });
      const received = waitForEvent<[string]>(r.events, 'channel');
      r.node.createOffer();
      expect(await received).toEqual(['events']);
      await Promise.all([opened(ch), call('opened', r.name, 'events')]);
      expect(await call('channelInfo', r.name, 'events')).toMatchObject({
        label: 'events',
        negotiated: false,
        ordered: false,
        maxRetransmits: 0,
        protocol: 'game/1',
        id: ch.getId(),
      });
      const inBrowser = call('nextPacket', r.name, 'events');
      sendData(ch, [42]);
      expect((await inBrowser).data).toEqual([42]);
      r.node.close();
    });

    it('delivers in-band channels created by the browser to Node with their options (SDP annotation)', async () => {
      const r = await pair();
      const received: WebRTCDataChannel[] = [];
      r.node.on('data_channel_received', (ch) => received.push(ch));
      await call('createChannel', r.name, 'lossy', { ordered: false, maxPacketLifeTime: 250, protocol: 'p1' });
      await call('createChannel', r.name, 'retry', { ordered: true, maxRetransmits: 3 });
      await call('offer', r.name);
      await Promise.all([call('opened', r.name, 'lossy'), call('opened', r.name, 'retry')]);
      await expect.poll(() => received.length, { timeout: 10_000 }).toBe(2);
      const byLabel = new Map(received.map((c) => [c.getLabel(), c]));
      const lossy = byLabel.get('lossy')!;
      const retry = byLabel.get('retry')!;
      expect(lossy.isOrdered()).toBe(false);
      expect(lossy.getMaxPacketLifeTime()).toBe(250);
      expect(lossy.getProtocol()).toBe('p1');
      expect(lossy.isNegotiated()).toBe(false);
      expect(retry.isOrdered()).toBe(true);
      expect(retry.getMaxRetransmits()).toBe(3);
      expect(lossy.getId()).toBe((await call('channelInfo', r.name, 'lossy')).id);
      r.node.close();
    });

    /**
     * The Node engine resets every open channel's stream first and tears the
     * association down (SCTP ABORT) a moment later; the browser engine treats
     * every channel being reset by the remote as the remote closing. The ABORT
     * alone was lost in ~1 close in 15 (then only ICE consent expiry, ~15 s).
     */
    it('Node closing drives the browser side to CLOSED', async () => {
      const r = await pair();
      const ch = await browserOffers(r, 'c');
      await browserState(r, ConnectionState.CONNECTED);
      const ended = waitForEvent<[number]>(r.events, 'state', (s) => s === ConnectionState.CLOSED || s === ConnectionState.FAILED);
      r.node.close();
      expect(ch.getReadyState()).toBe(ChannelState.CLOSED);
      expect(await ended).toEqual([ConnectionState.CLOSED]);
      expect((await call('channelInfo', r.name, 'c')).readyState).toBe(ChannelState.CLOSED);
      await call('close', r.name);
    });

    it('Node closing one of two channels closes only that channel in the browser', async () => {
      const r = await pair();
      const received: WebRTCDataChannel[] = [];
      r.node.on('data_channel_received', (c) => received.push(c));
      await call('createChannel', r.name, 'a', {});
      await call('createChannel', r.name, 'b', {});
      await call('offer', r.name);
      await Promise.all([call('opened', r.name, 'a'), call('opened', r.name, 'b')]);
      await expect.poll(() => received.length, { timeout: 10_000 }).toBe(2);
      const byLabel = new Map(received.map((c) => [c.getLabel(), c]));
      await Promise.all(received.map(opened));
      byLabel.get('a')!.close();
      await expect.poll(async () => (await call('channelInfo', r.name, 'a')).readyState, { timeout: 10_000 }).toBe(ChannelState.CLOSED);
      // The other channel still carries packets, so the connection is still up.
      const inNode = nodePacket(byLabel.get('b')!);
      await call('send', r.name, 'b', [7]);
      expect(await inNode).toEqual([[7], false]);
      expect(await call('state', r.name)).toBe(ConnectionState.CONNECTED);
      r.node.close();
      await browserState(r, ConnectionState.CLOSED);
    });

    it('the browser closing drives Node to CLOSED', async () => {
      const r = await pair();
      const ch = await browserOffers(r, 'c');
      await reachState(r.node, ConnectionState.CONNECTED);
      const channelClosed = waitForEvent(ch, 'close');
      await call('close', r.name);
      await reachState(r.node, ConnectionState.CLOSED);
      await channelClosed;
      expect(ch.getReadyState()).toBe(ChannelState.CLOSED);
    });

    it('connects two browser peers (browser engine on both sides)', async () => {
      const a = nextName();
      const b = nextName();
      const events = new EventEmitter();
      let queue: Promise<unknown> = Promise.resolve();
      const relay = (from: string, to: string) =>
        fromPage.set(from, (kind, args) => {
          events.emit(`${from}:${kind}`, ...args);
          if (kind === 'description') {
            const [type, sdp] = args as ['offer' | 'answer', string];
            queue = queue.then(() => call('remoteDescription', to, type, sdp));
          } else if (kind === 'candidate') {
            const [mid, index, candidate] = args as [string, number, string];
            queue = queue.then(() => call('candidate', to, mid, index, candidate));
          }
        });
      relay(a, b);
      relay(b, a);
      await call('create', a, {});
      await call('create', b, {});
      const received = waitForEvent<[string]>(events, `${b}:channel`);
      await call('createChannel', a, 'neg', { negotiated: true, id: 3 });
      await call('createChannel', b, 'neg', { negotiated: true, id: 3 });
      await call('createChannel', a, 'inband', { ordered: false, maxPacketLifeTime: 100, protocol: 'bb' });
      await call('offer', a);
      expect(await received).toEqual(['inband']);
      await Promise.all([call('opened', a, 'neg'), call('opened', b, 'neg'), call('opened', a, 'inband'), call('opened', b, 'inband')]);
      expect(await call('channelInfo', b, 'inband')).toMatchObject({ ordered: false, maxPacketLifeTime: 100, protocol: 'bb', negotiated: false });
      const got = call('nextPacket', b, 'neg');
      await call('send', a, 'neg', 'over negotiated');
      expect((await got).isText).toBe(true);
      const got2 = call('nextPacket', a, 'inband');
      await call('send', b, 'inband', [5, 6]);
      expect((await got2).data).toEqual([5, 6]);
      const closed = waitForEvent(events, `${b}:state`, (s: number) => s === ConnectionState.CLOSED);
      await call('close', a);
      await closed;
    });

    it('reports a remote description the browser refuses as INVALID_SDP', async () => {
      const r = await pair();
      // Fails the synchronous check: no ICE credentials.
      const early = waitForEvent<[string, string]>(r.events, 'error', (code) => code === 'INVALID_SDP');
      expect(await call('remoteDescription', r.name, 'offer', 'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n')).toBe(false);
      expect((await early)[1]).toMatch(/no data channel m-section/);
      // Passes the synchronous check, refused by Chromium's parser later.
      const node = new WebRTCPeerConnection(LOOPBACK, { autoPoll: true });
      nodePeers.push(node);
      node.createDataChannel('x');
      const [, offer] = await new Promise<[string, string]>((resolve) => {
        node.once('session_description_created', (t, s) => resolve([t, s]));
        node.createOffer();
      });
      const broken = offer.replace(/^a=setup:.*$/m, 'a=setup:sideways');
      const refused = waitForEvent<[string, string]>(r.events, 'error', (code) => code === 'INVALID_SDP');
      expect(await call('remoteDescription', r.name, 'offer', broken)).toBe(true);
      const [, message] = await refused;
      expect(message).toMatch(/browser engine/);
      expect(await call('state', r.name)).toBe(ConnectionState.NEW);
      node.close();
      await call('close', r.name);
    });
  },
  'chromium (/usr/bin/chromium)',
);
