/**
 * One lobby member for the browser-mesh system test, written once and run on
 * both sides: in Node (rtcmesh's Node entry) and in Chromium (the page loads
 * it with dist/rtcmesh.browser.js). It joins a lobby with `Mesh.join`, drives
 * the mesh on a 5 ms timer, keeps what arrives, and later puts an RPC endpoint
 * on the same mesh. Everything it reports is plain JSON.
 */
import type { LobbyMultiplayerPeer, Mesh, PeerConnectionConfig, RpcEndpoint, TransferMode as TransferModeValue } from '../../../src/browser.js';

/** The parts of rtcmesh the member uses (the Node or the browser entry point). */
export interface RtcmeshApi {
  Mesh: typeof Mesh;
  RpcEndpoint: typeof RpcEndpoint;
}

export interface JoinSettings {
  url: string;
  lobby?: string;
  mode?: 'mesh' | 'client_server';
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  livenessTimeoutMs: number;
  connection: PeerConnectionConfig;
}

export interface Received {
  from: number;
  mode: number;
  text: string;
}

export interface MemberEvent {
  ev: 'peer_connected' | 'peer_disconnected';
  id: number;
  reason?: string;
  /** Date.now() when seen. */
  at: number;
}

/** What `whoami` answers: who ran it and who the caller was (ctx.senderId). */
export interface WhoAmI {
  me: number;
  sender: number;
  tag: string;
}

export class MeshMember {
  private mesh: LobbyMultiplayerPeer | undefined;
  private endpoint: RpcEndpoint | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly inbox: Received[] = [];
  private readonly eventLog: MemberEvent[] = [];
  /** whoami calls this member served. */
  private readonly served: WhoAmI[] = [];

  constructor(private readonly api: RtcmeshApi) {}

  async join(s: JoinSettings): Promise<{ id: number; lobby: string; peers: number[] }> {
    // The first member of a client_server lobby is its host (joiners never create one).
    const enter = s.mode === 'client_server' && s.lobby === undefined ? this.api.Mesh.host : this.api.Mesh.join;
    const mesh = await enter({
      signaling: s.url,
      ...(s.lobby !== undefined && { lobby: s.lobby }),
      ...(s.mode !== undefined && { mode: s.mode }),
      heartbeatIntervalMs: s.heartbeatIntervalMs,
      heartbeatTimeoutMs: s.heartbeatTimeoutMs,
      livenessTimeoutMs: s.livenessTimeoutMs,
      connection: s.connection,
    });
    this.mesh = mesh;
    mesh.on('peer_connected', (id) => this.eventLog.push({ ev: 'peer_connected', id, at: Date.now() }));
    mesh.on('peer_disconnected', (id, reason) => this.eventLog.push({ ev: 'peer_disconnected', id, ...(reason !== undefined && { reason }), at: Date.now() }));
    this.timer = setInterval(() => this.tick(), 5);
    return { id: mesh.getUniqueId(), lobby: mesh.lobby, peers: mesh.getPeerIds() };
  }

  private tick(): void {
    const mesh = this.mesh!;
    if (this.endpoint) {
      this.endpoint.poll();
      this.endpoint.flush();
      return;
    }
    mesh.poll();
    while (mesh.getAvailablePacketCount() > 0) {
      // As in Godot, getPacketPeer/Mode describe the packet getPacket() returns next.
      const from = mesh.getPacketPeer();
      const mode = mesh.getPacketMode();
      const data = mesh.getPacket();
      if (data === undefined) break;
      this.inbox.push({ from, mode, text: new TextDecoder().decode(data) });
    }
  }

  id(): number {
    return this.mesh?.getUniqueId() ?? 0;
  }

  /** Local and remote candidate types of the selected pair of the link to `id` ('' when none). */
  pairTypes(id: number): { local: string; remote: string } {
    const pair = this.mesh?.getPeer(id)?.connection.getStats().selectedCandidatePair;
    return { local: pair?.local.type ?? '', remote: pair?.remote.type ?? '' };
  }

  /** Peers whose link is up (connected, not merely announced). */
  connectedPeers(): number[] {
    return (this.mesh?.getPeers() ?? [])
      .filter((p) => p.state === 'connected')
      .map((p) => p.id)
      .sort((a, b) => a - b);
  }

  /** Send `text` to `to` on the default channel of `mode`. */
  send(to: number, mode: TransferModeValue, text: string): void {
    const mesh = this.mesh!;
    mesh.targetPeer = to;
    mesh.transferMode = mode;
    mesh.transferChannel = 0;
    mesh.putPacket(new TextEncoder().encode(text));
  }

  received(): Received[] {
    return [...this.inbox];
  }

  events(): MemberEvent[] {
    return [...this.eventLog];
  }

  servedCalls(): WhoAmI[] {
    return [...this.served];
  }

  /** Put an RPC endpoint on the mesh (from now on it reads every packet) with the `whoami` RPC. */
  startRpc(): void {
    const ep = new this.api.RpcEndpoint(this.mesh!, { requestTimeoutMs: 10_000 });
    ep.register(
      'whoami',
      (ctx, tag: string) => {
        const answer = { me: this.id(), sender: ctx.senderId, tag };
        this.served.push(answer);
        return answer;
      },
      { mode: 'any_peer' },
    );
    this.endpoint = ep;
  }

  /** `request(to, 'whoami', tag)`. */
  request(to: number, tag: string): Promise<WhoAmI> {
    return (this.endpoint as unknown as { request(peer: number, name: string, ...args: unknown[]): Promise<WhoAmI> }).request(to, 'whoami', tag);
  }

  /** Peers the endpoint can call (in client mode: the server and the clients it announced). */
  rpcPeers(): number[] {
    return [...(this.endpoint?.getPeerIds() ?? [])].sort((a, b) => a - b);
  }

  rpcStats(): { framesRelayed: number } {
    return { framesRelayed: this.endpoint?.getStats().framesRelayed ?? 0 };
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.endpoint?.close();
    this.mesh?.close();
  }
}
