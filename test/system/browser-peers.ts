/**
 * Node peers linked to peers inside a Chromium page, signaled through
 * Playwright. Shared by the Chromium and TURN system tests.
 */
import { EventEmitter } from 'eventemitter3';
import { ConnectionState, WebRTCPeerConnection, type PeerConnectionConfig } from '../api.js';
import { LOOPBACK, waitForEvent } from '../helpers.js';
import { openHarnessPage, type HarnessPage } from './chromium-page.js';

type Harness = Window['harness'];
type Method = keyof Harness;

/** The browser side of one connection, as seen from Node. */
export interface Remote {
  /** The browser peer's name in the page. */
  name: string;
  /** The Node peer linked to it. */
  node: WebRTCPeerConnection;
  /** What the page reported: `state`, `channel`, `error` (code, message). */
  events: EventEmitter;
  errors: [string, string][];
  /** Candidates the browser peer sent. */
  candidates: string[];
}

/** One Chromium page with a remote-controlled rtcmesh, and the Node peers linked to it. */
export class BrowserPeers {
  page!: HarnessPage;
  /** Per browser peer name: where the page's reports go. */
  readonly fromPage = new Map<string, (kind: string, args: unknown[]) => void>();
  private counter = 0;
  private readonly nodePeers: WebRTCPeerConnection[] = [];

  async open(chromiumPath: string): Promise<void> {
    this.page = await openHarnessPage(chromiumPath, (name, kind, args) => this.fromPage.get(name)?.(kind, args));
  }

  /** Close every Node peer, then the browser and the page server. */
  async close(): Promise<void> {
    for (const pc of this.nodePeers) pc.close();
    await this.page?.close();
  }

  /** A fresh name for a browser peer. */
  nextName(): string {
    return `b${++this.counter}`;
  }

  /** Call a harness method in the page. */
  call<M extends Method>(method: M, ...args: Parameters<Harness[M]>): Promise<Awaited<ReturnType<Harness[M]>>> {
    return this.page.page.evaluate(
      ([m, a]) => (window.harness[m as Method] as (...x: unknown[]) => unknown)(...(a as unknown[])),
      [method, args] as const,
    ) as Promise<Awaited<ReturnType<Harness[M]>>>;
  }

  /** A Node peer to close at the end. */
  track(pc: WebRTCPeerConnection): WebRTCPeerConnection {
    this.nodePeers.push(pc);
    return pc;
  }

  /**
   * A Node peer and a browser peer wired through Playwright. Descriptions and
   * candidates to the page go through one queue, in order. When Node offers it
   * holds its candidates until it has applied the browser's answer (spec: test hygiene).
   */
  async pair(nodeConfig: PeerConnectionConfig = LOOPBACK, browserConfig: PeerConnectionConfig = {}): Promise<Remote> {
    const name = this.nextName();
    const node = this.track(new WebRTCPeerConnection(nodeConfig, { autoPoll: true }));
    const events = new EventEmitter();
    const remote: Remote = { name, node, events, errors: [], candidates: [] };
    let queue: Promise<unknown> = Promise.resolve();
    const signal = (fn: () => Promise<unknown>) => {
      queue = queue.then(fn).catch((err) => events.emit('signal_error', err));
    };
    let held: [string, number, string][] | null = null;
    node.on('session_description_created', (type, sdp) => {
      node.setLocalDescription(type, sdp);
      if (type === 'offer') held = [];
      signal(() => this.call('remoteDescription', name, type, sdp));
    });
    node.on('ice_candidate_created', (mid, index, candidate) => {
      if (held) held.push([mid, index, candidate]);
      else signal(() => this.call('candidate', name, mid, index, candidate));
    });
    this.fromPage.set(name, (kind, args) => {
      if (kind === 'description') {
        const [type, sdp] = args as ['offer' | 'answer', string];
        node.setRemoteDescription(type, sdp);
        if (type === 'answer' && held) {
          for (const [mid, index, candidate] of held) signal(() => this.call('candidate', name, mid, index, candidate));
          held = null;
        }
      } else if (kind === 'candidate') {
        const [mid, index, candidate] = args as [string, number, string];
        remote.candidates.push(candidate);
        node.addIceCandidate(mid, index, candidate);
      } else if (kind === 'error') {
        remote.errors.push(args as [string, string]);
        events.emit('error', ...args);
      } else {
        events.emit(kind, ...args);
      }
    });
    await this.call('create', name, browserConfig);
    return remote;
  }

  /** Resolve when the browser peer is in `state`. */
  async browserState(r: Remote, state: ConnectionState): Promise<void> {
    const reached = waitForEvent(r.events, 'state', (s: number) => s === state);
    if ((await this.call('state', r.name)) === state) {
      reached.catch(() => undefined);
      return;
    }
    await reached;
  }
}
