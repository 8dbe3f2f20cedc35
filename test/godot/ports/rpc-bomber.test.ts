/**
 * Godot's multiplayer_bomber demo, ported line by line (rpc-bomber-game.ts),
 * played by 1 host and 3 clients over real node-datachannel on 127.0.0.1,
 * joined through an embedded signaling server. Asserts what the demo relies
 * on: who runs each RPC, get_remote_sender_id(), refusals, ordering, the
 * names list converging, peer_disconnected cleanup, the server leaving, and a
 * game in progress refusing new players.
 */
import { describe, expect, it } from 'vitest';
import { ConnectionStatus } from '../../api.js';
import { Gamestate, ROCKS } from './rpc-bomber-game.js';
import { refusal, runUntil, signalingPerTest } from './rpc-helpers.js';

const games: Gamestate[] = [];
const url = signalingPerTest(games);
let lobbyCount = 0;


function process(lobby: string): Gamestate {
  const g = new Gamestate(url(), lobby);
  games.push(g);
  return g;
}

/** The host and `names.length` clients, each joined in turn, every lobby list complete. */
async function lobby(hostName: string, names: string[]): Promise<[Gamestate, Gamestate[]]> {
  const name = `bomber-${++lobbyCount}`;
  const host = process(name);
  await host.host_game(hostName);
  const clients: Gamestate[] = [];
  for (const n of names) {
    const c = process(name);
    clients.push(c);
    await c.join_game(n);
    await runUntil(games, () => c.signals.includes('connection_succeeded'), `${n} to connect to the server`);
  }
  const everyone = [host, ...clients];
  await runUntil(games, () => everyone.every((g) => g.players.size === everyone.length - 1), 'every player list to hold every other player');
  return [host, clients];
}

/** What refresh_lobby() shows: our name then the others', sorted. */
const lobbyList = (g: Gamestate) => [`${g.playerName} (you)`, ...g.get_player_list().sort()];

describe('multiplayer_bomber ported to WebRTC server/client', () => {
  it('lobby: register_player ("any_peer") converges the names on every peer, with get_remote_sender_id() naming who registered; peer_disconnected unregisters; the server leaving ends it on the clients', async () => {
    const [host, clients] = await lobby('Host', ['Ann', 'Bob', 'Cid']);
    const [ann, bob, cid] = clients as [Gamestate, Gamestate, Gamestate];
    const ids = new Map([host, ann, bob, cid].map((g) => [g, g.uniqueId]));
    expect(host.uniqueId).toBe(1);
    expect(host.peer!.isServer()).toBe(true);
    for (const c of clients) expect(c.peer!.isServer()).toBe(false);

    // Every peer knows every other by the name it registered, keyed by the sender's id.
    for (const g of [host, ...clients]) {
      const expected = [host, ...clients].filter((o) => o !== g).map((o) => [ids.get(o), o.playerName]);
      expect([...g.players].sort((a, b) => a[0] - b[0])).toEqual(expected.sort((a, b) => (a[0] as number) - (b[0] as number)));
      // Each other peer registered exactly once with us (rpc_id on peer_connected), and get_remote_sender_id() was its id.
      const regs = g.ran.filter((r) => r.rpc === 'register_player');
      expect(regs.map((r) => r.sender).sort((a, b) => a - b)).toEqual(expected.map((e) => e[0]).sort((a, b) => (a as number) - (b as number)));
      for (const r of regs) expect(r.args).toEqual([g.players.get(r.sender)]);
      expect(g.errors).toEqual([]);
    }
    expect(lobbyList(ann)).toEqual(['Ann (you)', 'Bob', 'Cid', 'Host']);
    // Outside an RPC, get_remote_sender_id() is 0 (as Godot documents).
    expect(host.net!.getRemoteSenderId()).toBe(0);
    // Clients see "connection_succeeded" once, the server never.
    for (const c of clients) expect(c.signals.filter((s) => s === 'connection_succeeded')).toHaveLength(1);
    expect(host.signals).not.toContain('connection_succeeded');

    // Cid closes the game while in the lobby: everyone unregisters Cid (relayed peer_disconnected on the clients).
    const cidId = cid.uniqueId;
    cid.quit();
    games.splice(games.indexOf(cid), 1);
    await runUntil(games, () => [host, ann, bob].every((g) => !g.players.has(cidId)), 'everyone to unregister Cid');
    expect(lobbyList(host)).toEqual(['Host (you)', 'Ann', 'Bob']);
    expect(lobbyList(bob)).toEqual(['Bob (you)', 'Ann', 'Host']);
    expect(host.signals.at(-1)).toBe('player_list_changed');

    // The server leaves: each client gets server_disconnected → game_error, end_game (players cleared).
    host.quit();
    await runUntil(games, () => [ann, bob].every((g) => g.signals.includes('game_error:Server disconnected')), 'the clients to see the server leave');
    for (const c of [ann, bob]) {
      expect(c.signals.filter((s) => s.startsWith('game_error'))).toEqual(['game_error:Server disconnected']);
      expect(c.signals).toContain('game_ended');
      expect(c.players.size).toBe(0);
      expect(c.peer!.getConnectionStatus()).toBe(ConnectionStatus.DISCONNECTED);
    }
  });

  it('game: load_world / spawn / set_player_name ("call_local") run on the server at once with sender 1 and reach every client in call order; inputs and explosions obey authority; scores converge; a late joiner is refused; a player leaving ends the game on the server', async () => {
    const [host, clients] = await lobby('Host', ['Ann', 'Bob', 'Cid']);
    const [ann, bob, cid] = clients as [Gamestate, Gamestate, Gamestate];
    const everyone = [host, ann, bob, cid];

    host.begin_game();
    // call_local: the server ran everything before rpc() returned, with get_remote_sender_id() = its own id (1), as Godot's rpcp.
    expect(host.world).not.toBeNull();
    expect(host.world!.players.size).toBe(4);
    const hostRuns = host.ran.filter((r) => r.rpc !== 'register_player');
    expect(hostRuns.every((r) => r.sender === 1)).toBe(true);
    expect(hostRuns.map((r) => r.rpc)).toEqual(['load_world', ...Array(4).fill(['player_spawner.spawn', 'player.set_player_name']).flat()]);

    await runUntil(everyone, () => clients.every((c) => c.world !== null && [...c.world.players.values()].every((p) => p.name !== '') && c.world.players.size === 4), 'every client to load the world and name all players');
    for (const c of clients) {
      // Reliable channel, one sender: the clients ran the server's calls in the order it made them, each from sender 1.
      const runs = c.ran.filter((r) => r.rpc !== 'register_player');
      expect(runs.map((r) => [r.rpc, r.args])).toEqual(hostRuns.map((r) => [r.rpc, r.args]));
      expect(runs.every((r) => r.sender === 1)).toBe(true);
      // score.gd: our own label first, then the others — the names agree everywhere.
      expect(new Map([...c.world!.score].map(([id, s]) => [id, s.name]))).toEqual(new Map([...host.world!.score].map(([id, s]) => [id, s.name])));
      expect(c.world!.players.get(c.uniqueId)!.name).toBe(c.playerName);
    }

    // A player joining a game in progress is refused (the server set refuse_new_connections): connection_failed.
    const late = process(host.peer!.lobby!);
    await late.join_game('Late');
    await runUntil(games, () => late.signals.includes('connection_failed'), 'the late player to fail to connect');
    expect(late.peer).toBeNull();
    expect(host.net!.getPeerIds()).toEqual([ann, bob, cid].map((c) => c.uniqueId).sort((a, b) => a - b));
    games.splice(games.indexOf(late), 1);

    // A client may not speak for another player's Inputs (authority: that player's peer): refused on every receiver.
    bob.net!.rpc('inputs.sync', ann.uniqueId, 1, 0, true);
    // An "authority" RPC (rock.exploded) from a client: not executed, on the caller either, and reported.
    cid.net!.rpc('rock.exploded', 0, cid.uniqueId);
    await runUntil(everyone, () => [host, ann].every((g) => g.errors.length >= 2), 'the server and Ann to refuse both calls');
    expect(host.errors.map(refusal)).toEqual(
      expect.arrayContaining([
        { code: 'UNAUTHORIZED_SENDER', senderId: bob.uniqueId, name: 'inputs.sync' },
        { code: 'UNAUTHORIZED_SENDER', senderId: cid.uniqueId, name: 'rock.exploded' },
      ]),
    );
    // Cid's own call_local run was refused at once (the first report), then Bob's relayed inputs reached Cid and were refused there too.
    expect(cid.errors.map(refusal)[0]).toEqual({ code: 'UNAUTHORIZED_SENDER', senderId: cid.uniqueId, name: 'rock.exploded' });
    await runUntil(everyone, () => [ann, cid].every((g) => g.errors.some((e) => e.name === 'inputs.sync')), 'the other clients to refuse Bob\'s inputs for Ann');
    for (const g of [ann, cid]) expect(g.errors.map(refusal)).toContainEqual({ code: 'UNAUTHORIZED_SENDER', senderId: bob.uniqueId, name: 'inputs.sync' });
    for (const g of everyone) {
      expect(g.world!.rocks.size).toBe(ROCKS.length);
      expect(g.world!.players.get(ann.uniqueId)!.inputs.bombing).toBe(false);
    }

    // Ann (spawn point 1, next to both rocks) holds "set_bomb": her InputsSync reaches the server, which spawns the bomb;
    // its explosion (authority only) calls exploded on both rocks and on Ann herself, everywhere.
    ann.keys.bombing = true;
    await runUntil(everyone, () => everyone.every((g) => g.world!.rocks.size === 0 && g.world!.winner !== null), 'both rocks to explode everywhere');
    ann.keys.bombing = false;
    for (const g of everyone) {
      expect(g.world!.score.get(ann.uniqueId)!.score).toBe(2);
      expect([...g.world!.score.values()].reduce((n, s) => n + s.score, 0)).toBe(2);
      expect(g.world!.winner).toBe('Ann');
      expect(g.world!.players.get(ann.uniqueId)!.stunned).toBe(true);
      expect(g.world!.players.get(bob.uniqueId)!.stunned).toBe(false);
      // Every explosion came from the server.
      for (const r of g.ran.filter((x) => x.rpc.endsWith('.exploded') || x.rpc === 'bomb_spawner.spawn')) expect(r.sender).toBe(1);
    }
    // Bob saw Ann's inputs too (the synchronizer replicates to everyone, relayed by the server from Ann).
    expect(bob.errors.map(refusal)).toEqual(expect.arrayContaining([{ code: 'UNAUTHORIZED_SENDER', senderId: cid.uniqueId, name: 'rock.exploded' }]));

    // Bob leaves mid-game: the server shows "Player Bob disconnected" and ends the game; clients only lose Bob.
    const bobId = bob.uniqueId;
    bob.quit();
    games.splice(games.indexOf(bob), 1);
    await runUntil(games, () => host.signals.includes('game_error:Player Bob disconnected'), 'the server to see Bob leave');
    expect(host.world).toBeNull();
    expect(host.players.size).toBe(0);
    expect(host.signals.slice(-2)).toEqual(['game_error:Player Bob disconnected', 'game_ended']);
    await runUntil(games, () => [ann, cid].every((c) => !c.net!.getPeerIds().includes(bobId)), 'the clients to lose Bob');
    for (const c of [ann, cid]) expect(c.world).not.toBeNull(); // gamestate.gd: a client does nothing when another client leaves mid-game
  });
});
