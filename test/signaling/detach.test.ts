/**
 * `peer_detached` / `peer_attached`: the server tells the lobby members that
 * can see a peer when its signaling connection drops (resume grace) and when it
 * resumes; clients ignore server message types they do not know.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  BaseSignalingClient,
  MemorySignalingBus,
  parseServerMessage,
  type MemorySignalingClient,
  type SignalingLink,
  type SignalingLinkHandlers,
} from '../api.js';
import { waitForEvent } from './helpers.js';

let bus: MemorySignalingBus | undefined;
afterEach(() => bus?.close());

/** Every peer_detached / peer_attached / peer_left a client emits, as "event:id". */
function record(client: MemorySignalingClient): string[] {
  const seen: string[] = [];
  for (const event of ['peer_detached', 'peer_attached', 'peer_left'] as const) client.on(event, (id: number) => seen.push(`${event}:${id}`));
  return seen;
}

describe('peer_detached / peer_attached', () => {
  it('mesh lobby: every other member learns that a peer dropped and came back, with its id', async () => {
    bus = new MemorySignalingBus();
    const [a, b, c] = [bus.createClient(), bus.createClient(), bus.createClient()];
    await a.join({ lobby: 'det' });
    await b.join({ lobby: 'det' });
    const { id } = await c.join({ lobby: 'det' });
    const seenA = record(a);
    const seenB = record(b);
    const seenC = record(c);
    const attachedA = waitForEvent<[number]>(a, 'peer_attached');
    const attachedB = waitForEvent<[number]>(b, 'peer_attached');
    const serverDetached = waitForEvent<[string, number]>(bus.core, 'peer_detached');
    bus.interrupt(c);
    expect(await serverDetached).toEqual(['det', id]);
    await Promise.all([attachedA, attachedB, waitForEvent(c, 'resumed')]);
    expect(seenA).toEqual([`peer_detached:${id}`, `peer_attached:${id}`]);
    expect(seenB).toEqual([`peer_detached:${id}`, `peer_attached:${id}`]);
    expect(seenC).toEqual([]);
    expect(c.id).toBe(id);
  });

  it('a peer that does not resume in time is detached, then left', async () => {
    bus = new MemorySignalingBus({ resumeGraceMs: 50 });
    const a = bus.createClient();
    const b = bus.createClient({ reconnect: { maxAttempts: 0 } });
    await a.join({ lobby: 'gone' });
    const { id } = await b.join({ lobby: 'gone' });
    const seen = record(a);
    const left = waitForEvent<[number]>(a, 'peer_left');
    bus.interrupt(b);
    await left;
    expect(seen).toEqual([`peer_detached:${id}`, `peer_left:${id}`]);
  });

  it('client_server lobby: the host sees clients detach, clients see only the host', async () => {
    bus = new MemorySignalingBus();
    const [host, c1, c2] = [bus.createClient(), bus.createClient(), bus.createClient()];
    await host.join({ lobby: 'cs', mode: 'client_server' });
    const { id: id1 } = await c1.join({ lobby: 'cs' });
    await c2.join({ lobby: 'cs' });
    const seenHost = record(host);
    const seenC1 = record(c1);
    const seenC2 = record(c2);

    const hostSaw = waitForEvent<[number]>(host, 'peer_attached');
    bus.interrupt(c1);
    await Promise.all([hostSaw, waitForEvent(c1, 'resumed')]);
    expect(seenHost).toEqual([`peer_detached:${id1}`, `peer_attached:${id1}`]);

    // Frames are delivered in order: had c2 been told about c1, it would have
    // heard it before the host's own detach and attach.
    const c1Saw = waitForEvent<[number]>(c1, 'peer_attached');
    const c2Saw = waitForEvent<[number]>(c2, 'peer_attached');
    bus.interrupt(host);
    await Promise.all([c1Saw, c2Saw, waitForEvent(host, 'resumed')]);
    expect(seenC1).toEqual(['peer_detached:1', 'peer_attached:1']);
    expect(seenC2).toEqual(['peer_detached:1', 'peer_attached:1']);
    expect(seenHost).toEqual([`peer_detached:${id1}`, `peer_attached:${id1}`]);
  });
});

/** A client whose "server" answers join and then sends what the test gives it. */
class ScriptedClient extends BaseSignalingClient {
  constructor(private readonly after: string[]) {
    super({}, 'ScriptedClient');
  }

  protected openLink(handlers: SignalingLinkHandlers): Promise<SignalingLink> {
    return Promise.resolve({
      send: (text: string) => {
        if ((JSON.parse(text) as { type: string }).type !== 'join') return;
        queueMicrotask(() => {
          handlers.message(
            JSON.stringify({ type: 'joined', lobby: 'x', id: 1, mode: 'mesh', peers: [], token: 't', resumed: false, sealed: false, version: 1 }),
          );
          for (const text of this.after) handlers.message(text);
        });
      },
      close: () => {},
    });
  }
}

describe('unknown server messages', () => {
  it('are parsed as "unknown", and a client ignores and counts them instead of reporting an error', async () => {
    const parsed = parseServerMessage(JSON.stringify({ type: 'from_the_future', id: 2 }));
    expect(parsed).toMatchObject({ ok: false, unknown: true });
    expect(parseServerMessage(JSON.stringify({ type: 7 }))).toMatchObject({ ok: false });
    expect(parseServerMessage(JSON.stringify({ type: 7 }))).not.toHaveProperty('unknown');
    expect(parseServerMessage(JSON.stringify({ type: 'peer_detached', id: 0 }))).toMatchObject({ ok: false });

    const client = new ScriptedClient([JSON.stringify({ type: 'from_the_future' }), JSON.stringify({ type: 'sealed' })]);
    const errors: unknown[] = [];
    client.on('error', (e) => errors.push(e));
    const sealed = waitForEvent(client, 'sealed');
    await client.join();
    await sealed;
    expect(errors).toEqual([]);
    expect(client.unknownMessages).toBe(1);
    client.close();
  });
});
