/**
 * A refused join fails at once (signaling protocol 5, `refuse`), over a real
 * signaling server and real node-datachannel on loopback: a client refused
 * by the host of a client_server lobby (Godot's `connection_failed`), a mesh
 * joiner refused by one member (the others link to it), and a host that
 * accepts clients again.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionStatus, ErrorCode, Mesh, RtcmeshError, SignalingServer, WebSocketSignalingClient, isRtcmeshError, type LobbyMultiplayerPeer } from '../api.js';
import { pollUntil, settle } from './mesh-helpers.js';

const connection = { bindAddress: '127.0.0.1' };
/** ready()'s timeout: far longer than any test here may take, so a rejection is the refusal, not the deadline. */
const LONG = 60_000;
let server: SignalingServer;
let url: string;
const meshes: LobbyMultiplayerPeer[] = [];
const clients: WebSocketSignalingClient[] = [];

beforeEach(async () => {
  server = new SignalingServer({ resumeGraceMs: 200, pingIntervalMs: 0 });
  url = (await server.listen({ port: 0, host: '127.0.0.1' })).url;
});
afterEach(async () => {
  for (const m of meshes.splice(0)) m.close();
  for (const c of clients.splice(0)) c.close();
  await server.close();
});


function rejection(outcome: { ok: true } | { ok: false; error: unknown }): RtcmeshError {
  expect(outcome.ok).toBe(false);
  const error = (outcome as { error: unknown }).error;
  expect(isRtcmeshError(error)).toBe(true);
  return error as RtcmeshError;
}

describe('a refused join fails at once', () => {
  it('client_server: the host refuses a new client: its ready() rejects with UNAUTHORIZED, connection_failed fires, it leaves the lobby; once the host accepts again a new client connects', async () => {
    const host = await Mesh.host({ signaling: url, connection });
    meshes.push(host);
    host.refuseNewConnections = true;

    const client = await Mesh.join({ signaling: url, connection, lobby: host.lobby });
    meshes.push(client);
    const failed: RtcmeshError[] = [];
    const refused: number[] = [];
    client.on('connection_failed', (e) => failed.push(e));
    client.on('link_refused', (id) => refused.push(id));
    expect(client.getConnectionStatus()).toBe(ConnectionStatus.CONNECTING);

    const error = rejection(await settle([host, client], client.ready(LONG)));
    expect(error.code).toBe(ErrorCode.UNAUTHORIZED);
    expect(error.message).toContain('the host (peer 1) refused this client');
    expect(error.message).toContain('turn refuseNewConnections off');
    // Godot's connection_failed: emitted once, with the same error; the status fell from CONNECTING to DISCONNECTED.
    expect(failed).toEqual([error]);
    expect(refused).toEqual([1]);
    expect(client.getConnectionStatus()).toBe(ConnectionStatus.DISCONNECTED);
    expect(client.getPeerIds()).toEqual([]);
    expect(client.refusedBy).toEqual([1]);
    // A ready() asked later rejects at the next poll too (nothing to wait for).
    expect(rejection(await settle([host, client], client.ready(LONG))).code).toBe(ErrorCode.UNAUTHORIZED);
    // The refused client left the lobby: the server holds the host only, and the host never had it as a peer.
    await pollUntil([host, client], () => server.getStats().peers === 1, 'the refused client to leave the lobby');
    expect(host.getPeerIds()).toEqual([]);
    expect(host.getPeer(client.getUniqueId())).toBeUndefined();

    // (d) The host accepts clients again: a new joiner connects normally.
    host.refuseNewConnections = false;
    const late = await Mesh.join({ signaling: url, connection, lobby: host.lobby });
    meshes.push(late);
    const lateFailed: RtcmeshError[] = [];
    late.on('connection_failed', (e) => lateFailed.push(e));
    expect((await settle([host, client, late], late.ready(LONG))).ok).toBe(true);
    expect(late.getConnectionStatus()).toBe(ConnectionStatus.CONNECTED);
    expect(late.getPeerIds()).toEqual([1]);
    await pollUntil([host, late], () => host.getPeerIds().includes(late.getUniqueId()), 'the host to see the new client connected');
    expect(lateFailed).toEqual([]);
    expect(late.refusedBy).toEqual([]);
  });

  it('mesh: one member refuses the joiner: its ready() rejects naming that member; the joiner stays in the lobby and the others link to it', async () => {
    const a = await Mesh.join({ signaling: url, connection, mode: 'mesh' });
    const b = await Mesh.join({ signaling: url, connection, lobby: a.lobby });
    meshes.push(a, b);
    expect((await settle([a, b], b.ready(LONG))).ok).toBe(true);
    a.refuseNewConnections = true;

    const joiner = await Mesh.join({ signaling: url, connection, lobby: a.lobby });
    meshes.push(joiner);
    const all = [a, b, joiner];
    const refused: [number, RtcmeshError][] = [];
    const failed: RtcmeshError[] = [];
    joiner.on('link_refused', (id, e) => refused.push([id, e]));
    joiner.on('connection_failed', (e) => failed.push(e));

    const error = rejection(await settle(all, joiner.ready(LONG)));
    expect(error.code).toBe(ErrorCode.UNAUTHORIZED);
    expect(/peer\(s\) ([\d, ]+) refused/.exec(error.message)?.[1]).toBe(String(a.getUniqueId())); // only a is named
    expect(refused.map(([id]) => id)).toEqual([a.getUniqueId()]);
    expect(refused[0]![1].code).toBe(ErrorCode.UNAUTHORIZED);
    expect(failed).toEqual([]); // a mesh has no server connection to fail (Godot: CONNECTED at create_mesh)
    expect(joiner.refusedBy).toEqual([a.getUniqueId()]);
    expect(joiner.getPeer(a.getUniqueId())).toBeUndefined();

    // The joiner stays in the lobby, linked to the member that accepted it; the refuser has no link to it.
    await pollUntil(all, () => joiner.getPeer(b.getUniqueId())?.state === 'connected' && b.getPeer(joiner.getUniqueId())?.state === 'connected', 'b and the joiner to link');
    expect(joiner.getConnectionStatus()).toBe(ConnectionStatus.CONNECTED);
    expect(joiner.signaling.lobby).toBe(a.lobby);
    expect(a.getPeer(joiner.getUniqueId())).toBeUndefined();
    expect(a.getPeer(b.getUniqueId())!.state).toBe('connected');
    expect(server.getStats().peers).toBe(3);
    // Packets flow over the accepted link.
    joiner.targetPeer = b.getUniqueId();
    joiner.putPacket(new Uint8Array([7]));
    await pollUntil(all, () => b.getAvailablePacketCount() > 0, 'b to receive the joiner packet');
    expect(b.getPacketPeer()).toBe(joiner.getUniqueId());
    expect([...b.getPacket()!]).toEqual([7]);
  });

  it('the refuser tells a refused peer once, however many offers and candidates it sends; a peer it dropped and then refuses is told once when it offers again', async () => {
    // a's signaling client, recording every refusal it sends and counting the descriptions it receives.
    const signaling = new WebSocketSignalingClient(url);
    const told: number[] = [];
    const send = signaling.refuse.bind(signaling);
    signaling.refuse = (to, code) => {
      told.push(to);
      return send(to, code);
    };
    let heard = 0;
    signaling.on('description', () => heard++);
    const a = await Mesh.join({ signaling, closeSignaling: true, connection, mode: 'mesh' });
    meshes.push(a);
    a.refuseNewConnections = true;

    // A plain signaling client (no mesh): it joins, hears the refusal, and keeps negotiating anyway.
    const j = new WebSocketSignalingClient(url);
    clients.push(j);
    const jRefused: [number, string][] = [];
    j.on('refused', (from, code) => jRefused.push([from, code]));
    const { id: jid } = await j.join({ lobby: a.lobby });
    await pollUntil([a], () => jRefused.length === 1, 'j to be told of the refusal');
    expect(jRefused).toEqual([[a.getUniqueId(), 'UNAUTHORIZED']]);
    for (let i = 0; i < 3; i++) j.sendDescription(a.getUniqueId(), 'offer', `v=0 offer ${i}`);
    j.sendCandidate(a.getUniqueId(), '0', 0, 'candidate:1 1 udp 1 127.0.0.1 9 typ host');
    await pollUntil([a], () => heard === 3, 'a to receive the three offers');
    a.poll();
    expect(told).toEqual([jid]);
    expect(a.getPeer(jid)).toBeUndefined();

    // A peer a accepted, then dropped (removePeer) while refusing: its next offer is answered with one refusal.
    a.refuseNewConnections = false;
    const k = new WebSocketSignalingClient(url);
    clients.push(k);
    const kRefused: number[] = [];
    k.on('refused', (from) => kRefused.push(from));
    const { id: kid } = await k.join({ lobby: a.lobby });
    await pollUntil([a], () => a.getPeer(kid) !== undefined, 'a to add k');
    a.removePeer(kid);
    a.refuseNewConnections = true;
    for (let i = 0; i < 3; i++) k.sendDescription(a.getUniqueId(), 'offer', `v=0 offer ${i}`);
    await pollUntil([a], () => heard === 6 && kRefused.length === 1, 'k to be told of the refusal');
    a.poll();
    expect(told).toEqual([jid, kid]);
    expect(kRefused).toEqual([a.getUniqueId()]);
    expect(a.getPeer(kid)).toBeUndefined();
    expect(jRefused).toHaveLength(1);
  });
});
