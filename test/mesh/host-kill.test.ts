/**
 * Issue #12 over real components: a game host (`Mesh.host` with a host key,
 * its own process) is killed with SIGKILL and started again within the
 * signaling server's resume grace. The new process reclaims id 1; its client
 * keeps its own id, rebuilds its link to the host and exchanges data with it
 * again. Real node-datachannel on loopback, the real ws signaling server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Mesh, SignalingServer, TransferMode, type LobbyMultiplayerPeer } from '../api.js';
import { pollUntil } from './mesh-helpers.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/host-member.ts', import.meta.url));
const HOST_KEY = 'arena-host-key-1';
let server: SignalingServer;
let url: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  server = new SignalingServer({ hostKey: HOST_KEY, resumeGraceMs: 30_000, pingIntervalMs: 0 });
  ({ url } = await server.listen({ port: 0, host: '127.0.0.1' }));
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await server.close();
});

function startHost(): { child: ChildProcess; out: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, url, 'arena', HOST_KEY], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  return { child, out: () => out };
}

/** Send `byte` to the host and wait for its echo. */
async function echo(client: LobbyMultiplayerPeer, byte: number): Promise<void> {
  client.targetPeer = 1;
  client.transferMode = TransferMode.RELIABLE;
  client.putPacket(new Uint8Array([byte]));
  let got = false;
  await pollUntil([client], () => {
    while (client.getAvailablePacketCount() > 0) {
      const from = client.getPacketPeer();
      const p = client.getPacket()!;
      if (from === 1 && p[0] === 0xee && p[1] === byte) got = true;
    }
    return got;
  }, `the host's echo of ${byte}`, 30_000);
}

it('a host killed with SIGKILL and restarted with its key reclaims id 1; its client keeps its id, reconnects and exchanges data again', async () => {
  const first = startHost();
  let client: LobbyMultiplayerPeer | undefined;
  try {
    // A client of a client_server lobby never creates it: it waits for the host.
    client = await Mesh.join({ signaling: url, lobby: 'arena', mode: 'client_server', waitForHostMs: 30_000, connection: { bindAddress: '127.0.0.1' } });
    const me = client.getUniqueId();
    expect(me).not.toBe(1);
    await pollUntil([client], () => /host 1/.test(first.out()) && client!.getPeer(1)?.connected === true, 'the host (id 1) and the link to it', 30_000);
    await echo(client, 7);

    const events: string[] = [];
    client.on('peer_disconnected', (id) => events.push(`disconnected ${id}`));
    client.on('reconnected', (id) => events.push(`reconnected ${id}`));
    client.on('peer_connected', (id) => events.push(`connected ${id}`));
    first.child.kill('SIGKILL');
    const second = startHost();
    await pollUntil([client], () => /host 1/.test(second.out()), 'the restarted host to reclaim id 1', 30_000);
    await echo(client, 9); // served by the new process: the link was rebuilt
    expect(client.getUniqueId()).toBe(me);
    expect(client.getPeerIds()).toEqual([1]);
    expect(events).not.toContain('disconnected 1');
  } finally {
    client?.close();
  }
}, 90_000);
