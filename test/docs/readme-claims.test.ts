/**
 * The README's code examples, run as written (console.log captured), and what
 * they are said to print. "A connection in twenty lines" runs over real
 * node-datachannel (bound to 127.0.0.1 as written); "Simulating a bad network"
 * on the virtual network.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelState, ConnectionState, VirtualNetwork, WebRTCPeerConnection, type WebRTCDataChannel } from '../api.js';
import { waitUntil } from '../helpers.js';

const live: { close(): void }[] = [];
afterEach(() => {
  for (const x of live.splice(0).reverse()) x.close();
});

describe('README.md', () => {
  it('"A connection in twenty lines" prints "hello" on the other side', async () => {
    const printed: string[] = [];
    const console = { log: (s: string) => printed.push(s) };
    // --- as in the README ---
    const a = new WebRTCPeerConnection({ bindAddress: '127.0.0.1' }, { autoPoll: true });
    const b = new WebRTCPeerConnection({ bindAddress: '127.0.0.1' }, { autoPoll: true });
    a.on('session_description_created', (type, sdp) => b.setRemoteDescription(type, sdp));
    b.on('session_description_created', (type, sdp) => a.setRemoteDescription(type, sdp));
    a.on('ice_candidate_created', (mid, i, c) => b.addIceCandidate(mid, i, c));
    b.on('ice_candidate_created', (mid, i, c) => a.addIceCandidate(mid, i, c));

    const chat = a.createDataChannel('chat');
    b.on('data_channel_received', (ch) => ch.on('packet', (data) => console.log(new TextDecoder().decode(data))));
    chat.on('open', () => chat.putPacket(new TextEncoder().encode('hello')));
    a.createOffer();
    // ---
    live.push(a, b);
    await waitUntil(() => printed.length > 0, '"hello" to be printed');
    expect(printed).toEqual(['hello']);
  });

  it('"Without autoPoll, events are queued and delivered when you call poll()"', async () => {
    const a = new WebRTCPeerConnection({ bindAddress: '127.0.0.1' });
    const b = new WebRTCPeerConnection({ bindAddress: '127.0.0.1' });
    live.push(a, b);
    const seen: string[] = [];
    let inPoll = false;
    a.on('session_description_created', (type, sdp) => (seen.push(`a:${type}:${inPoll}`), b.setRemoteDescription(type, sdp)));
    b.on('session_description_created', (type, sdp) => (seen.push(`b:${type}:${inPoll}`), a.setRemoteDescription(type, sdp)));
    a.on('ice_candidate_created', (mid, i, c) => (expect(inPoll).toBe(true), b.addIceCandidate(mid, i, c)));
    b.on('ice_candidate_created', (mid, i, c) => (expect(inPoll).toBe(true), a.addIceCandidate(mid, i, c)));
    const chat = a.createDataChannel('chat');
    a.createOffer();
    const poll = () => {
      inPoll = true;
      a.poll();
      b.poll();
      inPoll = false;
      return chat.getReadyState() === ChannelState.OPEN;
    };
    await waitUntil(poll, 'the channel to open, polling');
    expect(seen).toEqual(['a:offer:true', 'b:answer:true']);
  });

  it('"Simulating a bad network": the same connection code on a VirtualNetwork, time driven by net.clock.advance()', () => {
    const net = new VirtualNetwork({ seed: 42, defaultLink: { latencyMs: 80, jitter: 10, loss: 0.05 } });
    live.push(net);
    const host = net.createHost('player-1');
    const other = net.createHost('player-2');
    const pc = new WebRTCPeerConnection({}, { engine: host.engine, autoPoll: true });
    const peer = new WebRTCPeerConnection({}, { engine: other.engine, autoPoll: true });
    live.push(pc, peer);
    pc.on('session_description_created', (type, sdp) => peer.setRemoteDescription(type, sdp));
    peer.on('session_description_created', (type, sdp) => pc.setRemoteDescription(type, sdp));
    pc.on('ice_candidate_created', (mid, i, c) => peer.addIceCandidate(mid, i, c));
    peer.on('ice_candidate_created', (mid, i, c) => pc.addIceCandidate(mid, i, c));
    let received: WebRTCDataChannel | undefined;
    peer.on('data_channel_received', (ch) => (received = ch));
    const ch = pc.createDataChannel('state');
    pc.createOffer();
    expect(net.clock.now()).toBe(0);
    for (let i = 0; i < 10 && ch.getReadyState() !== ChannelState.OPEN; i++) net.clock.advance(1000);
    expect(ch.getReadyState()).toBe(ChannelState.OPEN);
    expect(pc.getConnectionState()).toBe(ConnectionState.CONNECTED);
    expect(received?.getLabel()).toBe('state');
    // opening took simulated time (80 ms each way), none of it before the first advance()
    expect(net.clock.now()).toBeGreaterThanOrEqual(1000);
  });
});
