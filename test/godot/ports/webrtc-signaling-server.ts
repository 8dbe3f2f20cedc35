/**
 * `networking/webrtc_signaling/server/ws_webrtc_server.gd` (Godot 4) ported
 * line for line: the lobby server of Godot's WebRTC signaling demo, JSON text
 * frames `{ type, id, data }` over WebSocket, polled like a Godot node.
 *
 * Porter's changes: `Time.get_ticks_msec()` → `performance.now()`;
 * `randi() % (1 << 31)` → `randomInt(0, 2 ** 31)` (the demo's id can be 0 or
 * 1, or collide: a known weakness rtcmesh's own signaling fixes); `listen`
 * binds 127.0.0.1 and may take port 0; `stop()` closes the peers' sockets
 * (Godot closes a WebSocketPeer when its last reference goes, JavaScript does
 * not); `print` goes to `log`.
 */
import { randomInt } from 'node:crypto';
import { TCPServer, WebSocketPeer, WsState } from './webrtc-signaling-godot-io.js';

export const Message = { JOIN: 0, ID: 1, PEER_CONNECT: 2, PEER_DISCONNECT: 3, OFFER: 4, ANSWER: 5, CANDIDATE: 6, SEAL: 7 } as const;

/** Unresponsive clients time out after this time (in milliseconds). */
const TIMEOUT = 1000;
/** A sealed room will be closed after this time (in milliseconds). */
const SEAL_TIME = 10000;
/** All alphanumeric characters. */
const ALFNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const TARGET_PEER_SERVER = 1;

const ticksMsec = () => performance.now();

class Peer {
  id = -1;
  lobby = '';
  time = ticksMsec();
  ws = new WebSocketPeer();

  constructor(peerId: number, tcp: Parameters<WebSocketPeer['acceptStream']>[0]) {
    this.id = peerId;
    this.ws.acceptStream(tcp);
  }

  isWsOpen(): boolean {
    return this.ws.getReadyState() === WsState.OPEN;
  }

  send(type: number, id: number, data = ''): void {
    this.ws.sendText(JSON.stringify({ type, id, data }));
  }
}

class Lobby {
  peers = new Map<number, Peer>();
  host = -1;
  sealed = false;
  time = 0; // Value is in milliseconds.
  mesh = true;

  constructor(hostId: number, useMesh: boolean) {
    this.host = hostId;
    this.mesh = useMesh;
  }

  join(peer: Peer): boolean {
    if (this.sealed) return false;
    if (!peer.isWsOpen()) return false;
    peer.send(Message.ID, peer.id === this.host ? 1 : peer.id, this.mesh ? 'true' : '');
    for (const p of this.peers.values()) {
      if (!p.isWsOpen()) continue;
      if (!this.mesh && p.id !== this.host) {
        // Only host is visible when using client-server
        continue;
      }
      p.send(Message.PEER_CONNECT, peer.id);
      peer.send(Message.PEER_CONNECT, p.id === this.host ? 1 : p.id);
    }
    this.peers.set(peer.id, peer);
    return true;
  }

  leave(peer: Peer): boolean {
    if (!this.peers.has(peer.id)) return false;
    this.peers.delete(peer.id);
    let close = false;
    if (peer.id === this.host) {
      // The room host disconnected, will disconnect all peers.
      close = true;
    }
    if (this.sealed) return close;
    // Notify other peers.
    for (const p of this.peers.values()) {
      if (!p.isWsOpen()) continue;
      if (close) {
        // Disconnect peers.
        p.ws.close();
      } else {
        // Notify disconnection.
        p.send(Message.PEER_DISCONNECT, peer.id);
      }
    }
    return close;
  }

  seal(peerId: number): boolean {
    // Only host can seal the room.
    if (this.host !== peerId) return false;
    this.sealed = true;
    for (const p of this.peers.values()) {
      if (!p.isWsOpen()) continue;
      p.send(Message.SEAL, 0);
    }
    this.time = ticksMsec();
    this.peers.clear();
    return true;
  }
}

export class WsWebrtcServer {
  /**
   * port: TIMEOUT as a setting, so a loaded test machine does not close a
   * socket whose JOIN is a slow frame late (the demo's 1 s is its default).
   */
  constructor(private readonly timeout = TIMEOUT) {}

  lobbies = new Map<string, Lobby>();
  tcpServer = new TCPServer();
  peers = new Map<number, Peer>();
  readonly log: string[] = [];

  process(): void {
    this.poll();
  }

  listen(port: number): void {
    void this.stop();
    this.tcpServer.listen(port);
  }

  async stop(): Promise<void> {
    const stopped = this.tcpServer.stop();
    for (const p of this.peers.values()) p.ws.close();
    this.peers.clear();
    await stopped;
  }

  poll(): void {
    if (!this.tcpServer.isListening()) return;

    if (this.tcpServer.isConnectionAvailable()) {
      const id = randomInt(0, 2 ** 31);
      this.peers.set(id, new Peer(id, this.tcpServer.takeConnection()));
    }

    // Poll peers.
    const toRemove: number[] = [];
    for (const p of this.peers.values()) {
      // Peers timeout.
      if (p.lobby === '' && ticksMsec() - p.time > this.timeout) p.ws.close();
      p.ws.poll();
      while (p.isWsOpen() && p.ws.getAvailablePacketCount()) {
        if (!this.parseMsg(p)) {
          this.log.push(`Parse message failed from peer ${p.id}`);
          toRemove.push(p.id);
          p.ws.close();
          break;
        }
      }
      const state = p.ws.getReadyState();
      if (state === WsState.CLOSED) {
        this.log.push(`Peer ${p.id} disconnected from lobby: '${p.lobby}'`);
        // Remove from lobby (and lobby itself if host).
        if (this.lobbies.has(p.lobby) && this.lobbies.get(p.lobby)!.leave(p)) {
          this.log.push(`Deleted lobby ${p.lobby}`);
          this.lobbies.delete(p.lobby);
        }
        // Remove from peers
        toRemove.push(p.id);
      }
    }

    // Lobby seal.
    for (const lobby of this.lobbies.values()) {
      if (!lobby.sealed) continue;
      if (lobby.time + SEAL_TIME < ticksMsec()) {
        // Close lobby.
        for (const p of lobby.peers.values()) {
          p.ws.close();
          toRemove.push(p.id);
        }
      }
    }

    // Remove stale peers
    for (const id of toRemove) this.peers.delete(id);
  }

  private joinLobby(peer: Peer, lobby: string, mesh: boolean): boolean {
    if (lobby === '') {
      for (let i = 0; i < 32; i++) lobby += ALFNUM[randomInt(0, ALFNUM.length)];
      this.lobbies.set(lobby, new Lobby(peer.id, mesh));
    } else if (!this.lobbies.has(lobby)) {
      return false;
    }
    this.lobbies.get(lobby)!.join(peer);
    peer.lobby = lobby;
    // Notify peer of its lobby
    peer.send(Message.JOIN, 0, lobby);
    this.log.push(`Peer ${peer.id} joined lobby: '${lobby}'`);
    return true;
  }

  private parseMsg(peer: Peer): boolean {
    const pktStr = new TextDecoder().decode(peer.ws.getPacket());
    let parsed: unknown;
    try {
      parsed = JSON.parse(pktStr);
    } catch {
      return false;
    }
    if (typeof parsed !== 'object' || parsed === null || !('type' in parsed) || !('id' in parsed) || typeof (parsed as { data?: unknown }).data !== 'string') {
      return false;
    }
    const p = parsed as { type: unknown; id: unknown; data: string };
    if (typeof p.type !== 'number' || typeof p.id !== 'number') return false;

    const msg = { type: Math.trunc(p.type), id: Math.trunc(p.id), data: p.data };

    if (msg.type === Message.JOIN) {
      if (peer.lobby) return false; // Peer must not have joined a lobby already!
      return this.joinLobby(peer, msg.data, msg.id === 0);
    }

    if (!this.lobbies.has(peer.lobby)) return false; // Lobby not found?

    const lobby = this.lobbies.get(peer.lobby)!;

    if (msg.type === Message.SEAL) {
      // Client is sealing the room.
      return lobby.seal(peer.id);
    }

    let destId = msg.id;
    if (destId === TARGET_PEER_SERVER) destId = lobby.host;

    if (!this.peers.has(destId)) return false; // Destination ID not connected.

    if (this.peers.get(destId)!.lobby !== peer.lobby) return false; // Trying to contact someone not in same lobby.

    if (([Message.OFFER, Message.ANSWER, Message.CANDIDATE] as number[]).includes(msg.type)) {
      const source = peer.id === lobby.host ? TARGET_PEER_SERVER : peer.id;
      this.peers.get(destId)!.send(msg.type, source, msg.data);
      return true;
    }

    return false; // Unknown message.
  }
}
