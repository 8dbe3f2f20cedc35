/**
 * A server and three clients as WebRTCMultiplayerPeers, linked by hand, one
 * broadcast from the server, replies from each client.
 *
 *   npx tsx examples/star-by-hand.ts
 */
import { ConnectionStatus, WebRTCMultiplayerPeer, WebRTCPeerConnection } from 'rtcmesh';

const config = { bindAddress: '127.0.0.1' };
const server = new WebRTCMultiplayerPeer();
server.createServer();
const clients = [2, 3, 4].map((id) => {
  const c = new WebRTCMultiplayerPeer();
  c.createClient(id);
  return c;
});

for (const client of clients) {
  const s = new WebRTCPeerConnection(config, { autoPoll: true });
  const c = new WebRTCPeerConnection(config, { autoPoll: true });
  s.on('session_description_created', (t, sdp) => c.setRemoteDescription(t, sdp));
  c.on('session_description_created', (t, sdp) => s.setRemoteDescription(t, sdp));
  s.on('ice_candidate_created', (m, i, cand) => c.addIceCandidate(m, i, cand));
  c.on('ice_candidate_created', (m, i, cand) => s.addIceCandidate(m, i, cand));
  server.addPeer(s, client.getUniqueId());
  client.addPeer(c, 1);
  c.createOffer(); // the higher id offers
}

server.on('peer_connected', (id) => console.log(`server: peer ${id} connected`));
let broadcast = false;
let replies = 0;
const tick = setInterval(() => {
  for (const m of [server, ...clients]) m.poll();
  if (!broadcast && clients.every((c) => c.getConnectionStatus() === ConnectionStatus.CONNECTED)) {
    server.targetPeer = 0;
    server.putPacket(new TextEncoder().encode('welcome'));
    broadcast = true;
  }
  for (const c of clients) {
    const p = c.getPacket();
    if (p) {
      c.targetPeer = 1;
      c.putPacket(new TextEncoder().encode(`thanks from ${c.getUniqueId()}`));
    }
  }
  while (server.getAvailablePacketCount() > 0) {
    const from = server.getPacketPeer(); // as in Godot: the sender of the packet getPacket() returns next
    const p = server.getPacket()!;
    console.log(`server got "${new TextDecoder().decode(p)}" from ${from}`);
    if (++replies === clients.length) {
      clearInterval(tick);
      for (const m of [server, ...clients]) m.close();
    }
  }
}, 16);
