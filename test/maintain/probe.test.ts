/**
 * The signaling liveness check (`probe` → `peer_alive`, protocol version 2)
 * that lets a lobby mesh tell a vanished peer (cable cut: its socket is dead
 * but the server has not noticed) from a WebRTC-only outage.
 */
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { BaseSignalingClient, SignalingServer, WebSocketSignalingClient, parseClientMessage, type SignalingLink, type SignalingLinkHandlers } from '../../src/index.js';
import { waitForEvent } from '../helpers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A raw WebSocket member, so the test can stop it from reading (and so from answering pings). */
async function rawMember(url: string, lobby: string): Promise<{ ws: WebSocket; id: number }> {
  const ws = new WebSocket(url);
  cleanups.push(() => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const joined = new Promise<{ id: number; version: number }>((resolve) =>
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { type: string; id: number; version: number };
      if (m.type === 'joined') resolve(m);
    }),
  );
  ws.send(JSON.stringify({ type: 'join', lobby }));
  const m = await joined;
  expect(m.version).toBeGreaterThanOrEqual(2); // probe arrived in protocol 2
  return { ws, id: m.id };
}

describe('signaling probe (liveness check)', () => {
  it('answers peer_alive when the peer answers a ping, and nothing while it cannot or has no socket', async () => {
    const server = new SignalingServer({ resumeGraceMs: 60_000 });
    const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => server.close({ reconnect: false }));
    const prober = new WebSocketSignalingClient(url);
    cleanups.push(() => prober.close());
    const { lobby } = await prober.join();
    const joinedSeen = waitForEvent<[number]>(prober, 'peer_joined');
    const target = await rawMember(url, lobby);
    expect((await joinedSeen)[0]).toBe(target.id);

    // alive
    const alive = waitForEvent<[number]>(prober, 'peer_alive');
    expect(prober.probe(target.id)).toBe(true);
    expect((await alive)[0]).toBe(target.id);

    // the target stops reading (as behind a cut cable): the ping goes unanswered
    const socket = (target.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const answers: number[] = [];
    prober.on('peer_alive', (id) => answers.push(id));
    expect(prober.probe(target.id)).toBe(true);
    // A request the server answers after the probe: by then a live peer's pong could have arrived; this one's cannot.
    const refused = waitForEvent(prober, 'error');
    expect(prober.probe(target.id === 2 ? 3 : 2)).toBe(true); // a peer that never was in the lobby
    expect(String((await refused)[0])).toMatch(/not a peer you can probe/);
    expect(answers).toEqual([]);
    // it reads again: the buffered ping is answered, and so is the probe
    const late = waitForEvent<[number]>(prober, 'peer_alive');
    socket.resume();
    expect((await late)[0]).toBe(target.id);

    // no socket at all: announced once as detached; a probe then gets no answer (and no repeat)
    const seen: string[] = [];
    prober.on('peer_detached', (id) => seen.push(`detached:${id}`));
    prober.on('peer_alive', (id) => seen.push(`alive:${id}`));
    const detached = waitForEvent<[number]>(prober, 'peer_detached');
    target.ws.terminate();
    expect((await detached)[0]).toBe(target.id);
    expect(prober.probe(target.id)).toBe(true);
    const refusedAgain = waitForEvent(prober, 'error');
    expect(prober.probe(target.id === 2 ? 3 : 2)).toBe(true);
    await refusedAgain;
    expect(seen).toEqual([`detached:${target.id}`]);
  });

  it('is validated like any client message, and not sent to a version-1 server', async () => {
    expect(parseClientMessage(JSON.stringify({ type: 'probe', to: 5 }))).toMatchObject({ ok: true });
    expect(parseClientMessage(JSON.stringify({ type: 'probe', to: 0 }))).toMatchObject({ ok: false });
    expect(parseClientMessage(JSON.stringify({ type: 'probe', to: 5, from: 1 }))).toMatchObject({ ok: false });
    const sent: string[] = [];
    class OldServerClient extends BaseSignalingClient {
      constructor() {
        super({}, 'OldServerClient');
      }
      protected openLink(handlers: SignalingLinkHandlers): Promise<SignalingLink> {
        return Promise.resolve({
          send: (text: string) => {
            sent.push((JSON.parse(text) as { type: string }).type);
            if (sent.length === 1) {
              queueMicrotask(() =>
                handlers.message(JSON.stringify({ type: 'joined', lobby: 'x', id: 1, mode: 'mesh', peers: [2], token: 't', resumed: false, sealed: false, version: 1 })),
              );
            }
          },
          close: () => {},
        });
      }
    }
    const client = new OldServerClient();
    cleanups.push(() => client.close());
    expect(client.probe(2)).toBe(false); // not in a lobby yet
    await client.join();
    expect(client.probe(2)).toBe(false); // the server does not know `probe`
    expect(sent).toEqual(['join']);
  });
});
