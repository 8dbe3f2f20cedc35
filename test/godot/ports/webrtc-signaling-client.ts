/**
 * The client half of Godot's webrtc_signaling demo (Godot 4), ported line for
 * line: `client/ws_webrtc_client.gd` (the signaling client: JSON messages,
 * signals) and `client/multiplayer_client.gd` (extends it: feeds a
 * WebRTCMultiplayerPeer in mesh, server or client mode), plus the slice of
 * SceneMultiplayer the demo UI relies on (`multiplayer`).
 *
 * Porter's changes, each marked "port:" below: signals become events (the
 * demo's `peer_connected`/`peer_disconnected` signaling signals share their
 * names with the multiplayer peer's, on a different object as in Godot);
 * `x.connect(f.bind(id))` becomes a closure (JavaScript's `bind` prepends its
 * arguments, Godot's appends them); the public STUN server becomes
 * `bindAddress: '127.0.0.1'` and no ICE server (tests stay on loopback);
 * `multiplayer.multiplayer_peer = rtc_mp` becomes an `RpcEndpoint` over it.
 */
import { EventEmitter } from 'eventemitter3';
import {
  ConnectionStatus,
  RpcEndpoint,
  WebRTCMultiplayerPeer,
  WebRTCPeerConnection,
  type AnyRpcMethods,
  type RpcConfig,
  type RpcContext,
} from '../../api.js';
import { WebSocketPeer, WsState } from './webrtc-signaling-godot-io.js';
import { Message } from './webrtc-signaling-server.js';

type ClientSignals = {
  lobby_joined: [lobby: string];
  connected: [id: number, useMesh: boolean];
  disconnected: [];
  peer_connected: [id: number];
  peer_disconnected: [id: number];
  offer_received: [id: number, offer: string];
  answer_received: [id: number, answer: string];
  candidate_received: [id: number, mid: string, index: number, sdp: string];
  lobby_sealed: [];
};

/** ws_webrtc_client.gd */
export class WsWebrtcClient extends EventEmitter<ClientSignals> {
  autojoin = true;
  lobby = ''; // Will create a new lobby if empty.
  mesh = true; // Will use the lobby host as relay otherwise.

  ws = new WebSocketPeer();
  code = 1000;
  reason = 'Unknown';
  oldState: WsState = WsState.CLOSED;
  /** What the demo prints. */
  readonly printed: string[] = [];

  connectToUrl(url: string): void {
    this.close();
    this.code = 1000;
    this.reason = 'Unknown';
    this.ws.connectToUrl(url);
  }

  close(): void {
    this.ws.close();
  }

  process(): void {
    this.ws.poll();
    const state = this.ws.getReadyState();
    if (state !== this.oldState && state === WsState.OPEN && this.autojoin) this.joinLobby(this.lobby);
    while (state === WsState.OPEN && this.ws.getAvailablePacketCount()) {
      if (!this.parseMsg()) this.printed.push('Error parsing message from server.');
    }
    if (state !== this.oldState && state === WsState.CLOSED) {
      this.code = this.ws.getCloseCode();
      this.reason = this.ws.getCloseReason();
      this.emit('disconnected');
    }
    this.oldState = state;
  }

  private parseMsg(): boolean {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(this.ws.getPacket()));
    } catch {
      return false;
    }
    if (typeof parsed !== 'object' || parsed === null || !('type' in parsed) || !('id' in parsed) || typeof (parsed as { data?: unknown }).data !== 'string') {
      return false;
    }
    const msg = parsed as { type: number; id: number; data: string };
    const type = Math.trunc(msg.type);
    const srcId = Math.trunc(msg.id);

    if (type === Message.ID) {
      this.emit('connected', srcId, msg.data === 'true');
    } else if (type === Message.JOIN) {
      this.emit('lobby_joined', msg.data);
    } else if (type === Message.SEAL) {
      this.emit('lobby_sealed');
    } else if (type === Message.PEER_CONNECT) {
      // Client connected.
      this.emit('peer_connected', srcId);
    } else if (type === Message.PEER_DISCONNECT) {
      // Client connected.
      this.emit('peer_disconnected', srcId);
    } else if (type === Message.OFFER) {
      // Offer received.
      this.emit('offer_received', srcId, msg.data);
    } else if (type === Message.ANSWER) {
      // Answer received.
      this.emit('answer_received', srcId, msg.data);
    } else if (type === Message.CANDIDATE) {
      // Candidate received. (`split("\n", false)`: empty parts dropped.)
      const candidate = msg.data.split('\n').filter((s) => s !== '');
      if (candidate.length !== 3) return false;
      if (!/^[+-]?\d+$/.test(candidate[1]!)) return false;
      this.emit('candidate_received', srcId, candidate[0]!, Number(candidate[1]), candidate[2]!);
    } else {
      return false;
    }
    return true; // Parsed.
  }

  joinLobby(lobby: string): number {
    return this.sendMsg(Message.JOIN, this.mesh ? 0 : 1, lobby);
  }

  sealLobby(): number {
    return this.sendMsg(Message.SEAL, 0);
  }

  sendCandidate(id: number, mid: string, index: number, sdp: string): number {
    return this.sendMsg(Message.CANDIDATE, id, `\n${mid}\n${index}\n${sdp}`);
  }

  sendOffer(id: number, offer: string): number {
    return this.sendMsg(Message.OFFER, id, offer);
  }

  sendAnswer(id: number, answer: string): number {
    return this.sendMsg(Message.ANSWER, id, answer);
  }

  private sendMsg(type: number, id: number, data = ''): number {
    return this.ws.sendText(JSON.stringify({ type, id, data }));
  }
}

type MultiplayerSignals = {
  peer_connected: [id: number];
  peer_disconnected: [id: number];
  connected_to_server: [];
  connection_failed: [];
  server_disconnected: [];
};

/**
 * port: the part of SceneMultiplayer (the node's `multiplayer`) the demo
 * uses. Setting `multiplayerPeer` puts an RpcEndpoint over the peer (RPCs
 * declared with `rpcConfig`, as `@rpc` annotations are); `poll()` is what
 * the SceneTree does each frame: poll the endpoint (which polls the peer),
 * flush its batch, and turn the peer's status falling to DISCONNECTED into
 * connection_failed / server_disconnected (SceneMultiplayer::_update_status).
 * As SceneMultiplayer::_admit_peer does, peer 1 connecting emits
 * connected_to_server first, in mesh mode too.
 */
export class SceneMultiplayer extends EventEmitter<MultiplayerSignals> {
  endpoint: RpcEndpoint<AnyRpcMethods> | null = null;
  private peer: WebRTCMultiplayerPeer | null = null;
  private lastStatus: ConnectionStatus = ConnectionStatus.DISCONNECTED;
  private readonly rpcs: [string, (ctx: RpcContext, ...args: never[]) => unknown, RpcConfig<never[]>][] = [];

  rpcConfig<A extends unknown[]>(name: string, handler: (ctx: RpcContext, ...args: A) => unknown, config: RpcConfig<A>): void {
    this.rpcs.push([name, handler as never, config as never]);
  }

  get multiplayerPeer(): WebRTCMultiplayerPeer | null {
    return this.peer;
  }

  set multiplayerPeer(peer: WebRTCMultiplayerPeer | null) {
    this.endpoint?.close();
    this.endpoint = null;
    this.peer = peer;
    this.lastStatus = peer ? peer.getConnectionStatus() : ConnectionStatus.DISCONNECTED;
    if (!peer) return;
    const ep = new RpcEndpoint<AnyRpcMethods>(peer);
    for (const [name, handler, config] of this.rpcs) ep.register(name, handler, config);
    ep.on('peer_connected', (id) => {
      if (id === 1) this.emit('connected_to_server');
      this.emit('peer_connected', id);
    });
    ep.on('peer_disconnected', (id) => this.emit('peer_disconnected', id));
    this.endpoint = ep;
  }

  getUniqueId(): number {
    return this.peer ? this.peer.getUniqueId() : 1; // SceneMultiplayer without a peer: an offline server, id 1
  }

  getPeers(): number[] {
    return this.endpoint ? this.endpoint.getPeerIds() : [];
  }

  poll(): void {
    if (!this.peer || !this.endpoint) return;
    this.endpoint.poll();
    this.endpoint.flush();
    const status = this.peer.getConnectionStatus();
    if (status !== this.lastStatus) {
      if (status === ConnectionStatus.DISCONNECTED) this.emit(this.lastStatus === ConnectionStatus.CONNECTING ? 'connection_failed' : 'server_disconnected');
      this.lastStatus = status;
    }
  }
}

/** multiplayer_client.gd (extends ws_webrtc_client.gd). */
export class MultiplayerClient extends WsWebrtcClient {
  rtcMp = new WebRTCMultiplayerPeer();
  sealed = false;
  /** False for the demo's Godot 3 shape, whose UI reads `rtc_mp` packets itself (no SceneMultiplayer). */
  useSceneMultiplayer = true;
  readonly multiplayer = new SceneMultiplayer();
  /** Every connection `_create_peer` made (the test closes them at the end). */
  readonly created: WebRTCPeerConnection[] = [];

  constructor() {
    super();
    this.on('connected', (id, useMesh) => this.connected_(id, useMesh));
    this.on('disconnected', () => this.disconnected_());

    this.on('offer_received', (id, offer) => this.offerReceived(id, offer));
    this.on('answer_received', (id, answer) => this.answerReceived(id, answer));
    this.on('candidate_received', (id, mid, index, sdp) => this.candidateReceived(id, mid, index, sdp));

    this.on('lobby_joined', (lobby) => this.lobbyJoined(lobby));
    this.on('lobby_sealed', () => this.lobbySealed());
    this.on('peer_connected', (id) => this.peerConnected(id));
    this.on('peer_disconnected', (id) => this.peerDisconnected(id));
  }

  start(url: string, lobby = '', mesh = true): void {
    this.stop();
    this.sealed = false;
    this.mesh = mesh;
    this.lobby = lobby;
    this.connectToUrl(url);
  }

  stop(): void {
    this.multiplayer.multiplayerPeer = null;
    this.rtcMp.close();
    this.close();
  }

  private createPeer(id: number): WebRTCPeerConnection {
    const peer = new WebRTCPeerConnection();
    this.created.push(peer);
    // port: the demo's public STUN server; the test stays on loopback.
    peer.initialize({ iceServers: [], bindAddress: '127.0.0.1' });
    // port: `.bind(id)` appends `id` after the signal's arguments.
    peer.on('session_description_created', (type, data) => this.offerCreated(type, data, id));
    peer.on('ice_candidate_created', (mid, index, sdp) => this.newIceCandidate(mid, index, sdp, id));
    this.rtcMp.addPeer(peer, id);
    if (id < this.rtcMp.getUniqueId()) {
      // So lobby creator never creates offers.
      peer.createOffer();
    }
    return peer;
  }

  private newIceCandidate(midName: string, indexName: number, sdpName: string, id: number): void {
    this.sendCandidate(id, midName, indexName, sdpName);
  }

  private offerCreated(type: 'offer' | 'answer', data: string, id: number): void {
    if (!this.rtcMp.hasPeer(id)) return;
    this.printed.push(`created ${type}`);
    this.rtcMp.getPeer(id)!.connection.setLocalDescription(type, data);
    if (type === 'offer') this.sendOffer(id, data);
    else this.sendAnswer(id, data);
  }

  private connected_(id: number, useMesh: boolean): void {
    this.printed.push(`Connected ${id}, mesh: ${useMesh}`);
    if (useMesh) this.rtcMp.createMesh(id);
    else if (id === 1) this.rtcMp.createServer();
    else this.rtcMp.createClient(id);
    if (this.useSceneMultiplayer) this.multiplayer.multiplayerPeer = this.rtcMp;
  }

  private lobbyJoined(lobby: string): void {
    this.lobby = lobby;
  }

  private lobbySealed(): void {
    this.sealed = true;
  }

  private disconnected_(): void {
    this.printed.push(`Disconnected: ${this.code}: ${this.reason}`);
    if (!this.sealed) this.stop(); // Unexpected disconnect
  }

  private peerConnected(id: number): void {
    this.printed.push(`Peer connected: ${id}`);
    this.createPeer(id);
  }

  private peerDisconnected(id: number): void {
    if (this.rtcMp.hasPeer(id)) this.rtcMp.removePeer(id);
  }

  private offerReceived(id: number, offer: string): void {
    this.printed.push(`Got offer: ${id}`);
    if (this.rtcMp.hasPeer(id)) this.rtcMp.getPeer(id)!.connection.setRemoteDescription('offer', offer);
  }

  private answerReceived(id: number, answer: string): void {
    this.printed.push(`Got answer: ${id}`);
    if (this.rtcMp.hasPeer(id)) this.rtcMp.getPeer(id)!.connection.setRemoteDescription('answer', answer);
  }

  private candidateReceived(id: number, mid: string, index: number, sdp: string): void {
    if (this.rtcMp.hasPeer(id)) this.rtcMp.getPeer(id)!.connection.addIceCandidate(mid, index, sdp);
  }
}
