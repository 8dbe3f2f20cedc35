/**
 * The RPC layer over real node-datachannel meshes on loopback: a 3-peer full
 * mesh and a server with two clients (built by hand, as in test/mesh).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { FrameKind } from '../../src/rpc/codec.js';
import { TransferMode } from '../../src/mesh/types.js';
import type { WebRTCMultiplayerPeer } from '../../src/mesh/index.js';
import { fullMesh, star } from '../mesh/mesh-helpers.js';
import { CHANNEL_RPCS, CUSTOM_CHANNELS, World, rawMessage, registerChannels, roundTripAll, runChannelMatrix, runDisabledMatrix, runMatrix } from './harness.js';

const live: WebRTCMultiplayerPeer[] = [];
const track = (ms: WebRTCMultiplayerPeer[]) => (live.push(...ms), ms);
afterEach(() => {
  for (const m of live.splice(0)) m.close();
});

type WorldOptions = ConstructorParameters<typeof World>[1];
type Register = ConstructorParameters<typeof World>[2];

async function meshWorld(options?: WorldOptions, register?: Register, channels: TransferMode[] = []) {
  const meshes = track(await fullMesh([1, 2, 3], channels));
  const world = new World(meshes, options, register);
  await world.ready();
  // Endpoints were created on already-open links and registered afterwards: one HELLO, no spurious mismatch.
  expect(world.errors).toEqual([]);
  return { meshes, world };
}

async function starWorld(options?: WorldOptions, register?: Register, channels: TransferMode[] = []) {
  const [server, clients] = await star([2, 3], channels);
  const meshes = track([server, ...clients]);
  const world = new World(meshes, options, register);
  await world.ready();
  // Endpoints were created on already-open links and registered afterwards: one HELLO, no spurious mismatch.
  expect(world.errors).toEqual([]);
  return { meshes, world };
}

describe('RPC over a real 3-peer mesh', () => {
  it('every mode / callLocal / target runs on exactly the expected peers with the expected sender', async () => {
    const { world } = await meshWorld();
    expect(world.ep(1).usesMethodIds(2)).toBe(true);
    expect(await runMatrix(world)).toBeGreaterThan(50);
  });

  it('unreliable, ordered and custom channels: every target, ctx.channel and ctx.mode as sent; disabled RPCs refused', async () => {
    const { world } = await meshWorld(undefined, registerChannels, CUSTOM_CHANNELS);
    for (const rpc of CHANNEL_RPCS) await runChannelMatrix(world, rpc);
    expect(await runDisabledMatrix(world)).toBe(12); // 2 callers × 6 targets (-self is refused at the call site)
  });

  it('request/response round-trips every msgpack type', async () => {
    const { world } = await meshWorld({ maxMessageSize: 200_000 });
    expect(await roundTripAll(world, 1, 3)).toBeGreaterThan(15);
  });

  it('10 000 RPCs in one tick arrive complete and in order on a reliable channel', async () => {
    const { world } = await meshWorld();
    const sent = world.ep(2).getStats().messagesSent;
    for (let i = 0; i < 10_000; i++) world.ep(2).rpcId(3, 'seq', i);
    world.ep(2).flush();
    const messages = world.ep(2).getStats().messagesSent - sent;
    expect(messages).toBeGreaterThanOrEqual(1);
    expect(messages).toBeLessThan(50);
    const seq = () => world.log.filter((r) => r.name === 'seq');
    await world.pump(() => seq().length >= 10_000, '10 000 calls arrive');
    expect(seq().map((r) => r.args[0])).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
    expect(seq().every((r) => r.at === 3 && r.sender === 2)).toBe(true);
  });

  it('a timeout and a disconnect reject pending requests', async () => {
    let now = 0;
    const { world, meshes } = await meshWorld({ clock: { now: () => now } });
    const timedOut = world.ep(1).request(2, 'never'); // timeoutMs 100
    world.round();
    now = 150;
    await expect(world.settle(timedOut)).rejects.toMatchObject({ code: ErrorCode.TIMEOUT });
    const cancelled = world.ep(1).request(3, 'never');
    world.round();
    meshes[2]!.close(); // peer 3 leaves
    world.endpoints.delete(3);
    await expect(world.settle(cancelled)).rejects.toMatchObject({ code: ErrorCode.PEER_DISCONNECTED });
  });
});

describe('RPC over a real server and two clients', () => {
  it('every mode / callLocal / target, client traffic relayed by peer 1', async () => {
    const { world, meshes } = await starWorld();
    expect(meshes[1]!.getPeerIds()).toEqual([1]);
    expect(await runMatrix(world)).toBeGreaterThan(50);
  });

  it('unreliable, ordered and custom channels relayed by peer 1 keep their channel and mode; disabled RPCs refused', async () => {
    const { world } = await starWorld(undefined, registerChannels, CUSTOM_CHANNELS);
    const relayed = world.ep(1).getStats().framesRelayed;
    for (const rpc of CHANNEL_RPCS) await runChannelMatrix(world, rpc);
    expect(world.ep(1).getStats().framesRelayed).toBeGreaterThan(relayed);
    expect(await runDisabledMatrix(world)).toBe(12); // 2 callers × 6 targets (-self is refused at the call site)
  });

  it('a client-to-client rpcId arrives via peer 1 with the original sender; requests relay both ways', async () => {
    const { world } = await starWorld({ maxMessageSize: 200_000 });
    const relayed = world.ep(1).getStats().framesRelayed;
    world.ep(2).rpcId(3, 'seq', 99);
    await world.barrier();
    expect(world.log.filter((r) => r.name === 'seq')).toEqual([{ at: 3, sender: 2, name: 'seq', args: [99] }]);
    expect(world.ep(1).getStats().framesRelayed).toBeGreaterThan(relayed);
    expect(await roundTripAll(world, 2, 3)).toBeGreaterThan(15);
  });

  it('peer 1 drops relays with a forged origin or aimed back at their origin, sent over the real link', async () => {
    const { world, meshes } = await starWorld();
    const client = meshes[1]!; // peer 2, bypassing its endpoint
    const sum = world.ep(2).getTableChecksum();
    client.targetPeer = 1;
    client.transferChannel = 0;
    client.transferMode = TransferMode.RELIABLE;
    client.putPacket(rawMessage(sum, [FrameKind.RELAY, 3, 3, [FrameKind.CALL, 'seq', [1]]])); // claims to be peer 3
    client.putPacket(rawMessage(sum, [FrameKind.RELAY, 2, 2, [FrameKind.CALL, 'seq', [2]]])); // back to itself
    client.putPacket(rawMessage(sum, [FrameKind.RELAY, 3, 2, [FrameKind.CALL, 'seq', [3]]])); // honest
    await world.barrier();
    expect(world.log.filter((r) => r.name === 'seq').map((r) => [r.at, r.sender, r.args[0]])).toEqual([[3, 2, 3]]);
    expect(world.errors.map((e) => [e.code, e.at, e.senderId])).toEqual([
      ['FORGED_SENDER', 1, 2],
      ['UNKNOWN_TARGET', 1, 2],
    ]);
  });

  it('an authority-only RPC from a client is dropped and reported', async () => {
    const { world } = await starWorld();
    world.ep(3).rpc('m_authority_remote', 1);
    await world.barrier();
    expect(world.log.filter((r) => r.name === 'm_authority_remote')).toEqual([]);
    const refused = world.errors.filter((e) => e.code === 'UNAUTHORIZED_SENDER');
    expect(refused.map((e) => [e.at, e.senderId]).sort()).toEqual([[1, 3], [2, 3]]);
  });
});
