/**
 * Prometheus text exposition (prom-client) of mesh and signaling server
 * statistics. Node-only (exported from the Node entry point). Values are read
 * from `getStats()` snapshots when Prometheus scrapes, so nothing is counted
 * twice and nothing runs between scrapes.
 *
 * ```ts
 * const metrics = createMetrics({ meshes: [mesh], signaling: server });
 * http.createServer(metrics.handler).listen(9464); // GET /metrics
 * ```
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { ErrorCode, RtcmeshError, describeError } from '../errors.js';
import type { LinkChannelStats, LinkStats, MeshStats } from '../mesh/health/stats.js';
import type { SignalingStats } from '../signaling/core.js';
import { checkOptions, checkString, invalid } from '../util/validate.js';

/** Anything with a mesh-stats snapshot (a `WebRTCMultiplayerPeer`). */
export interface MeshStatsSource {
  getStats(): MeshStats;
}

/** Anything with signaling-server counters (a `SignalingServer` or `MemorySignalingBus`). */
export interface SignalingStatsSource {
  getStats(): SignalingStats;
}

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Meshes to expose; their series carry a `mesh_id` label (the mesh's own peer id). */
  meshes?: MeshStatsSource[];
  /** A signaling server to expose. */
  signaling?: SignalingStatsSource;
  /** Registry to register into (e.g. one that also has `collectDefaultMetrics`). Default: a new one. */
  registry?: Registry;
  /** Metric name prefix. Default `rtcmesh_`. */
  prefix?: string;
}

/** What {@link createMetrics} returns. */
export interface Metrics {
  readonly registry: Registry;
  /** `Content-Type` of the exposition. */
  readonly contentType: string;
  /** The exposition text. */
  metrics(): Promise<string>;
  /** A Node HTTP handler that answers with the exposition (mount it at `/metrics`). */
  handler(req: IncomingMessage, res: ServerResponse): void;
  /** Add a mesh to expose. */
  addMesh(mesh: MeshStatsSource): void;
  /** Stop exposing a mesh. */
  removeMesh(mesh: MeshStatsSource): void;
  /** Remove every rtcmesh metric from the registry. */
  unregister(): void;
}

type Kind = 'gauge' | 'counter';
interface Def<T> {
  name: string;
  help: string;
  kind: Kind;
  labels: string[];
  rows: (snapshot: T) => [Record<string, string>, number][];
}

const LINK_STATES = ['connecting', 'connected', 'disconnected', 'reconnecting'] as const;
const seconds = (ms: number) => (ms < 0 ? NaN : ms / 1000);

function linkRows(stats: MeshStats[], value: (l: LinkStats) => number): [Record<string, string>, number][] {
  return stats.flatMap((m) => m.links.map((l) => [{ mesh_id: String(m.id), peer_id: String(l.peerId) }, value(l)] as [Record<string, string>, number]));
}

function channelRows(stats: MeshStats[], value: (c: LinkChannelStats) => number): [Record<string, string>, number][] {
  return stats.flatMap((m) =>
    m.links.flatMap((l) =>
      l.channels.map((c) => [{ mesh_id: String(m.id), peer_id: String(l.peerId), channel: c.label }, value(c)] as [Record<string, string>, number]),
    ),
  );
}

const MESH_DEFS: Def<MeshStats[]>[] = [
  { name: 'mesh_packets_sent_total', help: 'Packets the application sent (per destination peer).', kind: 'counter', labels: ['mesh_id'], rows: (s) => s.map((m) => [{ mesh_id: String(m.id) }, m.packetsSent]) },
  { name: 'mesh_packets_received_total', help: 'Packets the application read with getPacket().', kind: 'counter', labels: ['mesh_id'], rows: (s) => s.map((m) => [{ mesh_id: String(m.id) }, m.packetsReceived]) },
  { name: 'mesh_broadcast_failures_total', help: 'Per-peer send failures during broadcasts.', kind: 'counter', labels: ['mesh_id'], rows: (s) => s.map((m) => [{ mesh_id: String(m.id) }, m.broadcastFailures]) },
  {
    name: 'mesh_peers',
    help: 'Peers by link state.',
    kind: 'gauge',
    labels: ['mesh_id', 'state'],
    rows: (s) => s.flatMap((m) => LINK_STATES.map((st) => [{ mesh_id: String(m.id), state: st }, m.links.filter((l) => l.state === st).length] as [Record<string, string>, number])),
  },
  { name: 'link_up', help: '1 while the link is open, 0 while connecting or reconnecting.', kind: 'gauge', labels: ['mesh_id', 'peer_id'], rows: (s) => linkRows(s, (l) => (l.state === 'connected' ? 1 : 0)) },
  { name: 'link_rtt_seconds', help: 'Smoothed heartbeat round-trip time.', kind: 'gauge', labels: ['mesh_id', 'peer_id'], rows: (s) => linkRows(s, (l) => seconds(l.rttMs)) },
  { name: 'link_engine_rtt_seconds', help: 'Round-trip time reported by the WebRTC engine (SCTP).', kind: 'gauge', labels: ['mesh_id', 'peer_id'], rows: (s) => linkRows(s, (l) => seconds(l.engineRttMs)) },
  { name: 'link_jitter_seconds', help: 'Jitter of the heartbeat round-trip time.', kind: 'gauge', labels: ['mesh_id', 'peer_id'], rows: (s) => linkRows(s, (l) => l.jitterMs / 1000) },
  { name: 'link_loss_ratio', help: 'Fraction of the last 32 remote heartbeats lost (overdue ones included).', kind: 'gauge', labels: ['mesh_id', 'peer_id'], rows: (s) => linkRows(s, (l) => l.loss) },
  { name: 'link_reconnects_total', help: 'Successful reconnections of the link.', kind: 'counter', labels: ['mesh_id', 'peer_id'], rows: (s) => linkRows(s, (l) => l.reconnects) },
  { name: 'link_heartbeats_sent_total', help: 'Heartbeats sent.', kind: 'counter', labels: ['mesh_id', 'peer_id'], rows: (s) => linkRows(s, (l) => l.heartbeatsSent) },
  { name: 'link_heartbeats_received_total', help: 'Heartbeats received from the remote.', kind: 'counter', labels: ['mesh_id', 'peer_id'], rows: (s) => linkRows(s, (l) => l.heartbeatsReceived) },
  { name: 'link_last_heard_seconds', help: 'Time since anything arrived on the control channel (NaN while the link is down).', kind: 'gauge', labels: ['mesh_id', 'peer_id'], rows: (s) => linkRows(s, (l) => seconds(l.sinceHeardMs)) },
  { name: 'link_reconnect_attempt', help: 'Current reconnection attempt (0 when not reconnecting).', kind: 'gauge', labels: ['mesh_id', 'peer_id'], rows: (s) => linkRows(s, (l) => l.attempt) },
  { name: 'link_engine_bytes_sent_total', help: 'Engine payload bytes sent on the current connection (all channels, headers and control included; starts over after a reconnect).', kind: 'counter', labels: ['mesh_id', 'peer_id'], rows: (s) => linkRows(s, (l) => l.engineBytesSent) },
  { name: 'link_engine_bytes_received_total', help: 'Engine payload bytes received on the current connection (all channels, headers and control included; starts over after a reconnect).', kind: 'counter', labels: ['mesh_id', 'peer_id'], rows: (s) => linkRows(s, (l) => l.engineBytesReceived) },
  {
    name: 'link_candidate_pair_info',
    help: 'Selected ICE candidate pair of the current connection (1; absent while unknown): candidate types host, srflx, prflx or relay.',
    kind: 'gauge',
    labels: ['mesh_id', 'peer_id', 'local_type', 'remote_type'],
    rows: (s) =>
      s.flatMap((m) =>
        m.links.flatMap((l) =>
          l.candidatePair ? [[{ mesh_id: String(m.id), peer_id: String(l.peerId), local_type: l.candidatePair.local.type, remote_type: l.candidatePair.remote.type }, 1] as [Record<string, string>, number]] : [],
        ),
      ),
  },
  { name: 'link_malformed_total', help: 'Control frames and session headers from the remote that did not decode (dropped).', kind: 'counter', labels: ['mesh_id', 'peer_id'], rows: (s) => linkRows(s, (l) => l.controlMalformed + l.sessionMalformed) },
  { name: 'channel_packets_sent_total', help: 'Application packets sent on the channel.', kind: 'counter', labels: ['mesh_id', 'peer_id', 'channel'], rows: (s) => channelRows(s, (c) => c.packetsSent) },
  { name: 'channel_bytes_sent_total', help: 'Application bytes sent on the channel (headers excluded).', kind: 'counter', labels: ['mesh_id', 'peer_id', 'channel'], rows: (s) => channelRows(s, (c) => c.bytesSent) },
  { name: 'channel_packets_received_total', help: 'Application packets received on the channel.', kind: 'counter', labels: ['mesh_id', 'peer_id', 'channel'], rows: (s) => channelRows(s, (c) => c.packetsReceived) },
  { name: 'channel_bytes_received_total', help: 'Application bytes received on the channel (headers excluded).', kind: 'counter', labels: ['mesh_id', 'peer_id', 'channel'], rows: (s) => channelRows(s, (c) => c.bytesReceived) },
  { name: 'channel_replayed_total', help: 'Reliable packets resent after reconnects.', kind: 'counter', labels: ['mesh_id', 'peer_id', 'channel'], rows: (s) => channelRows(s, (c) => c.replayed) },
  { name: 'channel_duplicates_dropped_total', help: 'Replayed packets dropped because they had arrived already.', kind: 'counter', labels: ['mesh_id', 'peer_id', 'channel'], rows: (s) => channelRows(s, (c) => c.duplicatesDropped) },
  { name: 'channel_dropped_while_down_total', help: 'Unreliable packets dropped while the link was down.', kind: 'counter', labels: ['mesh_id', 'peer_id', 'channel'], rows: (s) => channelRows(s, (c) => c.droppedWhileDown) },
  { name: 'channel_buffered_amount_bytes', help: 'Bytes accepted by the engine and not yet sent.', kind: 'gauge', labels: ['mesh_id', 'peer_id', 'channel'], rows: (s) => channelRows(s, (c) => c.bufferedAmount) },
  { name: 'channel_queued_packets', help: 'Received packets waiting for getPacket().', kind: 'gauge', labels: ['mesh_id', 'peer_id', 'channel'], rows: (s) => channelRows(s, (c) => c.queued) },
  { name: 'channel_replay_buffered_packets', help: 'Unacknowledged reliable packets held for replay.', kind: 'gauge', labels: ['mesh_id', 'peer_id', 'channel'], rows: (s) => channelRows(s, (c) => c.replayBuffered) },
  { name: 'channel_replay_buffered_bytes', help: 'Unacknowledged reliable bytes held for replay.', kind: 'gauge', labels: ['mesh_id', 'peer_id', 'channel'], rows: (s) => channelRows(s, (c) => c.replayBufferedBytes) },
  { name: 'channel_replay_overflows_total', help: 'Times the replay buffer overflowed.', kind: 'counter', labels: ['mesh_id', 'peer_id', 'channel'], rows: (s) => channelRows(s, (c) => c.replayOverflows) },
  { name: 'channel_gaps_total', help: 'Sequence numbers never received (the remote replay buffer overflowed).', kind: 'counter', labels: ['mesh_id', 'peer_id', 'channel'], rows: (s) => channelRows(s, (c) => c.gaps) },
  { name: 'channel_malformed_total', help: 'Session headers from the remote that did not decode (dropped).', kind: 'counter', labels: ['mesh_id', 'peer_id', 'channel'], rows: (s) => channelRows(s, (c) => c.malformed) },
];

const one = (v: number): [Record<string, string>, number][] => [[{}, v]];
const SIGNALING_DEFS: Def<SignalingStats>[] = [
  { name: 'signaling_connections', help: 'Open signaling connections.', kind: 'gauge', labels: [], rows: (s) => one(s.connections) },
  { name: 'signaling_lobbies', help: 'Lobbies that exist.', kind: 'gauge', labels: [], rows: (s) => one(s.lobbies) },
  { name: 'signaling_peers', help: 'Peers in lobbies, attached or waiting to resume.', kind: 'gauge', labels: [], rows: (s) => one(s.peers) },
  { name: 'signaling_detached_peers', help: 'Peers waiting to resume.', kind: 'gauge', labels: [], rows: (s) => one(s.detachedPeers) },
  { name: 'signaling_waiting_for_host', help: 'Joins held waiting for their lobby host (waitForHostMs).', kind: 'gauge', labels: [], rows: (s) => one(s.waitingForHost) },
  { name: 'signaling_connections_total', help: 'Connections accepted since start.', kind: 'counter', labels: [], rows: (s) => one(s.connectionsTotal) },
  { name: 'signaling_messages_in_total', help: 'Frames received.', kind: 'counter', labels: [], rows: (s) => one(s.messagesIn) },
  { name: 'signaling_relayed_total', help: 'Offers, answers and candidates relayed.', kind: 'counter', labels: [], rows: (s) => one(s.relayed) },
  { name: 'signaling_relay_dropped_total', help: 'Relayed messages dropped (queue of a detached peer overflowed).', kind: 'counter', labels: [], rows: (s) => one(s.relayDropped) },
  { name: 'signaling_joins_total', help: 'Lobby joins.', kind: 'counter', labels: [], rows: (s) => one(s.joins) },
  { name: 'signaling_resumes_total', help: 'Sessions resumed after a blip.', kind: 'counter', labels: [], rows: (s) => one(s.resumes) },
  { name: 'signaling_errors_total', help: 'Error messages sent to clients, by code.', kind: 'counter', labels: ['code'], rows: (s) => Object.entries(s.errors).map(([code, n]) => [{ code }, n]) },
  { name: 'signaling_abuse_closed_total', help: 'Sockets closed for abuse.', kind: 'counter', labels: [], rows: (s) => one(s.abuseClosed) },
  { name: 'signaling_join_timeouts_total', help: 'Sockets closed by the join timeout.', kind: 'counter', labels: [], rows: (s) => one(s.joinTimeouts) },
];

const hasGetStats = (v: unknown): boolean => typeof (v as { getStats?: unknown } | null)?.getStats === 'function';

/**
 * Register rtcmesh metrics for meshes and/or a signaling server and get the
 * exposition. Each scrape takes one snapshot per source.
 * @throws RtcmeshError INVALID_ARGUMENT for bad options, INVALID_STATE when the
 *   registry already has metrics with these names (use another prefix).
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const o = checkOptions<MetricsOptions>(options, ['meshes', 'signaling', 'registry', 'prefix'], 'createMetrics() options');
  const prefix = o.prefix === undefined ? 'rtcmesh_' : checkString(o.prefix, 'prefix', 64);
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$|^$/.test(prefix)) invalid('prefix', 'a Prometheus name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)', prefix);
  if (o.registry !== undefined && !(o.registry instanceof Registry)) invalid('registry', 'a prom-client Registry', o.registry);
  if (o.meshes !== undefined && (!Array.isArray(o.meshes) || !o.meshes.every(hasGetStats))) invalid('meshes', 'an array of meshes (objects with getStats())', o.meshes);
  if (o.signaling !== undefined && !hasGetStats(o.signaling)) invalid('signaling', 'a SignalingServer or MemorySignalingBus (an object with getStats())', o.signaling);
  const registry = o.registry ?? new Registry();
  const meshes = new Set<MeshStatsSource>(o.meshes ?? []);
  const signaling = o.signaling;

  // One snapshot per scrape: the first collect of a scrape takes it, the rest
  // reuse it, and it is forgotten once the scrape's promise chain has run.
  let meshSnap: MeshStats[] | undefined;
  let signalingSnap: SignalingStats | undefined;
  let clearing = false;
  const forgetSoon = () => {
    if (clearing) return;
    clearing = true;
    setImmediate(() => {
      clearing = false;
      meshSnap = undefined;
      signalingSnap = undefined;
    });
  };
  const meshSnapshot = () => {
    forgetSoon();
    return (meshSnap ??= [...meshes].map((m) => m.getStats()));
  };
  const signalingSnapshot = () => {
    forgetSoon();
    return (signalingSnap ??= signaling!.getStats());
  };
  const names: string[] = [];
  const register = <T>(defs: Def<T>[], snapshot: () => T) => {
    for (const def of defs) {
      const name = prefix + def.name;
      if (registry.getSingleMetric(name)) {
        throw new RtcmeshError(ErrorCode.INVALID_STATE, `createMetrics(): the registry already has a metric "${name}"; pass another prefix or registry`);
      }
      const collect = function (this: Gauge<string> | Counter<string>): void {
        this.reset();
        for (const [labels, value] of def.rows(snapshot())) {
          if (def.kind === 'gauge') (this as Gauge<string>).set(labels, value);
          else (this as Counter<string>).inc(labels, value);
        }
      };
      const config = { name, help: def.help, labelNames: def.labels, registers: [registry], collect };
      if (def.kind === 'gauge') new Gauge(config);
      else new Counter(config);
      names.push(name);
    }
  };
  if (meshes.size > 0 || o.meshes !== undefined) register(MESH_DEFS, meshSnapshot);
  if (signaling) register(SIGNALING_DEFS, signalingSnapshot);

  const metrics = () => {
    meshSnap = undefined;
    signalingSnap = undefined;
    return registry.metrics();
  };
  return {
    registry,
    contentType: registry.contentType,
    metrics,
    handler(_req, res) {
      metrics().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end(`metrics failed: ${describeError(err)}\n`);
        },
      );
    },
    addMesh(mesh) {
      if (!hasGetStats(mesh)) invalid('addMesh() mesh', 'a mesh (an object with getStats())', mesh);
      if (!names.includes(prefix + MESH_DEFS[0]!.name)) register(MESH_DEFS, meshSnapshot);
      meshes.add(mesh);
    },
    removeMesh(mesh) {
      meshes.delete(mesh);
    },
    unregister() {
      for (const name of names.splice(0)) registry.removeSingleMetric(name);
    },
  };
}
