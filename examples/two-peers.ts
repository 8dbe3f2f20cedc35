/**
 * Two peers in one process, connected over real WebRTC on loopback, in the
 * Godot style: events are delivered on poll(), once per tick.
 *
 *   npx tsx examples/two-peers.ts
 */
import { ChannelState, WebRTCPeerConnection } from 'rtcmesh';

const a = new WebRTCPeerConnection({ bindAddress: '127.0.0.1' });
const b = new WebRTCPeerConnection({ bindAddress: '127.0.0.1' });

// Signaling: in a game this goes through a server; here we hand it over directly.
a.on('session_description_created', (type, sdp) => b.setRemoteDescription(type, sdp));
b.on('session_description_created', (type, sdp) => a.setRemoteDescription(type, sdp));
a.on('ice_candidate_created', (mid, index, candidate) => b.addIceCandidate(mid, index, candidate));
b.on('ice_candidate_created', (mid, index, candidate) => a.addIceCandidate(mid, index, candidate));

// Negotiated channels: both sides create them with the same id.
const chA = a.createDataChannel('game', { negotiated: true, id: 1 });
const chB = b.createDataChannel('game', { negotiated: true, id: 1 });
a.createOffer();

let sent = false;
const tick = setInterval(() => {
  a.poll();
  b.poll();
  if (!sent && chA.getReadyState() === ChannelState.OPEN) {
    chA.putVar({ hello: 'world', tick: 1 });
    sent = true;
  }
  const value = chB.getVar();
  if (value !== undefined) {
    console.log('B received', value);
    clearInterval(tick);
    a.close();
    b.close();
  }
}, 16);
