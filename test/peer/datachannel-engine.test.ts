/**
 * Behaviour specific to the node-datachannel engine: many connections, a
 * process that exits by itself after closing, channels that survive GC.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConnectionState, WebRTCPeerConnection, type WebRTCDataChannel } from '../api.js';
import { LOOPBACK, opened, reachState, runNode, wire } from '../helpers.js';
import { toNdcIceServer } from '../../src/transport/datachannel/datachannel-engine.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

/**
 * How long a fixture process may run after it printed that its work is done
 * (closing included) before it counts as not exiting by itself. runNode's
 * default (60 s) bounds the whole run: opening the pairs can take long on a
 * loaded machine (about 2 s here when quiet), exiting may not.
 */
const EXIT_LIMIT_MS = 10_000;

describe('node-datachannel engine', () => {
  it('opens 50 connection pairs, exchanges data on each, and closes them all', async () => {
    const pcs: WebRTCPeerConnection[] = [];
    const channels: [WebRTCDataChannel, WebRTCDataChannel][] = [];
    for (let i = 0; i < 50; i++) {
      const a = new WebRTCPeerConnection(LOOPBACK, { autoPoll: true });
      const b = new WebRTCPeerConnection(LOOPBACK, { autoPoll: true });
      wire(a, b);
      channels.push([a.createDataChannel('d', { negotiated: true, id: 0 }), b.createDataChannel('d', { negotiated: true, id: 0 })]);
      a.createOffer();
      pcs.push(a, b);
    }
    await Promise.all(channels.flat().map(opened));
    const echoes = channels.map(
      ([ca, cb], i) =>
        new Promise<number>((resolve) => {
          cb.once('packet', (d) => resolve(d[0]!));
          ca.putPacket(new Uint8Array([i]));
        }),
    );
    expect(await Promise.all(echoes)).toEqual(channels.map((_, i) => i));
    for (let i = 0; i < pcs.length; i += 2) pcs[i]!.close();
    await Promise.all(pcs.filter((_, i) => i % 2 === 1).map((b) => reachState(b, ConnectionState.CLOSED)));
    for (const pc of pcs) pc.close();
  });

  it('small messages sent back to back (each is staged in a reused view) arrive intact, in order, at every size', async () => {
    const a = new WebRTCPeerConnection(LOOPBACK, { autoPoll: true });
    const b = new WebRTCPeerConnection(LOOPBACK, { autoPoll: true });
    wire(a, b);
    const [ca, cb] = [a.createDataChannel('d', { negotiated: true, id: 0 }), b.createDataChannel('d', { negotiated: true, id: 0 })];
    a.createOffer();
    await Promise.all([opened(ca), opened(cb)]);
    // Sizes 1..80 cross the staging limit (64); two messages of every size, different bytes, one synchronous burst.
    const sent: number[][] = [];
    for (let round = 0; round < 2; round++) {
      for (let n = 1; n <= 80; n++) sent.push(Array.from({ length: n }, (_, i) => (n * 7 + i * 13 + round * 101) & 0xff));
    }
    const got: number[][] = [];
    const all = new Promise<void>((resolve) =>
      cb.on('packet', (d) => {
        got.push([...d]);
        if (got.length === sent.length) resolve();
      }),
    );
    const reused = new Uint8Array(40);
    for (const m of sent) {
      // Alternate fresh arrays and one array the caller overwrites after each send.
      if (m.length === 40) {
        reused.set(m);
        ca.putPacket(reused);
        reused.fill(0);
      } else ca.putPacket(new Uint8Array(m));
    }
    await all;
    expect(got).toEqual(sent);
    a.close();
    b.close();
  });

  it('a process that closes its 50 pairs exits by itself, with no cleanup call', async () => {
    const result = await runNode(fixture('pairs.ts'), ['50'], [], 60_000, EXIT_LIMIT_MS);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('done 50');
    expect(result.code).toBe(0);
  });

  it('exits by itself after graceful closes too (stream resets, then the bounded teardown timer)', async () => {
    const result = await runNode(fixture('pairs.ts'), ['20', 'graceful'], [], 60_000, EXIT_LIMIT_MS);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('done 20');
    expect(result.code).toBe(0);
  });

  it('keeps a channel alive after the user dropped every reference to it (forced GC)', async () => {
    const result = await runNode(fixture('gc-channel.ts'), [], ['--expose-gc'], 60_000, EXIT_LIMIT_MS);
    expect(result.stdout.trim()).toBe('ok');
    expect(result.code).toBe(0);
  });

  it('closing one connection does not disturb another', async () => {
    const [a, b] = [new WebRTCPeerConnection(LOOPBACK, { autoPoll: true }), new WebRTCPeerConnection(LOOPBACK, { autoPoll: true })];
    const [c, d] = [new WebRTCPeerConnection(LOOPBACK, { autoPoll: true }), new WebRTCPeerConnection(LOOPBACK, { autoPoll: true })];
    wire(a, b);
    wire(c, d);
    const ca = a.createDataChannel('x', { negotiated: true, id: 0 });
    b.createDataChannel('x', { negotiated: true, id: 0 });
    const cc = c.createDataChannel('x', { negotiated: true, id: 0 });
    const cd = d.createDataChannel('x', { negotiated: true, id: 0 });
    a.createOffer();
    c.createOffer();
    await Promise.all([opened(ca), opened(cc), opened(cd)]);
    a.close();
    await reachState(b, ConnectionState.CLOSED);
    const got = new Promise<Uint8Array>((resolve) => cd.once('packet', resolve));
    cc.putPacket(new Uint8Array([42]));
    expect([...(await got)]).toEqual([42]);
    await reachState(c, ConnectionState.CONNECTED);
    b.close();
    c.close();
    d.close();
  });

  it('counts packets that libdatachannel only buffered as sent (sendMessage* returning false is not a refusal)', async () => {
    const [a, b] = [new WebRTCPeerConnection(LOOPBACK, { autoPoll: true }), new WebRTCPeerConnection(LOOPBACK, { autoPoll: true })];
    wire(a, b);
    const ca = a.createDataChannel('bulk', { negotiated: true, id: 0 });
    const cb = b.createDataChannel('bulk', { negotiated: true, id: 0 });
    a.createOffer();
    await Promise.all([opened(ca), opened(cb)]);
    const count = 300;
    const size = 16 * 1024;
    let received = 0;
    const all = new Promise<void>((resolve) =>
      cb.on('packet', () => {
        if (++received === count) resolve();
      }),
    );
    // 4.9 MB in one synchronous burst: far more than SCTP can put on the wire
    // at once, so libdatachannel buffers most of it (and says false for those).
    for (let i = 0; i < count; i++) ca.putPacket(new Uint8Array(size).fill(i & 0xff));
    expect(ca.getBufferedAmount()).toBeGreaterThan(0);
    expect(ca.getStats().packetsSent).toBe(count);
    expect(ca.getStats().bytesSent).toBe(count * size);
    await all;
    expect(cb.getStats().packetsReceived).toBe(count);
    a.close();
    b.close();
  });

  it('binds ICE to the configured portRange (candidates and the selected pair)', async () => {
    // Below the kernel's ephemeral range (32768+), so no other socket is given these ports.
    const portRange = { min: 24_100, max: 24_149 };
    const inRange = (port: number) => port >= portRange.min && port <= portRange.max;
    const config = { ...LOOPBACK, portRange };
    const [a, b] = [new WebRTCPeerConnection(config, { autoPoll: true }), new WebRTCPeerConnection(config, { autoPoll: true })];
    const candidatePorts: number[] = [];
    for (const pc of [a, b]) pc.on('ice_candidate_created', (_mid, _index, c) => candidatePorts.push(Number(c.split(' ')[5])));
    wire(a, b);
    const ca = a.createDataChannel('p', { negotiated: true, id: 0 });
    const cb = b.createDataChannel('p', { negotiated: true, id: 0 });
    a.createOffer();
    await Promise.all([opened(ca), opened(cb)]);
    await reachState(a, ConnectionState.CONNECTED);
    await reachState(b, ConnectionState.CONNECTED);
    expect(candidatePorts.length).toBeGreaterThan(0);
    expect(candidatePorts.filter((p) => !inRange(p))).toEqual([]);
    for (const pc of [a, b]) {
      const pair = pc.getStats().selectedCandidatePair;
      expect(pair).not.toBeNull();
      expect(pair!.local.address).toBe('127.0.0.1');
      expect(inRange(pair!.local.port)).toBe(true);
    }
    a.close();
    b.close();
  });

  it('translates ICE server URLs into node-datachannel form', () => {
    expect(toNdcIceServer({ url: 'stun:127.0.0.1' })).toEqual({ hostname: '127.0.0.1', port: 3478 });
    expect(toNdcIceServer({ url: 'turn:[::1]:3479?transport=tcp', username: 'u', credential: 'p' })).toEqual({
      hostname: '::1',
      port: 3479,
      username: 'u',
      password: 'p',
      relayType: 'TurnTcp',
    });
    expect(toNdcIceServer({ url: 'turns:example.test', username: 'u', credential: 'p' }).relayType).toBe('TurnTls');
    expect(toNdcIceServer({ url: 'turns:example.test', username: 'u', credential: 'p' }).port).toBe(5349);
  });
});
