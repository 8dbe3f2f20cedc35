/**
 * Claims of docs/going-online.md (and the matching lines of docs/peer.md)
 * about connection options, checked over real node-datachannel on
 * 127.0.0.1. Each `it()` quotes the claim it checks.
 */
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, WebRTCPeerConnection, type PeerConnectionConfig, type RtcmeshError } from '../api.js';
import { LOOPBACK, opened, waitForEvent, wire } from '../helpers.js';

const live: WebRTCPeerConnection[] = [];
afterEach(() => {
  for (const pc of live.splice(0)) pc.close();
});
const make = (config: PeerConnectionConfig) => {
  const pc = new WebRTCPeerConnection(config, { autoPoll: true });
  live.push(pc);
  return pc;
};

/** A UDP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** Connect `a` to `b` with one in-band channel and return the ports of a's host candidates. */
async function connect(a: WebRTCPeerConnection, b: WebRTCPeerConnection): Promise<number[]> {
  const ports: number[] = [];
  a.on('ice_candidate_created', (_mid, _index, c) => ports.push(Number(c.replace(/^a=/, '').split(' ')[5])));
  wire(a, b);
  const ch = a.createDataChannel('x');
  const received = waitForEvent(b, 'data_channel_received');
  a.createOffer();
  await received;
  await opened(ch);
  return ports;
}

describe('docs/going-online.md: ports on your servers', () => {
  it('"enableIceUdpMux … shares one UDP port among all connections": `{ enableIceUdpMux: true, portRange: { min: P, max: P } }`, every connection on one port', async () => {
    const port = await freeUdpPort();
    const muxed: PeerConnectionConfig = { ...LOOPBACK, enableIceUdpMux: true, portRange: { min: port, max: port } };
    const a1 = make(muxed);
    const a2 = make(muxed);
    const ports1 = await connect(a1, make(LOOPBACK));
    const ports2 = await connect(a2, make(LOOPBACK));
    expect(ports1.length).toBeGreaterThan(0);
    expect(new Set([...ports1, ...ports2])).toEqual(new Set([port]));
  });
});

describe('docs/going-online.md + docs/peer.md: TURN', () => {
  it('"iceTransportPolicy: \'relay\' forces every link through TURN"; without a TURN server "ICE gathering that ends with no candidate at all … emits error with NO_CANDIDATES"', async () => {
    const a = make({ ...LOOPBACK, iceTransportPolicy: 'relay' });
    const candidates: string[] = [];
    a.on('ice_candidate_created', (_m, _i, c) => candidates.push(c));
    const error = waitForEvent<[RtcmeshError]>(a, 'error');
    a.createDataChannel('x');
    a.createOffer();
    // the offerer holds its candidates until an answer: answer from a real peer
    const b = make(LOOPBACK);
    a.on('session_description_created', (type, sdp) => b.setRemoteDescription(type, sdp));
    b.on('session_description_created', (type, sdp) => a.setRemoteDescription(type, sdp));
    const [err] = await error;
    expect(err.code).toBe(ErrorCode.NO_CANDIDATES);
    expect(candidates).toEqual([]);
  });
});
