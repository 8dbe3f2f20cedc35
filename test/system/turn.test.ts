/**
 * Two Node peers relayed through a real coturn on loopback.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConnectionState, ErrorCode, isRtcmeshError, type RtcmeshError, type WebRTCDataChannel } from '../api.js';
import { LOOPBACK, makePair, opened, waitForEvent } from '../helpers.js';
import { BrowserPeers } from './browser-peers.js';
import { startCoturn, type Coturn } from './coturn.js';
import { describeSystem, systemBinary } from './require-binary.js';

describeSystem(
  'TURN relay through coturn',
  systemBinary('turnserver', '/usr/bin/turnserver'),
  (turnserver) => {
    let turn: Coturn;
    const closers: (() => void)[] = [];

    beforeAll(async () => {
      turn = await startCoturn(turnserver);
    });

    afterAll(async () => {
      for (const close of closers) close();
      await turn?.stop();
    });

    function relayConfig(credential: string) {
      return {
        bindAddress: '127.0.0.1',
        iceTransportPolicy: 'relay' as const,
        iceServers: [{ urls: turn.url, username: turn.username, credential }],
      };
    }

    it('connects two relay-only peers through the TURN server and exchanges data', async () => {
      const [a, b] = makePair(relayConfig(turn.credential));
      closers.push(() => a.close(), () => b.close());
      const received = waitForEvent<[WebRTCDataChannel]>(b, 'data_channel_received');
      const ch = a.createDataChannel('relayed');
      a.createOffer();
      const [remote] = await received;
      await Promise.all([opened(ch), opened(remote)]);
      const got = waitForEvent<[Uint8Array]>(remote, 'packet');
      ch.putPacket(new Uint8Array([7, 8, 9]));
      expect([...(await got)[0]]).toEqual([7, 8, 9]);
      const back = waitForEvent<[Uint8Array]>(ch, 'packet');
      remote.putPacket(new Uint8Array([9, 8, 7]));
      expect([...(await back)[0]]).toEqual([9, 8, 7]);
      for (const pc of [a, b]) {
        const pair = pc.getStats().selectedCandidatePair;
        expect(pair?.local.type).toBe('relay');
        expect(pair?.local.address).toBe('127.0.0.2');
        expect(pair?.remote.type).toBe('relay');
      }
      a.close();
      b.close();
    });

    it('reports NO_CANDIDATES for a wrong TURN credential and never connects', async () => {
      const [a, b] = makePair(relayConfig('wrong-' + turn.credential));
      closers.push(() => a.close(), () => b.close());
      const errors: RtcmeshError[] = [];
      a.on('error', (e) => errors.push(e));
      const failed = waitForEvent<[RtcmeshError]>(a, 'error', (e) => isRtcmeshError(e, ErrorCode.NO_CANDIDATES), 30_000);
      const ch = a.createDataChannel('never');
      a.createOffer();
      const [err] = await failed;
      expect(err.message).toMatch(/TURN|iceServers/);
      expect(ch.getReadyState()).not.toBe(1);
      a.close();
      b.close();
    });

    describeSystem(
      'Chromium through TURN',
      systemBinary('chromium', '/usr/bin/chromium'),
      (chromiumPath) => {
        const peers = new BrowserPeers();
        beforeAll(() => peers.open(chromiumPath));
        afterAll(() => peers.close());

        it('connects a relay-only browser peer to a Node peer through the TURN server', async () => {
          const r = await peers.pair(LOOPBACK, relayConfig(turn.credential));
          const received = waitForEvent<[WebRTCDataChannel]>(r.node, 'data_channel_received');
          await peers.call('createChannel', r.name, 'relayed');
          await peers.call('offer', r.name);
          const [ch] = await received;
          await Promise.all([opened(ch), peers.call('opened', r.name, 'relayed')]);
          expect(r.candidates.length).toBeGreaterThan(0);
          expect(r.candidates.every((c) => / typ relay /.test(c))).toBe(true);
          const got = waitForEvent<[Uint8Array]>(ch, 'packet');
          await peers.call('send', r.name, 'relayed', [1, 2]);
          expect([...(await got)[0]]).toEqual([1, 2]);
          const nodePair = r.node.getStats().selectedCandidatePair;
          expect(nodePair?.remote.address).toBe('127.0.0.2');
          await expect.poll(async () => (await peers.call('stats', r.name)).pair?.local.type, { timeout: 10_000 }).toBe('relay');
          r.node.close();
        });

        it('reports NO_CANDIDATES in the browser for a wrong TURN credential', async () => {
          const r = await peers.pair(LOOPBACK, relayConfig('wrong-' + turn.credential));
          const failed = waitForEvent<[string, string]>(r.events, 'error', (code) => code === ErrorCode.NO_CANDIDATES, 30_000);
          await peers.call('createChannel', r.name, 'never');
          await peers.call('offer', r.name);
          await failed;
          expect(r.candidates).toEqual([]);
          expect(await peers.call('state', r.name)).not.toBe(ConnectionState.CONNECTED);
          r.node.close();
          await peers.call('close', r.name);
        });
      },
      'chromium (/usr/bin/chromium)',
    );
  },
  'coturn (/usr/bin/turnserver)',
);
