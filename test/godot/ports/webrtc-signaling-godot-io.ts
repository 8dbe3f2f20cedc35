/**
 * The two Godot I/O classes the webrtc_signaling demo stands on, as small
 * shims over `ws` bound to 127.0.0.1: `WebSocketPeer` (poll it; state and
 * packets change only in `poll()`, as in Godot) and `TCPServer` (here a
 * WebSocket server: `take_connection()` hands over an accepted socket, which
 * `WebSocketPeer.acceptStream` wraps). This is the glue a porter writes once;
 * the demo code in the other files calls it line for line.
 */
import { WebSocket, WebSocketServer } from 'ws';

/** `WebSocketPeer.State`. */
export const WsState = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;
export type WsState = (typeof WsState)[keyof typeof WsState];

export class WebSocketPeer {
  private ws: WebSocket | undefined;
  private state: WsState = WsState.CLOSED;
  private arrived: { state?: WsState; packet?: Uint8Array; code?: number; reason?: string }[] = [];
  private inbox: Uint8Array[] = [];
  private closeCode = -1;
  private closeReason = '';

  connectToUrl(url: string): void {
    this.attach(new WebSocket(url), WsState.CONNECTING);
  }

  /** `accept_stream(tcp)`: an accepted socket, already open, with what arrived before it was taken. */
  acceptStream(stream: StreamPeer): void {
    stream.socket.off('message', stream.hold);
    stream.socket.off('close', stream.hold);
    this.attach(stream.socket, WsState.OPEN);
    this.arrived.push(...stream.held);
  }

  private attach(ws: WebSocket, state: WsState): void {
    this.ws = ws;
    this.state = state;
    this.arrived = [];
    this.inbox = [];
    this.closeCode = -1;
    this.closeReason = '';
    ws.on('open', () => this.arrived.push({ state: WsState.OPEN }));
    ws.on('message', (data: Buffer) => this.arrived.push({ packet: new Uint8Array(data) }));
    ws.on('close', (code: number, reason: Buffer) => this.arrived.push({ state: WsState.CLOSED, code, reason: reason.toString() }));
    ws.on('error', () => {}); // a 'close' follows
  }

  poll(): void {
    for (const a of this.arrived.splice(0)) {
      if (a.packet) this.inbox.push(a.packet);
      if (a.state !== undefined && this.state !== WsState.CLOSED) this.state = a.state;
      if (a.code !== undefined) [this.closeCode, this.closeReason] = [a.code, a.reason!];
    }
  }

  getReadyState(): WsState {
    return this.state;
  }

  getAvailablePacketCount(): number {
    return this.inbox.length;
  }

  getPacket(): Uint8Array {
    return this.inbox.shift() ?? new Uint8Array();
  }

  /** `send_text`: OK (0), or FAILED (1) when not open, as Godot returns an Error. */
  sendText(text: string): number {
    if (this.state !== WsState.OPEN) return 1;
    this.ws!.send(text);
    return 0;
  }

  close(code = 1000, reason = ''): void {
    if (!this.ws || this.state === WsState.CLOSED) return;
    if (this.state === WsState.OPEN) this.state = WsState.CLOSING;
    this.ws.close(code, reason);
  }

  getCloseCode(): number {
    return this.closeCode;
  }

  getCloseReason(): string {
    return this.closeReason;
  }

  /** Resolves when the socket is gone (the test's teardown, not Godot API). */
  closed(): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => ws.once('close', () => resolve()));
  }
}

/** An accepted connection not taken yet: events are held (a TCP stream buffers them in Godot). */
export interface StreamPeer {
  socket: WebSocket;
  held: { state?: WsState; packet?: Uint8Array; code?: number; reason?: string }[];
  hold: (...args: unknown[]) => void;
}

/** `TCPServer` as the demo uses it: listen, is_connection_available, take_connection, stop. */
export class TCPServer {
  private server: WebSocketServer | undefined;
  private pending: StreamPeer[] = [];
  port = 0;

  /** Listen on 127.0.0.1; port 0 picks a free one (read `port` once `listening()` resolved). */
  listen(port: number): void {
    const server = new WebSocketServer({ host: '127.0.0.1', port });
    this.server = server;
    server.on('connection', (socket) => {
      const stream: StreamPeer = { socket, held: [], hold: () => {} };
      stream.hold = (data: unknown, isBinaryOrReason?: unknown) => {
        if (data instanceof Buffer) stream.held.push({ packet: new Uint8Array(data) });
        else stream.held.push({ state: WsState.CLOSED, code: data as number, reason: String(isBinaryOrReason) });
      };
      socket.on('message', stream.hold);
      socket.on('close', stream.hold);
      socket.on('error', () => {});
      this.pending.push(stream);
    });
  }

  listening(): Promise<number> {
    const server = this.server!;
    return new Promise((resolve, reject) => {
      const done = () => resolve((this.port = (server.address() as { port: number }).port));
      if (server.address()) return done();
      server.once('listening', done);
      server.once('error', reject);
    });
  }

  isListening(): boolean {
    return this.server !== undefined;
  }

  isConnectionAvailable(): boolean {
    return this.pending.length > 0;
  }

  takeConnection(): StreamPeer {
    return this.pending.shift()!;
  }

  /** Stop listening. Sockets already taken stay open (as in Godot, where the demo drops its references). */
  stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const stream of this.pending.splice(0)) stream.socket.terminate();
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}
