/**
 * Shared set-up of the peer conformance suite: what an engine's test file
 * provides, and connections made from it that are closed after each test.
 */
import { afterEach } from 'vitest';
import { WebRTCPeerConnection, type Engine, type PeerConnectionConfig } from '../api.js';
import { wire } from '../helpers.js';

/** What an engine's test file provides. */
export interface ConformanceEnv {
  engine: () => Engine;
  config: PeerConnectionConfig;
  /**
   * A candidate that passes the peer layer's syntax check but that this
   * engine refuses once the remote description is set. Engines differ in what
   * they check (libdatachannel parses the priority as 32 bits; the virtual
   * engine checks the port), so each engine names its own.
   */
  refusedCandidate: string;
}

/** Makes connections on the engine under test; each test's are closed after it. */
export interface ConformanceFixture {
  /** One connection (env.config unless given), auto-polled unless told otherwise. */
  make(config?: PeerConnectionConfig, autoPoll?: boolean): WebRTCPeerConnection;
  /** Two connections whose signaling is wired to each other. */
  pair(config?: PeerConnectionConfig): readonly [WebRTCPeerConnection, WebRTCPeerConnection];
}

/** Call inside a describe(): registers the afterEach that closes what the tests made. */
export function conformanceFixture(env: ConformanceEnv): ConformanceFixture {
  const open: WebRTCPeerConnection[] = [];
  const make = (config: PeerConnectionConfig = env.config, autoPoll = true) => {
    const pc = new WebRTCPeerConnection(config, { engine: env.engine(), autoPoll });
    open.push(pc);
    return pc;
  };
  const pair = (config?: PeerConnectionConfig) => {
    const a = make(config);
    const b = make(config);
    wire(a, b);
    return [a, b] as const;
  };
  afterEach(() => {
    for (const pc of open.splice(0)) pc.close();
  });
  return { make, pair };
}
