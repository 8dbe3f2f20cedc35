/**
 * `Mesh.join` uses the `iceServers` the signaling server handed out (issue #14)
 * for every connection unless the caller gave `connection.iceServers`, and
 * refreshed credentials apply to connections created afterwards. Real
 * SignalingServer and node-datachannel on loopback; a recording engine shows
 * the configuration each connection was created with.
 */
import { afterEach, expect, it } from 'vitest';
import { Mesh, SignalingServer, getDefaultEngine, type Engine, type EngineConfig, type LobbyMultiplayerPeer } from '../api.js';
import { waitForEvent } from '../helpers.js';
import { pollUntil } from './mesh-helpers.js';

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function recording(): Engine & { configs: EngineConfig[] } {
  const inner = getDefaultEngine();
  const configs: EngineConfig[] = [];
  return { name: `${inner.name} (recording)`, configs, createConnection: (config, handlers) => (configs.push(config), inner.createConnection(config, handlers)) };
}

it('connections use the lobby-issued iceServers, the caller\'s own iceServers win, and refreshed ones apply to later connections', async () => {
  const server = new SignalingServer({ pingIntervalMs: 0, turn: { secret: 'lobby-secret', urls: ['turn:127.0.0.1:9?transport=udp'], ttlSeconds: 2 } });
  closers.push(() => server.close());
  const url = (await server.listen({ port: 0, host: '127.0.0.1' })).url;
  const join = async (engine: Engine, extra: Record<string, unknown> = {}): Promise<LobbyMultiplayerPeer> => {
    const m = await Mesh.join({ signaling: url, engine, connection: { bindAddress: '127.0.0.1' }, ...extra });
    closers.push(() => m.close());
    return m;
  };
  const ea = recording();
  const a = await join(ea, { mode: 'mesh' });
  const eb = recording();
  const b = await join(eb, { lobby: a.lobby });
  await pollUntil([a, b], () => ea.configs.length === 1 && eb.configs.length === 1, 'both sides created a connection');
  const userOf = (c: EngineConfig) => c.iceServers.map((s) => `${s.url} ${s.username}`);
  expect(userOf(ea.configs[0]!)).toEqual([expect.stringMatching(new RegExp(`^turn:127\\.0\\.0\\.1:9\\?transport=udp \\d+:${a.lobby}:${a.getUniqueId()}$`))]);
  expect(ea.configs[0]!.iceServers[0]!.credential).toMatch(/^[A-Za-z0-9+/]+=*$/);
  expect(userOf(eb.configs[0]!)).toEqual([expect.stringMatching(new RegExp(` \\d+:${a.lobby}:${b.getUniqueId()}$`))]);

  // A caller with its own iceServers keeps them.
  const ec = recording();
  const c = await join(ec, { lobby: a.lobby, connection: { bindAddress: '127.0.0.1', iceServers: [{ urls: 'stun:127.0.0.1:9' }] } });
  await pollUntil([a, b, c], () => ec.configs.length === 2 && ea.configs.length === 2, 'c connected to a and b');
  for (const cfg of ec.configs) expect(cfg.iceServers).toEqual([{ url: 'stun:127.0.0.1:9' }]);
  const firstExpiry = Number(ea.configs[1]!.iceServers[0]!.username!.split(':')[0]);

  // After the refresh (every ttl/2 = 1 s), a's next connection carries a later expiry.
  await waitForEvent(a.signaling, 'ice_servers', () => true, 10_000);
  const ed = recording();
  const d = await join(ed, { lobby: a.lobby });
  await pollUntil([a, b, c, d], () => ea.configs.length === 3, 'a made a connection to d');
  const laterExpiry = Number(ea.configs[2]!.iceServers[0]!.username!.split(':')[0]);
  expect(laterExpiry).toBeGreaterThan(firstExpiry);
});
