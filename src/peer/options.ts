/**
 * Validation of connection and data channel options. Every rule the engines
 * rely on is checked here once, with an error that names the option.
 * @module
 */
import { ErrorCode, RtcmeshError } from '../errors.js';
import { checkEngine, getDefaultEngine } from '../transport/default-engine.js';
import type { Engine, EngineChannelInit, EngineConfig, EngineIceServer } from '../transport/engine.js';
import { checkBool, checkInt, checkOneOf, checkOptions, checkString, invalid } from '../util/validate.js';
import { DEFAULT_QUEUE_LIMITS, type QueueLimits } from './packet-queue.js';

/** A STUN or TURN server (W3C RTCIceServer shape). */
export interface IceServerConfig {
  /** One URL or several: `stun:host[:port]`, `turn:host[:port][?transport=udp|tcp]`, `turns:host[:port]`. */
  urls: string | string[];
  /** TURN user name; applies to every URL of this entry. */
  username?: string;
  /** TURN password; applies to every URL of this entry. */
  credential?: string;
}

/** Options fixed for the lifetime of a {@link WebRTCPeerConnection} object. */
export interface PeerConnectionOptions {
  /** WebRTC implementation; default: the entry point's engine (node-datachannel in Node.js). */
  engine?: Engine;
  /** Deliver events as they happen instead of on `poll()`. Default false. */
  autoPoll?: boolean;
}

/** Options of {@link WebRTCPeerConnection.initialize}. */
export interface PeerConnectionConfig {
  /** STUN/TURN servers. Default none (host candidates only). */
  iceServers?: IceServerConfig[];
  /** Bind ICE sockets to this local address, e.g. `127.0.0.1`. */
  bindAddress?: string;
  /** Restrict ICE to a UDP port range (inclusive). */
  portRange?: { min: number; max: number };
  /** `relay` forces traffic through TURN. Default `all`. */
  iceTransportPolicy?: 'all' | 'relay';
  /** Also gather TCP candidates (node-datachannel engine). */
  enableIceTcp?: boolean;
  /** Share one UDP port among connections (node-datachannel engine). */
  enableIceUdpMux?: boolean;
  /** Path MTU in bytes for SCTP packets. */
  mtu?: number;
  /** Largest message this side accepts, announced in SDP (bytes). Default 262144. */
  maxMessageSize?: number;
  /** Limits of each channel's inbound packet queue. */
  inboundQueue?: Partial<QueueLimits>;
}

/** Options of {@link WebRTCPeerConnection.createDataChannel} (W3C RTCDataChannelInit). */
export interface DataChannelOptions {
  /** Both sides create the channel with the same `id`; no in-band announcement. Default false. */
  negotiated?: boolean;
  /** Stream id 0..65534; required when negotiated, refused otherwise. */
  id?: number;
  /** Deliver in order. Default true. */
  ordered?: boolean;
  /** Give up retransmitting after this many milliseconds. Not with `maxRetransmits`. */
  maxPacketLifeTime?: number;
  /** Give up after this many retransmissions. Not with `maxPacketLifeTime`. */
  maxRetransmits?: number;
  /** Sub-protocol name. Default ''. */
  protocol?: string;
}

/** Engine-independent settings resolved from a {@link PeerConnectionConfig}. */
export interface ResolvedConfig {
  engine: EngineConfig;
  queueLimits: QueueLimits;
}

const CONFIG_KEYS = [
  'iceServers',
  'bindAddress',
  'portRange',
  'iceTransportPolicy',
  'enableIceTcp',
  'enableIceUdpMux',
  'mtu',
  'maxMessageSize',
  'inboundQueue',
] as const;
const ICE_SERVER_KEYS = ['urls', 'username', 'credential'] as const;
const CHANNEL_KEYS = ['negotiated', 'id', 'ordered', 'maxPacketLifeTime', 'maxRetransmits', 'protocol'] as const;

const ICE_URL = /^(stun|turn|turns):(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/;

/** Validate one ICE URL; returns the scheme. */
function checkIceUrl(url: unknown, what: string): 'stun' | 'turn' | 'turns' {
  const text = checkString(url, what);
  const match = ICE_URL.exec(text);
  if (!match) invalid(what, 'a URL like "stun:host:3478", "turn:host:3478?transport=udp" or "turns:host:5349"', url);
  const scheme = match[1] as 'stun' | 'turn' | 'turns';
  if (match[3] !== undefined) checkInt(Number(match[3]), 1, 65535, `${what} port`);
  if (scheme === 'stun' && match[4] !== undefined) invalid(what, 'a stun: URL without "?transport" (only TURN has a transport)', url);
  if (scheme === 'turns' && match[4] === 'udp') invalid(what, 'a turns: URL over tcp (TLS needs TCP)', url);
  return scheme;
}

/** Validate `iceServers` and flatten it to one entry per URL. */
export function resolveIceServers(value: unknown): EngineIceServer[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) invalid('iceServers', 'an array of { urls, username?, credential? }', value);
  const out: EngineIceServer[] = [];
  value.forEach((entry: unknown, i) => {
    const what = `iceServers[${i}]`;
    const server = checkOptions<IceServerConfig>(entry, ICE_SERVER_KEYS, what);
    if (server.urls === undefined) invalid(`${what}.urls`, 'a URL string or a non-empty array of them', undefined);
    const urls = Array.isArray(server.urls) ? server.urls : [server.urls];
    if (urls.length === 0) invalid(`${what}.urls`, 'a URL string or a non-empty array of them', server.urls);
    if (server.username !== undefined) checkString(server.username, `${what}.username`, 513);
    if (server.credential !== undefined) checkString(server.credential, `${what}.credential`, 513);
    urls.forEach((url: unknown, j) => {
      const scheme = checkIceUrl(url, Array.isArray(server.urls) ? `${what}.urls[${j}]` : `${what}.urls`);
      if (scheme !== 'stun' && (server.username === undefined || server.credential === undefined)) {
        throw new RtcmeshError(
          ErrorCode.INVALID_ARGUMENT,
          `${what} is a TURN server (${String(url)}) and needs both username and credential`,
        );
      }
      const resolved: EngineIceServer = { url: url as string };
      if (scheme !== 'stun') {
        resolved.username = server.username!;
        resolved.credential = server.credential!;
      }
      out.push(resolved);
    });
  });
  return out;
}

/** Validate {@link PeerConnectionOptions}; the engine defaults to the entry point's. */
export function resolveConnectionOptions(value: unknown): Required<PeerConnectionOptions> {
  const opts = checkOptions<PeerConnectionOptions>(value, ['engine', 'autoPoll'], 'WebRTCPeerConnection options');
  return {
    engine: opts.engine === undefined ? getDefaultEngine() : checkEngine(opts.engine, 'WebRTCPeerConnection options.engine'),
    autoPoll: opts.autoPoll === undefined ? false : checkBool(opts.autoPoll, 'autoPoll'),
  };
}

/** Validate a {@link PeerConnectionConfig}. */
export function resolveConfig(value: unknown): ResolvedConfig {
  const cfg = checkOptions<PeerConnectionConfig>(value, CONFIG_KEYS, 'initialize() config');
  const engine: EngineConfig = {
    iceServers: resolveIceServers(cfg.iceServers),
    iceTransportPolicy:
      cfg.iceTransportPolicy === undefined ? 'all' : checkOneOf(cfg.iceTransportPolicy, ['all', 'relay'] as const, 'iceTransportPolicy'),
  };
  if (cfg.bindAddress !== undefined) engine.bindAddress = checkString(cfg.bindAddress, 'bindAddress', 64);
  if (cfg.portRange !== undefined) {
    const range = checkOptions<{ min: number; max: number }>(cfg.portRange, ['min', 'max'], 'portRange');
    const min = checkInt(range.min, 1, 65535, 'portRange.min');
    const max = checkInt(range.max, min, 65535, 'portRange.max (at least portRange.min)');
    engine.portRangeBegin = min;
    engine.portRangeEnd = max;
  }
  if (cfg.enableIceTcp !== undefined) engine.enableIceTcp = checkBool(cfg.enableIceTcp, 'enableIceTcp');
  if (cfg.enableIceUdpMux !== undefined) engine.enableIceUdpMux = checkBool(cfg.enableIceUdpMux, 'enableIceUdpMux');
  if (cfg.mtu !== undefined) engine.mtu = checkInt(cfg.mtu, 576, 65535, 'mtu');
  if (cfg.maxMessageSize !== undefined) engine.maxMessageSize = checkInt(cfg.maxMessageSize, 1024, 0x7fffffff, 'maxMessageSize');
  const queue = checkOptions<QueueLimits>(cfg.inboundQueue, ['maxPackets', 'maxBytes'], 'inboundQueue');
  const queueLimits: QueueLimits = {
    maxPackets: queue.maxPackets === undefined ? DEFAULT_QUEUE_LIMITS.maxPackets : checkInt(queue.maxPackets, 1, 2 ** 31, 'inboundQueue.maxPackets'),
    maxBytes: queue.maxBytes === undefined ? DEFAULT_QUEUE_LIMITS.maxBytes : checkInt(queue.maxBytes, 1, 2 ** 40, 'inboundQueue.maxBytes'),
  };
  return { engine, queueLimits };
}

/** Validate channel options into an engine channel init. */
export function resolveChannelOptions(label: unknown, value: unknown): EngineChannelInit {
  const name = checkString(label, 'createDataChannel() label', 65535);
  const opts = checkOptions<DataChannelOptions>(value, CHANNEL_KEYS, 'createDataChannel() options');
  const negotiated = opts.negotiated === undefined ? false : checkBool(opts.negotiated, 'negotiated');
  const init: EngineChannelInit = {
    label: name,
    protocol: opts.protocol === undefined ? '' : checkString(opts.protocol, 'protocol', 65535),
    negotiated,
    ordered: opts.ordered === undefined ? true : checkBool(opts.ordered, 'ordered'),
  };
  if (negotiated) {
    if (opts.id === undefined) invalid('id', 'set (0..65534) when negotiated is true: both sides create the channel with the same id', undefined);
    init.id = checkInt(opts.id, 0, 65534, 'id');
  } else if (opts.id !== undefined) {
    invalid('id', 'left unset unless negotiated is true (in-band channels get their id from the engine)', opts.id);
  }
  if (opts.maxPacketLifeTime !== undefined && opts.maxRetransmits !== undefined) {
    throw new RtcmeshError(
      ErrorCode.INVALID_ARGUMENT,
      'maxPacketLifeTime and maxRetransmits cannot both be set; choose one way to limit retransmission',
    );
  }
  if (opts.maxPacketLifeTime !== undefined) init.maxPacketLifeTime = checkInt(opts.maxPacketLifeTime, 0, 65535, 'maxPacketLifeTime');
  if (opts.maxRetransmits !== undefined) init.maxRetransmits = checkInt(opts.maxRetransmits, 0, 65535, 'maxRetransmits');
  return init;
}
