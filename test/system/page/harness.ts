/**
 * Runs inside Chromium: rtcmesh's browser entry point plus a small remote
 * control that the Node side drives with page.evaluate. Everything crossing
 * to Node is plain JSON (byte arrays as number arrays).
 */
import {
  WebRTCPeerConnection,
  getDefaultEngine,
  type DataChannelOptions,
  type PeerConnectionConfig,
  type WebRTCDataChannel,
} from '../../../src/browser.js';
import { sendData } from './send-data.js';

/** Exposed by the Node side with page.exposeFunction. */
declare global {
  interface Window {
    toNode(name: string, kind: string, ...args: unknown[]): Promise<void>;
    harness: typeof harness;
  }
}

interface Inbox {
  packets: { data: number[]; isText: boolean }[];
  waiters: ((p: { data: number[]; isText: boolean }) => void)[];
}

const peers = new Map<string, WebRTCPeerConnection>();
const channels = new Map<string, WebRTCDataChannel>();
const inboxes = new Map<WebRTCDataChannel, Inbox>();

function key(name: string, label: string): string {
  return `${name}/${label}`;
}

function register(name: string, ch: WebRTCDataChannel): void {
  channels.set(key(name, ch.getLabel()), ch);
  const inbox: Inbox = { packets: [], waiters: [] };
  inboxes.set(ch, inbox);
  ch.on('packet', (data, isText) => {
    const p = { data: [...data], isText };
    const w = inbox.waiters.shift();
    if (w) w(p);
    else inbox.packets.push(p);
  });
}

function peer(name: string): WebRTCPeerConnection {
  const pc = peers.get(name);
  if (!pc) throw new Error(`no peer ${name}`);
  return pc;
}

function channel(name: string, label: string): WebRTCDataChannel {
  const ch = channels.get(key(name, label));
  if (!ch) throw new Error(`no channel ${label} on ${name}`);
  return ch;
}

const harness = {
  engineName(): string {
    return getDefaultEngine().name;
  },
  create(name: string, config: PeerConnectionConfig = {}): void {
    const pc = new WebRTCPeerConnection(config, { autoPoll: true });
    peers.set(name, pc);
    pc.on('session_description_created', (type, sdp) => {
      pc.setLocalDescription(type, sdp);
      void window.toNode(name, 'description', type, sdp);
    });
    pc.on('ice_candidate_created', (mid, index, candidate) => void window.toNode(name, 'candidate', mid, index, candidate));
    pc.on('connection_state_changed', (state) => void window.toNode(name, 'state', state));
    pc.on('error', (err) => void window.toNode(name, 'error', err.code, err.message));
    pc.on('data_channel_received', (ch) => {
      register(name, ch);
      void window.toNode(name, 'channel', ch.getLabel());
    });
  },
  createChannel(name: string, label: string, options: DataChannelOptions = {}): void {
    register(name, peer(name).createDataChannel(label, options));
  },
  offer(name: string): void {
    peer(name).createOffer();
  },
  remoteDescription(name: string, type: 'offer' | 'answer', sdp: string): boolean {
    return peer(name).setRemoteDescription(type, sdp);
  },
  candidate(name: string, mid: string, index: number, candidate: string): boolean {
    return peer(name).addIceCandidate(mid, index, candidate);
  },
  async opened(name: string, label: string): Promise<void> {
    const ch = channel(name, label);
    if (ch.getReadyState() === 1) return;
    await new Promise<void>((resolve) => ch.once('open', () => resolve()));
  },
  send(name: string, label: string, data: number[] | string): void {
    sendData(channel(name, label), data);
  },
  nextPacket(name: string, label: string): Promise<{ data: number[]; isText: boolean }> {
    const inbox = inboxes.get(channel(name, label))!;
    const p = inbox.packets.shift();
    if (p) return Promise.resolve(p);
    return new Promise((resolve) => inbox.waiters.push(resolve));
  },
  channelInfo(name: string, label: string) {
    const ch = channel(name, label);
    return {
      label: ch.getLabel(),
      id: ch.getId(),
      negotiated: ch.isNegotiated(),
      ordered: ch.isOrdered(),
      maxRetransmits: ch.getMaxRetransmits(),
      maxPacketLifeTime: ch.getMaxPacketLifeTime(),
      protocol: ch.getProtocol(),
      readyState: ch.getReadyState(),
      maxPacketSize: ch.getMaxPacketSize(),
    };
  },
  stats(name: string) {
    const s = peer(name).getStats();
    return { rttMs: s.rttMs, bytesSent: s.bytesSent, bytesReceived: s.bytesReceived, pair: s.selectedCandidatePair, state: s.connectionState };
  },
  state(name: string): number {
    return peer(name).getConnectionState();
  },
  close(name: string): void {
    peer(name).close();
  },
};

window.harness = harness;
