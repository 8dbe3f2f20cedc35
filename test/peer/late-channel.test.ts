/**
 * Channels created after the connection is up, at the engine level, on both
 * engines. The peer layer allows createDataChannel() only in state NEW (the
 * Godot API), so this is engine behaviour that only engine users see: an
 * in-band channel opened on a connected connection goes through DCEP and the
 * remote side gets it through `dataChannel`; a negotiated one opens at once.
 * node-datachannel does this; the virtual engine must too, so code written
 * against the engine interface runs unchanged on it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { datachannelEngine, VirtualNetwork } from '../api.js';
import type { Engine, EngineChannel, EngineChannelInit, EngineConfig, EngineConnection, EngineConnectionState } from '../../src/transport/engine.js';
import { waitUntil } from '../helpers.js';

/** One side of an engine-level pair, with what its handlers saw. */
interface Side {
  conn: EngineConnection;
  state: EngineConnectionState;
  /** Channels the remote side opened in-band. */
  received: EngineChannel[];
}

/** What a channel's handlers saw. */
interface Seen {
  open: boolean;
  messages: string[];
}

function watch(ch: EngineChannel): Seen {
  const seen: Seen = { open: false, messages: [] };
  const decoder = new TextDecoder();
  ch.setHandlers({
    open: () => (seen.open = true),
    closed: () => {},
    error: () => {},
    message: (data) => seen.messages.push(decoder.decode(data)),
    bufferedAmountLow: () => {},
  });
  return seen;
}

function connectPair(engineA: Engine, engineB: Engine, config: EngineConfig): [Side, Side] {
  const sides: Side[] = [];
  const make = (engine: Engine, other: () => Side): Side => {
    const side: Side = {
      conn: null as unknown as EngineConnection,
      state: 'new',
      received: [],
    };
    side.conn = engine.createConnection(config, {
      localDescription: (type, sdp) => other().conn.setRemoteDescription(type, sdp),
      localCandidate: (mid, _index, candidate) => other().conn.addRemoteCandidate(mid, candidate),
      stateChange: (s) => (side.state = s),
      gatheringStateChange: () => {},
      signalingStateChange: () => {},
      dataChannel: (ch) => side.received.push(ch),
    });
    return side;
  };
  sides.push(make(engineA, () => sides[1]!));
  sides.push(make(engineB, () => sides[0]!));
  return [sides[0]!, sides[1]!];
}

const init = (label: string, more: Partial<EngineChannelInit> = {}): EngineChannelInit => ({ label, protocol: '', negotiated: false, ordered: true, ...more });

interface Env {
  engines(): [Engine, Engine];
  config: EngineConfig;
  until(check: () => boolean, what: string): Promise<void>;
  done(): void;
}

const envs: [string, () => Env][] = [
  [
    'node-datachannel',
    () => ({
      engines: () => [datachannelEngine, datachannelEngine],
      config: { iceServers: [], iceTransportPolicy: 'all', bindAddress: '127.0.0.1' },
      until: (check, what) => waitUntil(check, what),
      done: () => {},
    }),
  ],
  [
    'virtual network',
    () => {
      const net = new VirtualNetwork({ seed: 11, defaultLink: { latencyMs: 10 } });
      const a = net.createHost();
      const b = net.createHost();
      return {
        engines: () => [a.engine, b.engine],
        config: { iceServers: [], iceTransportPolicy: 'all' },
        until: async (check, what) => {
          if (!net.runUntil(check, { maxMs: 30_000 })) throw new Error(`simulated 30 s without ${what}`);
        },
        done: () => net.close(),
      };
    },
  ],
];

for (const [name, makeEnv] of envs) {
  describe(`channels created after connecting: ${name}`, () => {
    let env: Env | undefined;
    const conns: EngineConnection[] = [];
    afterEach(() => {
      for (const c of conns.splice(0)) c.close();
      env?.done();
      env = undefined;
    });

    /** A connected pair with one in-band channel made before the offer (node-datachannel needs one to negotiate SCTP). */
    async function connected(): Promise<[Side, Side]> {
      env = makeEnv();
      const [ea, eb] = env.engines();
      const [a, b] = connectPair(ea, eb, env.config);
      conns.push(a.conn, b.conn);
      const first = watch(a.conn.createDataChannel(init('first')));
      a.conn.createOffer();
      await env.until(() => a.state === 'connected' && b.state === 'connected' && first.open && b.received.length === 1, 'connected with the first channel open');
      return [a, b];
    }

    for (const opener of ['offerer', 'answerer'] as const) {
      it(`the ${opener} opens an in-band channel on the connected connection; the other side receives it and both talk`, async () => {
        const [a, b] = await connected();
        const [local, remote] = opener === 'offerer' ? [a, b] : [b, a];
        const before = remote.received.length;
        const ch = local.conn.createDataChannel(init('late', { protocol: 'p1' }));
        const seen = watch(ch);
        await env!.until(() => seen.open && remote.received.length === before + 1, 'the late channel open on both sides');
        const got = remote.received[before]!;
        const gotSeen = watch(got);
        expect(got.init.label).toBe('late');
        expect(got.init.protocol).toBe('p1');
        expect(ch.id()).toBeGreaterThanOrEqual(0);
        expect(got.id()).toBe(ch.id());
        // In-band ids: even for the DTLS client (the answerer), odd for the offerer.
        expect(ch.id() % 2).toBe(opener === 'offerer' ? 1 : 0);
        expect(ch.sendText('hello')).toBe(true);
        expect(got.sendText('back')).toBe(true);
        await env!.until(() => gotSeen.messages.length === 1 && seen.messages.length === 1, 'a message each way');
        expect(gotSeen.messages).toEqual(['hello']);
        expect(seen.messages).toEqual(['back']);
      });
    }

    it('opens negotiated channels created on both sides after connecting', async () => {
      const [a, b] = await connected();
      const ca = a.conn.createDataChannel(init('neg', { negotiated: true, id: 40 }));
      const cb = b.conn.createDataChannel(init('neg', { negotiated: true, id: 40 }));
      const sa = watch(ca);
      const sb = watch(cb);
      await env!.until(() => sa.open && sb.open, 'both negotiated channels open');
      expect(ca.sendText('x')).toBe(true);
      await env!.until(() => sb.messages.length === 1, 'the message');
      expect(sb.messages).toEqual(['x']);
    });
  });
}
