import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { ErrorCode, SignalingServer, WebRTCMultiplayerPeer, WebSocketSignalingClient, createMetrics } from '../api.js';
import { waitUntil } from '../helpers.js';
import { FAST, healthMesh, ticker } from './helpers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parse the Prometheus text format (0.0.4) strictly enough to catch a malformed line. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sampleRe = new RegExp(`^(${NAME})(\\{(.*)\\})? (\\S+)( -?\\d+)?$`);
  const labelRe = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/;
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.split('\n').slice(0, -1)) {
    if (line.startsWith('# HELP ')) {
      const m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line);
      expect(m, line).not.toBeNull();
      helps.add(m![1]!);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
      expect(m, line).not.toBeNull();
      expect(types.has(m![1]!), `duplicate TYPE ${m![1]}`).toBe(false);
      types.set(m![1]!, m![2]!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = sampleRe.exec(line);
    expect(m, line).not.toBeNull();
    const labels: Record<string, string> = {};
    let rest = m![3] ?? '';
    while (rest.length > 0) {
      const l = labelRe.exec(rest);
      expect(l, `labels of: ${line}`).not.toBeNull();
      labels[l![1]!] = l![2]!;
      rest = rest.slice(l![0].length);
    }
    const raw = m![4]!;
    const value = raw === 'NaN' ? NaN : raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    expect(raw === 'NaN' || !Number.isNaN(value), `value of: ${line}`).toBe(true);
    const family = m![1]!;
    expect(types.has(family), `sample before its TYPE: ${line}`).toBe(true);
    expect(helps.has(family)).toBe(true);
    samples.push({ name: family, labels, value });
  }
  return { types, samples };
}

const find = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

describe('Prometheus exposition', () => {
  it('exposes mesh, link and channel metrics that parse as Prometheus text and match getStats()', async () => {
    const t = ticker([]);
    cleanups.push(t.stop);
    const [a, b] = (await healthMesh([2, 3], FAST, t)) as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    cleanups.push(() => a.close(), () => b.close());
    a.targetPeer = 3;
    for (let i = 0; i < 20; i++) a.putPacket(new Uint8Array(100));
    await waitUntil(
      () => b.getStats().links[0]!.channels[0]!.packetsReceived === 20 && a.getLinkStats(3)!.rttMs >= 0 && a.getLinkStats(3)!.candidatePair !== null,
      'the packets, an RTT sample and the selected candidate pair',
    );
    const metrics = createMetrics({ meshes: [a, b] });
    const { types, samples } = parseExposition(await metrics.metrics());
    expect(metrics.contentType).toMatch(/^text\/plain/);
    expect(types.get('rtcmesh_channel_bytes_sent_total')).toBe('counter');
    expect(types.get('rtcmesh_link_rtt_seconds')).toBe('gauge');
    expect(find(samples, 'rtcmesh_channel_bytes_sent_total', { mesh_id: '2', peer_id: '3', channel: 'reliable' })[0]!.value).toBe(2000);
    expect(find(samples, 'rtcmesh_channel_packets_received_total', { mesh_id: '3', peer_id: '2', channel: 'reliable' })[0]!.value).toBe(20);
    expect(find(samples, 'rtcmesh_link_up', { mesh_id: '2', peer_id: '3' })[0]!.value).toBe(1);
    expect(find(samples, 'rtcmesh_mesh_peers', { mesh_id: '2', state: 'connected' })[0]!.value).toBe(1);
    expect(find(samples, 'rtcmesh_link_rtt_seconds', { mesh_id: '2' })[0]!.value).toBeGreaterThanOrEqual(0);
    expect(types.get('rtcmesh_link_engine_bytes_sent_total')).toBe('counter');
    expect(types.get('rtcmesh_link_candidate_pair_info')).toBe('gauge');
    // engine bytes (heartbeats keep them moving): between a snapshot before the scrape and one after
    const before = a.getLinkStats(3)!;
    const scraped = parseExposition(await metrics.metrics()).samples;
    const after = a.getLinkStats(3)!;
    const one = (name: string, labels: Record<string, string>) => {
      const found = find(scraped, name, labels);
      expect(found, `${name} ${JSON.stringify(labels)}`).toHaveLength(1);
      return found[0]!.value;
    };
    const link23 = { mesh_id: '2', peer_id: '3' };
    for (const [name, key] of [
      ['rtcmesh_link_engine_bytes_sent_total', 'engineBytesSent'],
      ['rtcmesh_link_engine_bytes_received_total', 'engineBytesReceived'],
    ] as const) {
      const v = one(name, link23);
      expect(v).toBeGreaterThanOrEqual(before[key]);
      expect(v).toBeLessThanOrEqual(after[key]);
      expect(v).toBeGreaterThan(0);
    }
    expect(one('rtcmesh_link_engine_bytes_sent_total', link23)).toBeGreaterThanOrEqual(2000); // at least the payload
    const heard = one('rtcmesh_link_last_heard_seconds', link23);
    expect(heard).toBeGreaterThanOrEqual(0);
    expect(heard).toBeLessThan(FAST.heartbeatTimeoutMs! / 1000);
    expect(one('rtcmesh_link_reconnect_attempt', link23)).toBe(0);
    expect(one('rtcmesh_link_candidate_pair_info', { ...link23, local_type: 'host', remote_type: 'host' })).toBe(1);
    const reliable23 = { ...link23, channel: 'reliable' };
    expect(one('rtcmesh_channel_replay_buffered_bytes', reliable23)).toBeGreaterThanOrEqual(0);
    expect(one('rtcmesh_channel_gaps_total', { mesh_id: '3', peer_id: '2', channel: 'reliable' })).toBe(0);
    expect(one('rtcmesh_channel_malformed_total', reliable23)).toBe(0);
    expect(one('rtcmesh_channel_replay_overflows_total', reliable23)).toBe(0);
    expect(find(scraped, 'rtcmesh_mesh_peers', { mesh_id: '2', state: 'disconnected' })[0]!.value).toBe(0);
    // a malformed session header from the remote is counted on its channel
    b.getPeer(2)!.channels[0]!.putPacket(new Uint8Array([0x80]));
    await waitUntil(() => a.getLinkStats(3)!.channels[0]!.malformed === 1, 'the malformed header to be counted');
    expect(find(parseExposition(await metrics.metrics()).samples, 'rtcmesh_channel_malformed_total', reliable23)[0]!.value).toBe(1);
    // replay-buffered bytes while nothing can be acknowledged: the remote stops polling
    t.stop();
    a.putPacket(new Uint8Array(300));
    const held = a.getLinkStats(3)!.channels[0]!.replayBufferedBytes;
    expect(held).toBeGreaterThanOrEqual(301);
    expect(find(parseExposition(await metrics.metrics()).samples, 'rtcmesh_channel_replay_buffered_bytes', reliable23)[0]!.value).toBe(held);
    const t2 = ticker([a, b]);
    cleanups.push(t2.stop);
    await waitUntil(() => a.getLinkStats(3)!.channels[0]!.replayBuffered === 0 && b.getLinkStats(2)!.channels[0]!.packetsReceived === 21, 'the held packet');
    // a second scrape sees fresh values
    for (let i = 0; i < 5; i++) a.putPacket(new Uint8Array(10));
    const again = parseExposition(await metrics.metrics()).samples;
    expect(find(again, 'rtcmesh_channel_bytes_sent_total', { mesh_id: '2', peer_id: '3', channel: 'reliable' })[0]!.value).toBe(2000 + 300 + 50);
    // mountable on a Node HTTP server
    const server = createServer(metrics.handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as { port: number }).port;
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(metrics.contentType);
    parseExposition(await res.text());
    metrics.unregister();
    expect((await metrics.registry.metrics()).trim()).toBe('');
  });

  it('exposes signaling server metrics: connections, lobbies, relayed messages, errors by code', async () => {
    const server = new SignalingServer();
    const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => server.close({ reconnect: false }));
    const c1 = new WebSocketSignalingClient(url);
    const c2 = new WebSocketSignalingClient(url);
    cleanups.push(() => c1.close(), () => c2.close());
    const j1 = await c1.join();
    const j2 = await c2.join({ lobby: j1.lobby });
    c2.sendDescription(j1.id, 'offer', 'v=0\r\n');
    await new Promise<void>((resolve) => c1.once('description', () => resolve()));
    const c3 = new WebSocketSignalingClient(url, { reconnect: { maxAttempts: 0 } });
    cleanups.push(() => c3.close());
    c1.seal();
    await new Promise<void>((resolve) => c2.once('sealed', () => resolve()));
    await expect(c3.join({ lobby: j1.lobby })).rejects.toThrow(); // the server answers LOBBY_SEALED
    const registry = new Registry();
    const metrics = createMetrics({ signaling: server, registry, prefix: 'game_' });
    const { samples } = parseExposition(await metrics.metrics());
    expect(find(samples, 'game_signaling_connections')[0]!.value).toBe(server.getStats().connections);
    expect(find(samples, 'game_signaling_lobbies')[0]!.value).toBe(1);
    expect(find(samples, 'game_signaling_relayed_total')[0]!.value).toBeGreaterThanOrEqual(1);
    expect(find(samples, 'game_signaling_joins_total')[0]!.value).toBe(2);
    const errors = server.getStats().errors;
    expect(Object.keys(errors).length).toBeGreaterThan(0);
    for (const [code, n] of Object.entries(errors)) expect(find(samples, 'game_signaling_errors_total', { code })[0]!.value).toBe(n);
    expect(j2.id).not.toBe(j1.id);
  });

  it('validates its options', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
        return 'no error';
      } catch (e) {
        return (e as { code?: string }).code;
      }
    };
    expect(code(() => createMetrics({ meshes: [{}] as never }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(code(() => createMetrics({ prefix: 'bad-prefix' }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(code(() => createMetrics({ registry: {} as never }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(code(() => createMetrics({ colour: 1 } as never))).toBe(ErrorCode.UNKNOWN_OPTION);
    const registry = new Registry();
    createMetrics({ meshes: [], registry });
    expect(code(() => createMetrics({ meshes: [], registry }))).toBe(ErrorCode.INVALID_STATE);
  });
});
