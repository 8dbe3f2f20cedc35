/**
 * Public API input validation, table-driven: every public method that takes
 * input is called with wrong types, out-of-range numbers, NaN, negative
 * values, unknown option keys, wrong enum values and in a wrong state, and
 * must fail with an `RtcmeshError` carrying the documented code and a message
 * that names the bad parameter. Only objects that need no network: the
 * virtual network, unconnected objects, a SignalingServer that never listens
 * and a manually driven in-memory bus.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  HmacTokenIssuer,
  MemorySignalingBus,
  Mesh,
  RedisSignalingBackend,
  RpcEndpoint,
  RtcmeshError,
  SignalingCore,
  SignalingServer,
  SpatialInterest,
  SyncClient,
  SyncHost,
  SyncPeer,
  Ticker,
  Trace,
  TransferMode,
  VirtualClock,
  VirtualNetwork,
  WebRTCMultiplayerPeer,
  WebRTCPeerConnection,
  WebSocketSignalingClient,
  announceProtocol,
  announcedVersion,
  createMetrics,
  defineSchema,
  parseServerFrame,
  rpcTransport,
  setDefaultEngine,
  t,
  turnCredential,
  visibleWhen,
  type AnyRpcMethods,
  type SyncTransport,
} from './api.js';

type Code = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One row: a call that must fail with `code`, its message mentioning `mentions`. */
interface Row {
  name: string;
  call: () => unknown;
  code: Code;
  mentions: string | RegExp;
}

const closers: (() => unknown)[] = [];
const track = <T>(value: T, close: (v: T) => unknown): T => {
  closers.push(() => close(value));
  return value;
};
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) {
    try {
      await close();
    } catch {
      /* already closed */
    }
  }
});

const clock = { now: () => 0 };
const net = track(new VirtualNetwork({ seed: 7 }), (n) => n.close());
const host = net.createHost('audit');
const engine = host.engine;
const schema = defineSchema('audit', { x: t.float32, n: t.uint8 });
const inputSchema = defineSchema('audit-input', { k: t.uint8 });

const pc = () => track(new WebRTCPeerConnection({}, { engine }), (c) => c.close());
const channel = () => pc().createDataChannel('audit');
const peer = () => track(new WebRTCMultiplayerPeer({ clock }), (m) => m.close());
const server = () => {
  const m = peer();
  m.createServer();
  return m;
};
const endpoint = () => {
  const e = track(new RpcEndpoint<AnyRpcMethods>(server(), { clock }), (x) => x.close());
  e.register('ping', () => 1);
  return e;
};
const transport = (): SyncTransport => ({
  ownId: () => 1,
  authority: () => 1,
  peers: () => [],
  send: () => true,
  maxMessageSize: () => 1200,
  onMessage: () => {},
  onPeerLeft: () => {},
  close: () => {},
});
const syncHost = () => track(new SyncHost(transport(), { schemas: [schema], clock }), (h) => h.close());
const syncPeer = () => track(new SyncPeer(transport(), { schemas: [schema] }), (p) => p.close());
const bus = () => track(new MemorySignalingBus({ driver: 'manual' }), (b) => b.close());
const client = () => track(bus().createClient(), (c) => c.close());
const core = () => new SignalingCore({}, new HmacTokenIssuer(undefined, 60_000));
const closed = <T>(value: T, close: (v: T) => unknown): T => {
  close(value);
  return value;
};

/** Wrong values for a numeric parameter that takes a finite number. */
const NOT_A_NUMBER: [string, unknown][] = [
  ['NaN', NaN],
  ['a string', '5'],
  ['undefined', undefined],
  ['null', null],
  ['an object', {}],
];
/** Wrong values for an integer peer id. */
const NOT_AN_ID: [string, unknown][] = [
  ['NaN', NaN],
  ['a fraction', 1.5],
  ['a string', '2'],
  ['null', null],
];

const rows: Row[] = [
  // ---- peer layer ---------------------------------------------------------
  { name: 'new WebRTCPeerConnection: unknown config key', call: () => new WebRTCPeerConnection({ iceServerz: [] } as never, { engine }), code: ErrorCode.UNKNOWN_OPTION, mentions: 'iceServerz' },
  { name: 'new WebRTCPeerConnection: config not an object', call: () => new WebRTCPeerConnection('stun:x' as never, { engine }), code: ErrorCode.INVALID_ARGUMENT, mentions: /config|configuration/ },
  { name: 'new WebRTCPeerConnection: unknown option', call: () => new WebRTCPeerConnection({}, { engine, autopoll: true } as never), code: ErrorCode.UNKNOWN_OPTION, mentions: 'autopoll' },
  { name: 'new WebRTCPeerConnection: engine not an Engine', call: () => new WebRTCPeerConnection({}, { engine: 'virtual' as never }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'engine' },
  { name: 'new WebRTCPeerConnection: autoPoll not boolean', call: () => new WebRTCPeerConnection({}, { engine, autoPoll: 1 as never }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'autoPoll' },
  { name: 'initialize: bad iceServers entry', call: () => pc().initialize({ iceServers: [{ urls: 42 as never }] }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'urls' },
  { name: 'initialize: bad iceTransportPolicy', call: () => pc().initialize({ iceTransportPolicy: 'some' as never }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'iceTransportPolicy' },
  { name: 'createDataChannel: label not a string', call: () => pc().createDataChannel(5 as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'label' },
  { name: 'createDataChannel: unknown option', call: () => pc().createDataChannel('a', { reliable: true } as never), code: ErrorCode.UNKNOWN_OPTION, mentions: 'reliable' },
  { name: 'createDataChannel: negative maxRetransmits', call: () => pc().createDataChannel('a', { maxRetransmits: -1 }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'maxRetransmits' },
  { name: 'createDataChannel: id without negotiated', call: () => pc().createDataChannel('a', { id: 3 }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'negotiated' },
  { name: 'createDataChannel: after close', call: () => closed(pc(), (c) => c.close()).createDataChannel('a'), code: ErrorCode.INVALID_STATE, mentions: 'closed' },
  { name: 'createOffer: after close', call: () => closed(pc(), (c) => c.close()).createOffer(), code: ErrorCode.INVALID_STATE, mentions: 'closed' },
  { name: 'setRemoteDescription: bad type', call: () => pc().setRemoteDescription('pranswer' as never, 'v=0'), code: ErrorCode.INVALID_ARGUMENT, mentions: 'type' },
  { name: 'setRemoteDescription: sdp not a string', call: () => pc().setRemoteDescription('offer', 7 as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'sdp' },
  { name: 'setLocalDescription: sdp not a string', call: () => pc().setLocalDescription('offer', null as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'sdp' },
  { name: 'addIceCandidate: index NaN', call: () => pc().addIceCandidate('0', NaN, 'candidate:1'), code: ErrorCode.INVALID_ARGUMENT, mentions: 'index' },
  { name: 'addIceCandidate: candidate not a string', call: () => pc().addIceCandidate('0', 0, {} as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'candidate' },
  { name: 'putPacket: not bytes', call: () => channel().putPacket('hi' as never), code: ErrorCode.INVALID_ARGUMENT, mentions: /Uint8Array|bytes/ },
  { name: 'putPacket: channel not open', call: () => channel().putPacket(new Uint8Array(1)), code: ErrorCode.NOT_OPEN, mentions: 'OPEN' },
  { name: 'setBufferedAmountLowThreshold: negative', call: () => channel().setBufferedAmountLowThreshold(-1), code: ErrorCode.INVALID_ARGUMENT, mentions: /threshold|bytes/i },
  { name: 'writeMode: not a WriteMode', call: () => ((channel() as { writeMode: unknown }).writeMode = 7), code: ErrorCode.INVALID_ARGUMENT, mentions: /writeMode|mode/ },
  { name: 'setDefaultEngine: not an Engine', call: () => setDefaultEngine({} as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'engine' },

  // ---- mesh layer ---------------------------------------------------------
  { name: 'new WebRTCMultiplayerPeer: unknown option', call: () => new WebRTCMultiplayerPeer({ heartbeatMs: 5 } as never), code: ErrorCode.UNKNOWN_OPTION, mentions: 'heartbeatMs' },
  { name: 'new WebRTCMultiplayerPeer: clock without now()', call: () => new WebRTCMultiplayerPeer({ clock: {} as never }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'clock' },
  { name: 'createClient: id 1', call: () => peer().createClient(1), code: ErrorCode.INVALID_ARGUMENT, mentions: 'id' },
  { name: 'createMesh: fractional id', call: () => peer().createMesh(2.5), code: ErrorCode.INVALID_ARGUMENT, mentions: 'id' },
  { name: 'createServer: channels not an array', call: () => peer().createServer('reliable' as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'channels' },
  { name: 'createServer: bad TransferMode in channels', call: () => peer().createServer([9 as never]), code: ErrorCode.INVALID_ARGUMENT, mentions: 'channels[0]' },
  { name: 'createServer: twice', call: () => server().createServer(), code: ErrorCode.INVALID_STATE, mentions: 'close()' },
  { name: 'addPeer: not created', call: () => peer().addPeer(pc(), 2), code: ErrorCode.INVALID_STATE, mentions: 'createServer' },
  { name: 'addPeer: server adds peer 1', call: () => server().addPeer(pc(), 1), code: ErrorCode.INVALID_PEER, mentions: 'peer 1' },
  { name: 'addPeer: id out of range', call: () => server().addPeer(pc(), -4), code: ErrorCode.INVALID_ARGUMENT, mentions: 'peerId' },
  { name: 'addPeer: unreliableLifetime NaN', call: () => server().addPeer(pc(), 2, NaN), code: ErrorCode.INVALID_ARGUMENT, mentions: 'unreliableLifetime' },
  { name: 'addPeer: not a connection', call: () => server().addPeer({} as never, 2), code: ErrorCode.INVALID_ARGUMENT, mentions: 'connection' },
  { name: 'removePeer: id not an integer', call: () => server().removePeer('2' as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'peerId' },
  { name: 'disconnectPeer: force not boolean', call: () => server().disconnectPeer(2, 'yes' as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'force' },
  { name: 'targetPeer: fraction', call: () => (server().targetPeer = 1.5), code: ErrorCode.INVALID_ARGUMENT, mentions: 'targetPeer' },
  { name: 'transferMode: not a TransferMode', call: () => (server().transferMode = 5 as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'transferMode' },
  { name: 'transferChannel: negative', call: () => (server().transferChannel = -1), code: ErrorCode.INVALID_ARGUMENT, mentions: 'transferChannel' },
  { name: 'refuseNewConnections: not boolean', call: () => (server().refuseNewConnections = 1 as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'refuseNewConnections' },
  { name: 'putPacket: not bytes (mesh)', call: () => server().putPacket([1, 2] as never), code: ErrorCode.INVALID_ARGUMENT, mentions: /Uint8Array|bytes/ },
  { name: 'putPacket: not initialised (mesh)', call: () => peer().putPacket(new Uint8Array(1)), code: ErrorCode.INVALID_STATE, mentions: 'putPacket' },
  { name: 'putPacket: unknown target (mesh)', call: () => Object.assign(server(), { targetPeer: 9 }).putPacket(new Uint8Array(1)), code: ErrorCode.INVALID_PEER, mentions: '9' },
  ...NOT_A_NUMBER.filter(([, v]) => v !== undefined).map(([label, v]): Row => ({ name: `poll(now): ${label}`, call: () => server().poll(v as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'poll() now' })),
  ...NOT_AN_ID.map(([label, v]): Row => ({ name: `getPeer: ${label}`, call: () => server().getPeer(v as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'peerId' })),
  { name: 'hasPeer: a string', call: () => server().hasPeer('2' as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'peerId' },
  { name: 'getLinkStats: NaN', call: () => server().getLinkStats(NaN), code: ErrorCode.INVALID_ARGUMENT, mentions: 'peerId' },
  { name: 'getClosedLinkStats: null', call: () => server().getClosedLinkStats(null as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'peerId' },

  // ---- Mesh.join / Mesh.host (async: they reject) ---------------------------
  { name: 'Mesh.join: no options', call: () => Mesh.join(undefined as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'signaling' },
  { name: 'Mesh.join: unknown option', call: () => Mesh.join({ signaling: bus(), lobbby: 'x' } as never), code: ErrorCode.UNKNOWN_OPTION, mentions: 'lobbby' },
  { name: 'Mesh.join: bad signaling URL', call: () => Mesh.join({ signaling: 'http://x' }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'signaling' },
  { name: 'Mesh.join: bad mode', call: () => Mesh.join({ signaling: bus(), mode: 'star' as never }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'mode' },
  { name: 'Mesh.join: connection not an object', call: () => Mesh.join({ signaling: bus(), connection: 'stun:x' as never }), code: ErrorCode.INVALID_ARGUMENT, mentions: /config|connection/ },
  { name: 'Mesh.join: connection with unknown key', call: () => Mesh.join({ signaling: bus(), connection: { iceServer: [] } as never }), code: ErrorCode.UNKNOWN_OPTION, mentions: 'iceServer' },
  { name: 'Mesh.join: engine not an Engine', call: () => Mesh.join({ signaling: bus(), engine: {} as never }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'engine' },
  { name: 'Mesh.join: closeSignaling not boolean', call: () => Mesh.join({ signaling: bus(), closeSignaling: 'no' as never }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'closeSignaling' },
  { name: 'Mesh.join: channels null', call: () => Mesh.join({ signaling: bus(), channels: null as never }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'channels' },
  { name: 'Mesh.join: bad channel mode', call: () => Mesh.join({ signaling: bus(), channels: [TransferMode.RELIABLE, 8 as never] }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'channels[1]' },
  { name: 'Mesh.join: negative unreliableLifetime', call: () => Mesh.join({ signaling: bus(), unreliableLifetime: -1 }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'unreliableLifetime' },
  { name: 'Mesh.join: waitForHostMs NaN', call: () => Mesh.join({ signaling: bus(), waitForHostMs: NaN }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'waitForHostMs' },
  { name: 'Mesh.join: auth not JSON', call: () => Mesh.join({ signaling: bus(), engine, auth: () => 1 }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'auth' },
  { name: 'Mesh.join: closed bus', call: () => Mesh.join({ signaling: closed(bus(), (b) => b.close()) }), code: ErrorCode.CLOSED, mentions: 'closed' },
  { name: 'Mesh.host: create is join-only', call: () => Mesh.host({ signaling: bus(), create: true } as never), code: ErrorCode.UNKNOWN_OPTION, mentions: 'create' },
  { name: 'Mesh.host: mode null', call: () => Mesh.host({ signaling: bus(), mode: null as never }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'mode' },
  { name: 'Mesh.host: empty hostKey', call: () => Mesh.host({ signaling: bus(), hostKey: '' }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'hostKey' },

  // ---- rpc layer ----------------------------------------------------------
  { name: 'new RpcEndpoint: not a mesh', call: () => new RpcEndpoint({} as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'mesh' },
  { name: 'new RpcEndpoint: unknown option', call: () => new RpcEndpoint(server(), { timeoutMs: 5 } as never), code: ErrorCode.UNKNOWN_OPTION, mentions: 'timeoutMs' },
  { name: 'new RpcEndpoint: requestTimeoutMs 0', call: () => new RpcEndpoint(server(), { requestTimeoutMs: 0 }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'requestTimeoutMs' },
  { name: 'register: handler not a function', call: () => endpoint().register('f', 'nope' as never), code: ErrorCode.INVALID_ARGUMENT, mentions: /handler|function/ },
  { name: 'register: unknown config key', call: () => endpoint().register('f', () => {}, { reliable: true } as never), code: ErrorCode.UNKNOWN_OPTION, mentions: 'reliable' },
  { name: 'register: bad mode', call: () => endpoint().register('f', () => {}, { mode: 'everyone' as never }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'mode' },
  { name: 'register: channel out of range', call: () => endpoint().register('f', () => {}, { channel: 300 }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'channel' },
  { name: 'rpc: unknown name', call: () => endpoint().rpc('pong'), code: ErrorCode.INVALID_ARGUMENT, mentions: 'pong' },
  { name: 'rpcId: peer NaN', call: () => endpoint().rpcId(NaN, 'ping'), code: ErrorCode.INVALID_ARGUMENT, mentions: /peer/ },
  { name: 'request: unknown name (rejects)', call: () => endpoint().request(2, 'pong'), code: ErrorCode.INVALID_ARGUMENT, mentions: 'pong' },
  { name: 'setAuthority: 0', call: () => endpoint().setAuthority(0), code: ErrorCode.INVALID_ARGUMENT, mentions: /authority|peer/i },
  { name: 'tick: negative', call: () => (endpoint().tick = -1), code: ErrorCode.INVALID_ARGUMENT, mentions: 'tick' },
  { name: 'tick: NaN', call: () => (endpoint().tick = NaN), code: ErrorCode.INVALID_ARGUMENT, mentions: 'tick' },
  { name: 'poll: tick fraction', call: () => endpoint().poll(1.5), code: ErrorCode.INVALID_ARGUMENT, mentions: 'tick' },
  { name: 'pollAt: now NaN', call: () => endpoint().pollAt(NaN), code: ErrorCode.INVALID_ARGUMENT, mentions: 'now' },
  { name: 'rpc: mesh not created', call: () => { const e = track(new RpcEndpoint<AnyRpcMethods>(peer(), { clock }), (x) => x.close()); e.register('f', () => {}); return e.rpc('f'); }, code: ErrorCode.NOT_OPEN, mentions: 'not connected' },
  { name: 'usesMethodIds: peer a string', call: () => endpoint().usesMethodIds('2' as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'usesMethodIds() peer' },
  { name: 'rpc: after close', call: () => closed(endpoint(), (e) => e.close()).rpc('ping'), code: ErrorCode.CLOSED, mentions: 'closed' },
  { name: 'register: after close', call: () => closed(endpoint(), (e) => e.close()).register('g', () => {}), code: ErrorCode.CLOSED, mentions: 'closed' },
  { name: 'new Ticker: not endpoints', call: () => new Ticker([{}] as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'endpoints' },
  { name: 'new Ticker: rate 0', call: () => new Ticker(endpoint(), { rate: 0 }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'rate' },
  { name: 'new Ticker: unknown option', call: () => new Ticker(endpoint(), { hz: 30 } as never), code: ErrorCode.UNKNOWN_OPTION, mentions: 'hz' },
  { name: 'Ticker.onUpdate: not a function', call: () => new Ticker(endpoint(), { clock }).onUpdate(5 as never), code: ErrorCode.INVALID_ARGUMENT, mentions: /update|function/ },
  { name: 'Ticker.poll: now NaN', call: () => new Ticker(endpoint(), { clock }).poll(NaN), code: ErrorCode.INVALID_ARGUMENT, mentions: 'now' },

  // ---- sync layer ---------------------------------------------------------
  { name: 'defineSchema: name not a string', call: () => defineSchema(5 as never, { x: t.uint8 }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'name' },
  { name: 'defineSchema: field not a type', call: () => defineSchema('s', { x: 'uint8' as never }), code: ErrorCode.INVALID_ARGUMENT, mentions: '"x"' },
  { name: 't.quant: precision NaN', call: () => t.quant(0, 1, NaN), code: ErrorCode.INVALID_ARGUMENT, mentions: 'precision' },
  { name: 't.string: negative maxBytes', call: () => t.string(-1), code: ErrorCode.INVALID_ARGUMENT, mentions: 'maxBytes' },
  { name: 't.enum: empty', call: () => t.enum([] as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 't.enum' },
  { name: 'new SyncHost: transport missing methods', call: () => new SyncHost({ send: () => true } as never, { schemas: [schema] }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'onMessage' },
  { name: 'new SyncHost: no schemas', call: () => new SyncHost(transport(), {} as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'schemas' },
  { name: 'new SyncHost: inputSchema null', call: () => new SyncHost(transport(), { schemas: [schema], inputSchema: null as never }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'inputSchema' },
  { name: 'new SyncHost: inputSchema not a schema', call: () => new SyncHost(transport(), { schemas: [schema], inputSchema: { k: t.uint8 } as never }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'inputSchema' },
  { name: 'new SyncHost: tickRate 0', call: () => new SyncHost(transport(), { schemas: [schema], tickRate: 0 }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'tickRate' },
  { name: 'new SyncHost: unknown option', call: () => new SyncHost(transport(), { schemas: [schema], rate: 30 } as never), code: ErrorCode.UNKNOWN_OPTION, mentions: 'rate' },
  { name: 'new SyncClient: inputSchema a string', call: () => new SyncClient(transport(), { schemas: [schema], inputSchema: 'input' as never }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'inputSchema' },
  { name: 'new SyncClient: transport null', call: () => new SyncClient(null as never, { schemas: [schema] }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'transport' },
  { name: 'new SyncPeer: transport missing close', call: () => new SyncPeer({ ...transport(), close: undefined } as never, { schemas: [schema] }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'close' },
  { name: 'SyncHost.spawn: schema not registered', call: () => syncHost().spawn(inputSchema as never, { k: 1 } as never), code: ErrorCode.INVALID_ARGUMENT, mentions: /schema/ },
  { name: 'SyncHost.spawn: field out of range', call: () => syncHost().spawn(schema, { x: 1, n: 300 }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'n' },
  { name: 'SyncHost.despawn: not an object', call: () => syncHost().despawn({} as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'despawn' },
  { name: 'SyncHost.takeInput: peer NaN', call: () => syncHost().takeInput(NaN), code: ErrorCode.INVALID_ARGUMENT, mentions: 'takeInput() peer' },
  { name: 'SyncHost.pendingInputs: peer a string', call: () => syncHost().pendingInputs('2' as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'pendingInputs() peer' },
  { name: 'SyncHost.visibleTo: peer undefined', call: () => syncHost().visibleTo(undefined as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'visibleTo() peer' },
  { name: 'SyncHost.spawn: after close', call: () => closed(syncHost(), (h) => h.close()).spawn(schema, { x: 0, n: 0 }), code: ErrorCode.CLOSED, mentions: 'closed' },
  { name: 'HostObject.set: unknown field', call: () => syncHost().spawn(schema, { x: 0, n: 0 }).set('y' as never, 1 as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'y' },
  { name: 'HostObject.set: NaN float', call: () => syncHost().spawn(schema, { x: 0, n: 0 }).set('x', NaN), code: ErrorCode.INVALID_ARGUMENT, mentions: 'x' },
  { name: 'SyncClient.sendInput: no inputSchema', call: () => track(new SyncClient(transport(), { schemas: [schema] }), (c) => c.close()).sendInput({}), code: ErrorCode.INVALID_STATE, mentions: 'inputSchema' },
  { name: 'SyncClient.sendInput: after close', call: () => closed(new SyncClient(transport(), { schemas: [schema], inputSchema }), (c) => c.close()).sendInput({ k: 1 }), code: ErrorCode.CLOSED, mentions: 'closed' },
  { name: 'SyncClient.poll: now NaN', call: () => track(new SyncClient(transport(), { schemas: [schema] }), (c) => c.close()).poll(NaN), code: ErrorCode.INVALID_ARGUMENT, mentions: 'now' },
  { name: 'SyncClient.replay: not a function', call: () => track(new SyncClient(transport(), { schemas: [schema], inputSchema }), (c) => c.close()).replay(3 as never), code: ErrorCode.INVALID_ARGUMENT, mentions: /apply|function/ },
  { name: 'SyncPeer.objectsOf: owner NaN', call: () => syncPeer().objectsOf(NaN), code: ErrorCode.INVALID_ARGUMENT, mentions: 'objectsOf() owner' },
  { name: 'SyncPeer.receiver: owner a string', call: () => syncPeer().receiver('2' as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'receiver() owner' },
  { name: 'new SpatialInterest: radius negative', call: () => new SpatialInterest({ radius: -1 } as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'radius' },
  { name: 'visibleWhen: not a function', call: () => visibleWhen('all' as never), code: ErrorCode.INVALID_ARGUMENT, mentions: /visible|function/ },
  { name: 'rpcTransport: not an endpoint', call: () => rpcTransport({} as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'rpc' },
  { name: 'rpcTransport: channel null', call: () => rpcTransport(endpoint(), { channel: null as never }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'channel' },
  { name: 'rpcTransport: unknown option', call: () => rpcTransport(endpoint(), { rpc: 'x' } as never), code: ErrorCode.UNKNOWN_OPTION, mentions: 'rpc' },

  // ---- metrics ------------------------------------------------------------
  { name: 'createMetrics: unknown option', call: () => createMetrics({ prefx: 'a_' } as never), code: ErrorCode.UNKNOWN_OPTION, mentions: 'prefx' },
  { name: 'createMetrics: bad prefix', call: () => createMetrics({ prefix: '1bad' }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'prefix' },
  { name: 'Metrics.addMesh: not a mesh', call: () => track(createMetrics(), (m) => m.unregister()).addMesh({} as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'mesh' },

  // ---- rtcmesh/signaling ----------------------------------------------------
  { name: 'new SignalingServer: unknown option', call: () => new SignalingServer({ maxPeers: 4 } as never), code: ErrorCode.UNKNOWN_OPTION, mentions: 'maxPeers' },
  { name: 'new SignalingServer: maxPeersPerLobby 0', call: () => new SignalingServer({ maxPeersPerLobby: 0 }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'maxPeersPerLobby' },
  { name: 'new SignalingServer: short hostKey', call: () => new SignalingServer({ hostKey: 'abc' }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'hostKey' },
  { name: 'SignalingServer.listen: port out of range', call: () => track(new SignalingServer(), (s) => s.close()).listen({ port: 70000 }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'port' },
  { name: 'SignalingServer.handleUpgrade: not an upgrade request', call: () => track(new SignalingServer(), (s) => s.close()).handleUpgrade({} as never, {} as never, Buffer.alloc(0)), code: ErrorCode.INVALID_ARGUMENT, mentions: 'req' },
  { name: 'SignalingServer.close: reconnect not boolean', call: () => new SignalingServer().close({ reconnect: 'yes' as never }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'reconnect' },
  { name: 'new MemorySignalingBus: bad driver', call: () => new MemorySignalingBus({ driver: 'auto' as never }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'driver' },
  { name: 'new MemorySignalingBus: maxPeersPerLobby NaN', call: () => new MemorySignalingBus({ driver: 'manual', maxPeersPerLobby: NaN }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'maxPeersPerLobby' },
  { name: 'new MemorySignalingBus: negative joinTimeoutMs', call: () => new MemorySignalingBus({ driver: 'manual', joinTimeoutMs: -5 }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'joinTimeoutMs' },
  { name: 'new MemorySignalingBus: rateLimit unknown key', call: () => new MemorySignalingBus({ driver: 'manual', rateLimit: { messages: 5, windowMs: 10, burst: 1 } as never }), code: ErrorCode.UNKNOWN_OPTION, mentions: 'burst' },
  { name: 'new MemorySignalingBus: authorize not a function', call: () => new MemorySignalingBus({ driver: 'manual', authorize: true as never }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'authorize' },
  { name: 'MemorySignalingBus.poll: now NaN', call: () => bus().poll(NaN), code: ErrorCode.INVALID_ARGUMENT, mentions: 'now' },
  { name: 'MemorySignalingBus: a client of a closed bus cannot join (rejects)', call: () => track(closed(bus(), (b) => b.close()).createClient(), (c) => c.close()).join({}), code: ErrorCode.CLOSED, mentions: 'closed' },
  { name: 'MemorySignalingBus.createClient: unknown option', call: () => bus().createClient({ timeoutMs: 5 } as never), code: ErrorCode.UNKNOWN_OPTION, mentions: 'timeoutMs' },
  { name: 'MemorySignalingBus.setReachable: not a client', call: () => bus().setReachable({} as never, false), code: ErrorCode.INVALID_ARGUMENT, mentions: 'client' },
  { name: 'MemorySignalingBus.setReachable: reachable not boolean', call: () => { const b = bus(); return b.setReachable(track(b.createClient(), (c) => c.close()), 'no' as never); }, code: ErrorCode.INVALID_ARGUMENT, mentions: 'reachable' },
  { name: 'MemorySignalingBus.interrupt: not a client', call: () => bus().interrupt('c' as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'client' },
  { name: 'MemorySignalingBus.close: reason not a string', call: () => bus().close(5 as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'reason' },
  { name: 'client.join: bad lobby name (rejects)', call: () => client().join({ lobby: 'a b' }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'lobby' },
  { name: 'client.join: unknown option (rejects)', call: () => client().join({ room: 'x' } as never), code: ErrorCode.UNKNOWN_OPTION, mentions: 'room' },
  { name: 'client.join: auth a symbol (rejects)', call: () => client().join({ auth: Symbol('s') }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'auth' },
  { name: 'client.join: after close (rejects)', call: () => closed(client(), (c) => c.close()).join({}), code: ErrorCode.CLOSED, mentions: 'closed' },
  { name: 'client.sendDescription: bad type', call: () => client().sendDescription(2, 'pranswer' as never, 'v=0'), code: ErrorCode.INVALID_ARGUMENT, mentions: 'type' },
  { name: 'client.sendDescription: before join', call: () => client().sendDescription(2, 'offer', 'v=0'), code: ErrorCode.INVALID_STATE, mentions: /join/ },
  { name: 'client.sendCandidate: index NaN', call: () => client().sendCandidate(2, '0', NaN, 'candidate:1'), code: ErrorCode.INVALID_ARGUMENT, mentions: 'index' },
  { name: 'client.sendCandidate: after close', call: () => closed(client(), (c) => c.close()).sendCandidate(2, '0', 0, 'c'), code: ErrorCode.CLOSED, mentions: 'closed' },
  { name: 'client.probe: peer 0', call: () => client().probe(0), code: ErrorCode.INVALID_ARGUMENT, mentions: 'probe' },
  { name: 'client.seal: before join', call: () => client().seal(), code: ErrorCode.INVALID_STATE, mentions: 'seal' },
  { name: 'client.poll: now a string', call: () => client().poll('5' as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'now' },
  { name: 'client.setWakeListener: not a function', call: () => client().setWakeListener(5 as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'listener' },
  { name: 'new WebSocketSignalingClient: not a URL', call: () => new WebSocketSignalingClient(42 as never), code: ErrorCode.INVALID_ARGUMENT, mentions: /url/i },
  { name: 'new WebSocketSignalingClient: unknown option', call: () => new WebSocketSignalingClient('ws://127.0.0.1:1', { ping: 5 } as never), code: ErrorCode.UNKNOWN_OPTION, mentions: 'ping' },
  { name: 'new WebSocketSignalingClient: pingIntervalMs NaN', call: () => new WebSocketSignalingClient('ws://127.0.0.1:1', { pingIntervalMs: NaN }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'pingIntervalMs' },
  { name: 'new SignalingCore: option out of range', call: () => new SignalingCore({ maxStrikes: 0 }, new HmacTokenIssuer(undefined, 1000)), code: ErrorCode.INVALID_ARGUMENT, mentions: 'maxStrikes' },
  { name: 'new SignalingCore: tokens not an issuer', call: () => new SignalingCore({}, {} as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'tokens' },
  { name: 'SignalingCore.open: not a transport', call: () => core().open(undefined as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'io' },
  { name: 'SignalingCore.poll: now NaN', call: () => core().poll(NaN), code: ErrorCode.INVALID_ARGUMENT, mentions: 'now' },
  { name: 'SignalingCore.shutdown: reconnect not boolean', call: () => core().shutdown('bye', 'yes' as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'reconnect' },
  { name: 'SignalingCore.lobbiesOf: not a string', call: () => core().lobbiesOf(5 as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'address' },
  { name: 'new HmacTokenIssuer: secret a number', call: () => new HmacTokenIssuer(42 as never, 1000), code: ErrorCode.INVALID_ARGUMENT, mentions: 'secret' },
  { name: 'new HmacTokenIssuer: ttlMs NaN', call: () => new HmacTokenIssuer('0123456789abcdef', NaN), code: ErrorCode.INVALID_ARGUMENT, mentions: 'ttlMs' },
  { name: 'HmacTokenIssuer.issue: no identity', call: () => new HmacTokenIssuer(undefined, 1000).issue(undefined as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'identity' },
  { name: 'HmacTokenIssuer.issue: bad mode', call: () => new HmacTokenIssuer(undefined, 1000).issue({ lobby: 'a', epoch: '0123456789abcdef', id: 2, mode: 'star' as never }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'mode' },
  { name: 'HmacTokenIssuer.verify: not a string', call: () => new HmacTokenIssuer(undefined, 1000).verify(5 as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'token' },
  { name: 'turnCredential: empty secret', call: () => turnCredential('', 'u', 60), code: ErrorCode.INVALID_ARGUMENT, mentions: 'secret' },
  { name: 'turnCredential: ttlSeconds NaN', call: () => turnCredential('s', 'u', NaN), code: ErrorCode.INVALID_ARGUMENT, mentions: 'ttlSeconds' },
  { name: 'turnCredential: nowMs a string', call: () => turnCredential('s', 'u', 60, '0' as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'nowMs' },
  { name: 'announceProtocol: not a string', call: () => announceProtocol(undefined as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'url' },
  { name: 'announcedVersion: a number', call: () => announcedVersion(5 as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'url' },
  { name: 'parseServerFrame: not a string', call: () => parseServerFrame(null as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'text' },
  { name: 'new RedisSignalingBackend: no redis options', call: () => new RedisSignalingBackend({}, new HmacTokenIssuer(undefined, 1000), undefined as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'url' },
  { name: 'new RedisSignalingBackend: not a redis URL', call: () => new RedisSignalingBackend({}, new HmacTokenIssuer(undefined, 1000), { url: 'http://x' }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'redis' },
  { name: 'new RedisSignalingBackend: core option out of range', call: () => new RedisSignalingBackend({ maxLobbies: -1 }, new HmacTokenIssuer(undefined, 1000), { url: 'redis://127.0.0.1:1' }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'maxLobbies' },

  // ---- rtcmesh/virtual ------------------------------------------------------
  { name: 'new VirtualNetwork: unknown option', call: () => new VirtualNetwork({ seeds: 1 } as never), code: ErrorCode.UNKNOWN_OPTION, mentions: 'seeds' },
  { name: 'new VirtualNetwork: bad clock mode', call: () => new VirtualNetwork({ clock: 'fast' as never }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'clock' },
  { name: 'VirtualNetwork.link: loss above 1', call: () => net.link(net.createHost(), net.createHost(), { loss: 2 }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'loss' },
  { name: 'VirtualNetwork.link: not hosts', call: () => net.link({} as never, host), code: ErrorCode.INVALID_ARGUMENT, mentions: /host/i },
  { name: 'VirtualNetwork.link: unknown condition', call: () => net.link(net.createHost(), net.createHost(), { mtu: 1200 } as never), code: ErrorCode.UNKNOWN_OPTION, mentions: 'mtu' },
  { name: 'VirtualNetwork.advance: negative', call: () => net.advance(-1), code: ErrorCode.INVALID_ARGUMENT, mentions: 'ms' },
  { name: 'VirtualNetwork.runUntil: not a predicate', call: () => net.runUntil(true as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'predicate' },
  { name: 'VirtualNetwork.getHost: not a string', call: () => net.getHost(5 as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'nameOrAddress' },
  { name: 'VirtualNetwork.advance: after close', call: () => closed(new VirtualNetwork(), (n) => n.close()).advance(1), code: ErrorCode.CLOSED, mentions: 'advance()' },
  { name: 'VirtualNetwork.runUntilAsync: after close (rejects)', call: () => closed(new VirtualNetwork(), (n) => n.close()).runUntilAsync(() => true), code: ErrorCode.CLOSED, mentions: 'closed' },
  { name: 'VirtualNetwork.createHost: after close', call: () => closed(new VirtualNetwork(), (n) => n.close()).createHost(), code: ErrorCode.CLOSED, mentions: 'closed' },
  { name: 'new WebRTCPeerConnection: on a closed virtual network', call: () => { const n = new VirtualNetwork(); const h = n.createHost(); n.close(); return new WebRTCPeerConnection({}, { engine: h.engine }); }, code: ErrorCode.CLOSED, mentions: 'closed' },
  { name: 'new VirtualClock: bad mode', call: () => new VirtualClock('fast' as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'mode' },
  { name: 'VirtualClock.advance: NaN', call: () => new VirtualClock().advance(NaN), code: ErrorCode.INVALID_ARGUMENT, mentions: 'ms' },
  { name: 'new Trace: unknown option', call: () => new Trace({ enable: true } as never), code: ErrorCode.UNKNOWN_OPTION, mentions: 'enable' },
  { name: 'new Trace: limit negative', call: () => new Trace({ limit: -1 }), code: ErrorCode.INVALID_ARGUMENT, mentions: 'limit' },
  { name: 'new Trace: options null', call: () => new Trace(null as never), code: ErrorCode.INVALID_ARGUMENT, mentions: 'Trace options' },
];

/**
 * Run `call`: the thrown value, or for a returned promise its rejection —
 * which must come within the current turn (the checks run at the entry,
 * before any I/O); a promise still pending after it counts as no failure.
 */
async function failure(call: () => unknown): Promise<unknown> {
  let r: unknown;
  try {
    r = call();
  } catch (err) {
    return err;
  }
  if (!(r instanceof Promise)) return undefined;
  let outcome: { err: unknown } | undefined;
  r.then(
    () => (outcome = { err: undefined }),
    (err: unknown) => (outcome = { err }),
  );
  await new Promise<void>((resolve) => setImmediate(resolve)); // one turn: every queued microtask has run
  return outcome?.err;
}

describe('public API input validation', () => {
  it('has distinct row names', () => {
    expect(new Set(rows.map((r) => r.name)).size).toBe(rows.length);
  });

  it.each(rows.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    const err = await failure(row.call);
    expect(err, 'the call must fail').toBeInstanceOf(RtcmeshError);
    const e = err as RtcmeshError;
    expect({ code: e.code, message: e.message }).toMatchObject({ code: row.code });
    if (typeof row.mentions === 'string') expect(e.message).toContain(row.mentions);
    else expect(e.message).toMatch(row.mentions);
  });

  it('async entry points reject instead of throwing synchronously', () => {
    let threw = false;
    let p: Promise<unknown> | undefined;
    try {
      p = Mesh.join({ signaling: 42 as never });
    } catch {
      threw = true;
    }
    expect(threw).toBe(false);
    return expect(p).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
  });

  it('a failed check leaves the object usable', () => {
    const m = server();
    expect(() => m.poll(NaN)).toThrow(RtcmeshError);
    expect(() => m.poll(5)).not.toThrow();
    const b = bus();
    expect(() => b.close(5 as never)).toThrow(RtcmeshError);
    expect(() => track(b.createClient(), (c) => c.close())).not.toThrow();
  });
});
