/**
 * Godot's `networking/webrtc_signaling` demo (Godot 4,
 * godotengine/godot-demo-projects) ported line for line and run over real
 * node-datachannel and a real WebSocket server on 127.0.0.1:
 *
 * - `server/ws_webrtc_server.gd` → webrtc-signaling-server.ts (the demo's own
 *   lobby protocol, so the client code stays line for line);
 * - `client/ws_webrtc_client.gd` + `client/multiplayer_client.gd` →
 *   webrtc-signaling-client.ts (WebRTCMultiplayerPeer in mesh, server and
 *   client mode, fed by the signaling client);
 * - `demo/client_ui.gd` → `ClientUi` below (its signal handlers log; `ping`
 *   is its `@rpc("any_peer", "call_local")`); `demo/main.gd` → the test body
 *   (start the server, press Start on each client).
 *
 * Each test asserts what the demo shows its user: the log lines and their
 * order, ids, `peer_connected`/`peer_disconnected`, connection status, and what
 * happens on leave, host leave and seal. Δ marks a difference listed in
 * docs/godot.md.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionState, ConnectionStatus, ErrorCode, TransferMode, type RpcContext } from '../../api.js';
import { codeOf, pollUntil } from '../godot-helpers.js';
import { MultiplayerClient } from './webrtc-signaling-client.js';
import { WsWebrtcServer } from './webrtc-signaling-server.js';

/** client_ui.gd: one demo window's client and log. */
class ClientUi {
  readonly client = new MultiplayerClient();
  readonly log: string[] = [];
  readonly pings: { from: number; arg: number }[] = [];

  ready(): void {
    const client = this.client;
    client.on('lobby_joined', (lobby) => this.lobbyJoined(lobby));
    client.on('lobby_sealed', () => this.lobbySealed());
    client.on('connected', (id, useMesh) => this.connected(id, useMesh));
    client.on('disconnected', () => this.disconnected());

    const multiplayer = client.multiplayer;
    multiplayer.on('connected_to_server', () => this.mpServerConnected());
    multiplayer.on('connection_failed', () => this.mpServerDisconnect());
    multiplayer.on('server_disconnected', () => this.mpServerDisconnect());
    multiplayer.on('peer_connected', (id) => this.mpPeerConnected(id));
    multiplayer.on('peer_disconnected', (id) => this.mpPeerDisconnected(id));
    // @rpc("any_peer", "call_local") func ping(argument: float)
    multiplayer.rpcConfig('ping', (ctx: RpcContext, argument: number) => this.ping(ctx, argument), { mode: 'any_peer', callLocal: true });
  }

  private ping(ctx: RpcContext, argument: number): void {
    this.pings.push({ from: ctx.senderId, arg: argument });
    this.logLine(`[Multiplayer] Ping from peer ${ctx.senderId}: arg: ${argument}`);
  }

  private mpServerConnected(): void {
    this.logLine(`[Multiplayer] Server connected (I am ${this.client.rtcMp.getUniqueId()})`);
  }

  private mpServerDisconnect(): void {
    this.logLine(`[Multiplayer] Server disconnected (I am ${this.client.rtcMp.getUniqueId()})`);
  }

  private mpPeerConnected(id: number): void {
    this.logLine(`[Multiplayer] Peer ${id} connected`);
  }

  private mpPeerDisconnected(id: number): void {
    this.logLine(`[Multiplayer] Peer ${id} disconnected`);
  }

  private connected(id: number, useMesh: boolean): void {
    this.logLine(`[Signaling] Server connected with ID: ${id}. Mesh: ${useMesh}`);
  }

  private disconnected(): void {
    this.logLine(`[Signaling] Server disconnected: ${this.client.code} - ${this.client.reason}`);
  }

  private lobbyJoined(lobby: string): void {
    this.logLine(`[Signaling] Joined lobby ${lobby}`);
  }

  private lobbySealed(): void {
    this.logLine('[Signaling] Lobby has been sealed');
  }

  private logLine(msg: string): void {
    this.log.push(msg);
  }

  onPeersPressed(): number[] {
    return this.client.multiplayer.getPeers();
  }

  onPingPressed(arg: number): void {
    this.client.multiplayer.endpoint!.rpc('ping', arg);
  }

  onSealPressed(): void {
    this.client.sealLobby();
  }

  onStartPressed(url: string, room: string, mesh: boolean): void {
    this.client.start(url, room, mesh);
  }

  onStopPressed(): void {
    this.client.stop();
  }

  /** Packets read the Godot 3 way (`raw` windows): sender (`get_packet_peer()` before `get_packet()`), text. */
  readonly packets: string[] = [];

  /** `raw`: the demo's Godot 3 UI, which polls `rtc_mp` and reads its packets itself. */
  constructor(private readonly raw = false) {
    this.client.useSceneMultiplayer = !raw;
  }

  /** Godot 3 client_ui.gd `ping()`: `_log(client.rtc_mp.put_packet("ping".to_utf8()))`. */
  rawPing(text = 'ping'): void {
    this.client.rtcMp.putPacket(new TextEncoder().encode(text));
  }

  /** A frozen window gets no more frames (the test's stand-in for a stalled process). */
  frozen = false;

  /** The SceneTree's frame for this window: the client's `_process`, then the multiplayer poll. */
  process(): void {
    if (this.frozen) return;
    this.client.process();
    if (!this.raw) return this.client.multiplayer.poll();
    // Godot 3 client_ui.gd _process: poll, then log every packet.
    const rtcMp = this.client.rtcMp;
    rtcMp.poll();
    while (rtcMp.getAvailablePacketCount() > 0) {
      const from = rtcMp.getPacketPeer();
      this.packets.push(`${from}: ${new TextDecoder().decode(rtcMp.getPacket())}`);
    }
  }

  get id(): number {
    return this.client.rtcMp.getUniqueId();
  }
}

const ENDED: ConnectionState[] = [ConnectionState.DISCONNECTED, ConnectionState.FAILED, ConnectionState.CLOSED];

let server: WsWebrtcServer | undefined;
const windows: ClientUi[] = [];
afterEach(async () => {
  for (const w of windows.splice(0)) {
    w.client.stop();
    for (const pc of w.client.created) pc.close();
    await w.client.ws.closed();
  }
  await server?.stop();
  server = undefined;
});

/** main.gd: start listening (the Listen toggle); the URL the clients type in. */
async function listen(): Promise<string> {
  server = new WsWebrtcServer(10_000);
  server.listen(0);
  const port = await server.tcpServer.listening();
  return `ws://127.0.0.1:${port}`;
}

function openWindow(raw = false): ClientUi {
  const w = new ClientUi(raw);
  w.ready();
  windows.push(w);
  return w;
}

/** Every frame: the server node and each window. */
async function frames(until: () => boolean, what: string): Promise<void> {
  try {
    await pollUntil([{ poll: () => (server?.process(), windows.forEach((w) => w.process())) }], until, what);
  } catch (err) {
    // What each window and the server printed, to tell where the demo stopped.
    const report = windows.map((w, i) => `window ${i} (id ${w.id}, ws ${w.client.ws.getReadyState()}): ${JSON.stringify([...w.log, ...w.client.printed])}`);
    throw new Error(`${(err as Error).message}\n${report.join('\n')}\nserver: ${JSON.stringify(server?.log)}`);
  }
}

const joinedLobby = (w: ClientUi) => w.log.find((l) => l.startsWith('[Signaling] Joined lobby '))?.slice('[Signaling] Joined lobby '.length);

/** Press Start on the host window, wait for its lobby, then on each other window with that lobby. */
async function startLobby(count: number, mesh: boolean, raw = false): Promise<{ url: string; lobby: string; host: ClientUi; others: ClientUi[] }> {
  const url = await listen();
  const host = openWindow(raw);
  host.onStartPressed(url, '', mesh);
  await frames(() => joinedLobby(host) !== undefined, 'the host to join its new lobby');
  const lobby = joinedLobby(host)!;
  const others: ClientUi[] = [];
  for (let i = 1; i < count; i++) {
    const w = openWindow(raw);
    w.onStartPressed(url, lobby, mesh);
    others.push(w);
  }
  await frames(() => others.every((w) => joinedLobby(w) === lobby && w.id !== 0), 'every window to join the lobby');
  return { url, lobby, host, others };
}

/** A three-window mesh lobby, formed: every window lists the two others (the UI's Peers button). */
async function meshedLobby(): Promise<{ host: ClientUi; others: ClientUi[]; all: ClientUi[] }> {
  const { host, others } = await startLobby(3, true);
  const all = [host, ...others];
  await frames(() => all.every((w) => w.onPeersPressed().length === 2), 'the mesh to form');
  return { host, others, all };
}

describe('webrtc_signaling demo ported: mesh lobby', () => {
  it('three windows: the creator is 1, the others get server ids; everyone meshes with everyone, the lower id never offers; ping reaches all', async () => {
    const { lobby, host, others } = await startLobby(3, true);
    expect(lobby).toMatch(/^[A-Za-z0-9]{32}$/);
    const all = [host, ...others];
    // The lobby creator gets ID 1; the others keep the server's random id (the demo's range: 0 ≤ id < 2^31).
    expect(host.id).toBe(1);
    for (const w of others) expect(w.id).toBeGreaterThan(1);
    // Ids a porter would draw instead of the server's randi(): generate_unique_id() never gives 0 or 1.
    for (let i = 0; i < 100; i++) expect(host.client.rtcMp.generateUniqueId()).toSatisfy((id: number) => Number.isInteger(id) && id >= 2 && id <= 2 ** 31 - 1);
    expect(new Set(all.map((w) => w.id)).size).toBe(3);
    for (const w of all) {
      // Signaling log, in the demo's order: ID (connected) comes before JOIN (lobby_joined).
      expect(w.log.slice(0, 2)).toEqual([`[Signaling] Server connected with ID: ${w.id}. Mesh: true`, `[Signaling] Joined lobby ${lobby}`]);
      expect(w.client.rtcMp.getMode()).toBe('mesh');
      expect(w.client.rtcMp.getConnectionStatus()).toBe(ConnectionStatus.CONNECTED); // create_mesh: CONNECTED at once
      expect(w.client.rtcMp.isServer()).toBe(w.id === 1);
      expect(w.client.rtcMp.isServerRelaySupported()).toBe(false);
    }
    await frames(() => all.every((w) => w.onPeersPressed().length === 2), 'everyone to see both others');
    for (const w of all) {
      const others = all.filter((o) => o !== w).map((o) => o.id);
      // "Peers" button: multiplayer.get_peers()
      expect(w.onPeersPressed()).toEqual([...others].sort((a, b) => a - b));
      expect(w.log.filter((l) => l.startsWith('[Multiplayer] Peer ')).sort()).toEqual(others.map((id) => `[Multiplayer] Peer ${id} connected`).sort());
      // Offers only from the higher id to the lower one: "So lobby creator never creates offers."
      const offersMade = w.client.printed.filter((l) => l === 'created offer').length;
      expect(offersMade).toBe(others.filter((id) => id < w.id).length);
      expect(w.client.printed.filter((l) => l.startsWith('Got offer: ')).map((l) => Number(l.slice(11))).sort()).toEqual(others.filter((id) => id > w.id).sort());
      for (const id of others) {
        expect(w.client.rtcMp.hasPeer(id)).toBe(true);
        const info = w.client.rtcMp.getPeer(id)!;
        expect(info.connected).toBe(true);
        expect(info.channels.map((c) => c.getLabel())).toEqual(['reliable', 'ordered', 'unreliable']);
      }
      // SceneMultiplayer emits connected_to_server when peer 1 is admitted, mesh mode included: every window but the host's.
      expect(w.log.filter((l) => l.includes('Server connected (I am'))).toEqual(w.id === 1 ? [] : [`[Multiplayer] Server connected (I am ${w.id})`]);
    }
    // Ping button on the window of the last joiner: call_local runs it there too.
    const pinger = others[1]!;
    pinger.onPingPressed(0.25);
    await frames(() => all.every((w) => w.pings.length === 1), 'every window to log the ping');
    for (const w of all) expect(w.pings).toEqual([{ from: pinger.id, arg: 0.25 }]);
  });

  it('a window leaves (Stop): the others remove it on PEER_DISCONNECT and log it once; then the host leaves and the lobby closes for everyone', async () => {
    const { host, others } = await meshedLobby();
    const [stay, leave] = others as [ClientUi, ClientUi];
    const leftId = leave.id;
    leave.onStopPressed();
    // stop(): multiplayer peer detached, then rtc_mp.close() → back to the uninitialised state (Δ id 0).
    expect(leave.client.rtcMp.getConnectionStatus()).toBe(ConnectionStatus.DISCONNECTED);
    expect(leave.id).toBe(0);
    expect(leave.client.rtcMp.getPeers()).toEqual([]);
    // The others drop it either on PEER_DISCONNECT (remove_peer) or on seeing its connection close, whichever comes first: once.
    const leftLog = () => server!.log.includes(`Peer ${leftId} disconnected from lobby: '${joinedLobby(host)}'`);
    await frames(() => [host, stay].every((w) => !w.client.rtcMp.hasPeer(leftId)) && leftLog(), 'the others and the server to drop the leaver');
    for (const w of [host, stay]) {
      expect(w.log.filter((l) => l === `[Multiplayer] Peer ${leftId} disconnected`)).toHaveLength(1);
      expect(w.client.rtcMp.getPeer(leftId)).toBeUndefined();
      expect(w.onPeersPressed()).toEqual([w === host ? stay.id : 1]);
    }
    // The server kept the lobby (only the host's leaving deletes it).
    expect(server!.log.some((l) => l.startsWith('Deleted lobby'))).toBe(false);
    // The leaver's own window detached its multiplayer before closing it: it logs no peer leaving.
    expect(leave.log.some((l) => l.startsWith('[Multiplayer] Peer') && l.endsWith('disconnected'))).toBe(false);

    // The host leaves: "The room host disconnected, will disconnect all peers."
    const stayId = stay.id;
    host.onStopPressed();
    await frames(() => stay.client.rtcMp.getConnectionStatus() === ConnectionStatus.DISCONNECTED && stay.log.some((l) => l.startsWith('[Signaling] Server disconnected: ')), 'the remaining window to be disconnected');
    expect(server!.log).toContain(`Deleted lobby ${joinedLobby(host)}`);
    // Not sealed: the signaling disconnect stops the multiplayer peer too ("Unexpected disconnect").
    expect(stay.client.sealed).toBe(false);
    expect(stay.id).toBe(0);
    expect(stay.client.rtcMp.getPeers()).toEqual([]);
    expect(stay.client.rtcMp.hasPeer(1)).toBe(false);
    expect(stay.log.at(-1)).toMatch(/^\[Signaling\] Server disconnected: 1000 - /);
    expect(stayId).toBeGreaterThan(1);
  });

  it("a window's signaling socket drops while its WebRTC links stay up: the others remove_peer it on PEER_DISCONNECT, peer_disconnected once, reason \"removed\"", async () => {
    const { host, others } = await meshedLobby();
    const [stay, gone] = others as [ClientUi, ClientUi];
    const goneId = gone.id;
    const reasons: string[] = [];
    for (const w of [host, stay]) w.client.rtcMp.on('peer_disconnected', (id, reason) => reasons.push(`${w.id}: ${id} ${reason}`));
    // The window freezes (no more frames) after its socket closes: its multiplayer peer is neither polled nor closed.
    gone.client.close();
    gone.frozen = true;
    await frames(() => [host, stay].every((w) => !w.client.rtcMp.hasPeer(goneId)), 'the others to remove the peer');
    expect(reasons.sort()).toEqual([`${host.id}: ${goneId} removed`, `${stay.id}: ${goneId} removed`].sort());
    for (const w of [host, stay]) {
      expect(w.client.rtcMp.getPeer(goneId)).toBeUndefined();
      expect(w.log.filter((l) => l === `[Multiplayer] Peer ${goneId} disconnected`)).toHaveLength(1);
      expect(w.client.rtcMp.getConnectionStatus()).toBe(ConnectionStatus.CONNECTED);
    }
    // Δ remove_peer also closed the connections (Godot only drops its reference): the frozen window's links are closed.
    await pollUntil([gone.client.rtcMp], () => gone.client.rtcMp.getPeers().every((p) => ENDED.includes(p.connection.getConnectionState())), "the frozen window's connections to close");
  });

  it('seal: the host seals, everyone logs it; the signaling server goes away and the mesh keeps working', async () => {
    const { host, all } = await meshedLobby();
    // Only the host can seal: another window's SEAL is a parse failure, the server drops it.
    host.onSealPressed();
    await frames(() => all.every((w) => w.client.sealed), 'everyone to hear the seal');
    for (const w of all) expect(w.log).toContain('[Signaling] Lobby has been sealed');
    // The signaling server stops (the demo's sealed lobby would close every socket after SEAL_TIME).
    await server!.stop();
    await frames(() => all.every((w) => w.log.some((l) => l.startsWith('[Signaling] Server disconnected: '))), 'every window to lose signaling');
    // Sealed: the multiplayer peers stay.
    for (const w of all) {
      expect(w.id).not.toBe(0);
      expect(w.onPeersPressed()).toHaveLength(2);
      expect(w.log.some((l) => / disconnected$/.test(l))).toBe(false);
    }
    host.onPingPressed(0.5);
    await frames(() => all.every((w) => w.pings.length === 1), 'the ping after the signaling server left');
    for (const w of all) expect(w.pings).toEqual([{ from: 1, arg: 0.5 }]);
  });
});

describe('webrtc_signaling demo ported: client/server lobby (Mesh unchecked)', () => {
  it('the host is the server (1), the others clients that see only the host; connected_to_server; a client ping is relayed to the other client', async () => {
    const { host, others } = await startLobby(3, false);
    const all = [host, ...others];
    expect(host.log[0]).toBe('[Signaling] Server connected with ID: 1. Mesh: false');
    expect(host.client.rtcMp.getMode()).toBe('server');
    expect(host.client.rtcMp.isServer()).toBe(true);
    for (const w of others) {
      expect(w.client.rtcMp.getMode()).toBe('client');
      expect(w.client.rtcMp.isServerRelaySupported()).toBe(true);
      // create_client: CONNECTING until the server's link opens.
      expect([ConnectionStatus.CONNECTING, ConnectionStatus.CONNECTED]).toContain(w.client.rtcMp.getConnectionStatus());
    }
    await frames(() => others.every((w) => w.client.rtcMp.getConnectionStatus() === ConnectionStatus.CONNECTED) && host.client.rtcMp.getPeerIds().length === 2, 'both clients to connect');
    for (const w of others) {
      // Only the host is visible in client-server: one PEER_CONNECT, for id 1.
      expect(w.client.printed.filter((l) => l.startsWith('Peer connected: '))).toEqual(['Peer connected: 1']);
      expect(w.client.rtcMp.getPeers().map((p) => p.id)).toEqual([1]);
      expect(w.log).toContain(`[Multiplayer] Server connected (I am ${w.id})`);
      // The client offered (its id is higher than 1); the server answered.
      expect(w.client.printed).toContain('created offer');
      expect(w.client.printed).toContain('Got answer: 1');
    }
    expect(host.client.printed.filter((l) => l === 'created answer')).toHaveLength(2);
    expect(host.client.printed.filter((l) => l === 'created offer')).toHaveLength(0);
    expect(host.client.rtcMp.getPeers().map((p) => p.id).sort()).toEqual(others.map((w) => w.id).sort());
    // A client may only add the server: the demo never tries anything else, the rule holds.
    expect(codeOf(() => others[0]!.client.rtcMp.addPeer(others[0]!.client.created[0]!, others[1]!.id))).toBe(ErrorCode.INVALID_PEER);
    // Δ create_* again on a created peer throws; stop() (close) first, as the demo's start() does.
    expect(codeOf(() => host.client.rtcMp.createServer())).toBe(ErrorCode.INVALID_STATE);
    // SceneMultiplayer's relay: each client learns of the other through the server.
    await frames(() => others.every((w) => w.onPeersPressed().length === 2), 'each client to know the other through the server');
    const [a, b] = others as [ClientUi, ClientUi];
    a.onPingPressed(0.75);
    await frames(() => all.every((w) => w.pings.length === 1), 'the relayed ping');
    for (const w of all) expect(w.pings).toEqual([{ from: a.id, arg: 0.75 }]);
    expect(b.pings[0]!.from).toBe(a.id);
    expect(host.client.rtcMp.transferMode).toBe(TransferMode.RELIABLE);
  });

  it('the host leaves a client/server lobby: the clients lose signaling and stop; Start again creates a new lobby on the same window', async () => {
    const { url, host, others } = await startLobby(2, false);
    const client = others[0]!;
    await frames(() => client.client.rtcMp.getConnectionStatus() === ConnectionStatus.CONNECTED, 'the client to connect');
    host.onStopPressed();
    await frames(() => client.client.rtcMp.getConnectionStatus() === ConnectionStatus.DISCONNECTED && client.log.some((l) => l.startsWith('[Signaling] Server disconnected')), 'the client to stop');
    expect(client.id).toBe(0);
    expect(client.client.rtcMp.getPeers()).toEqual([]);
    // start() calls stop() first, so the same WebRTCMultiplayerPeer is created again (Δ needed: create_* on a created peer throws).
    client.onStartPressed(url, '', false);
    await frames(() => client.id === 1, 'the window to host a new lobby');
    expect(client.client.rtcMp.getMode()).toBe('server');
    expect(client.client.rtcMp.getConnectionStatus()).toBe(ConnectionStatus.CONNECTED);
  });
});

describe("webrtc_signaling demo ported, Godot 3 UI: the window reads rtc_mp's packets itself", () => {
  it('mesh: a broadcast put_packet reaches every other peer once, get_packet_peer names the sender; target_peer narrows it', async () => {
    const { host, others } = await startLobby(3, true, true);
    const all = [host, ...others];
    await frames(() => all.every((w) => w.client.rtcMp.getPeerIds().length === 2), 'the mesh to form');
    for (const w of all) w.rawPing(`ping from ${w.id}`);
    await frames(() => all.every((w) => w.packets.length === 2), 'every window to read two pings');
    for (const w of all) {
      expect(w.packets.sort()).toEqual(all.filter((o) => o !== w).map((o) => `${o.id}: ping from ${o.id}`).sort());
      expect(w.client.rtcMp.getPacketPeer()).toBe(0); // nothing queued
      expect(w.client.rtcMp.getPacketMode()).toBe(TransferMode.RELIABLE);
    }
    // set_target_peer(id): one peer only; -id: all but that one.
    const [a, b] = others as [ClientUi, ClientUi];
    host.client.rtcMp.targetPeer = a.id;
    host.rawPing('to a');
    host.client.rtcMp.targetPeer = -a.id;
    host.rawPing('not to a');
    await frames(() => a.packets.length === 3 && b.packets.length === 3, 'the targeted packets');
    expect(a.packets.at(-1)).toBe('1: to a');
    expect(b.packets.at(-1)).toBe('1: not to a');
  });

  it('client/server: a client broadcast reaches only the server (the multiplayer peer does not relay; SceneMultiplayer does)', async () => {
    const { host, others } = await startLobby(3, false, true);
    await frames(() => others.every((w) => w.client.rtcMp.getConnectionStatus() === ConnectionStatus.CONNECTED) && host.client.rtcMp.getPeerIds().length === 2, 'both clients to connect');
    const [a, b] = others as [ClientUi, ClientUi];
    a.rawPing();
    host.rawPing('from the server');
    await frames(() => host.packets.length === 1 && a.packets.length === 1 && b.packets.length === 1, 'the packets');
    expect(host.packets).toEqual([`${a.id}: ping`]);
    expect(a.packets).toEqual(['1: from the server']);
    expect(b.packets).toEqual(['1: from the server']);
    // A client's put_packet to the other client: not a peer of its multiplayer peer.
    a.client.rtcMp.targetPeer = b.id;
    expect(codeOf(() => a.rawPing())).toBe(ErrorCode.INVALID_PEER);
  });
});
