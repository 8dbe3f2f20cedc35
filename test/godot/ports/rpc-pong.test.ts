/**
 * Godot's multiplayer_pong demo, ported line by line (rpc-pong-game.ts),
 * played by a host and a client over real node-datachannel on 127.0.0.1,
 * joined through an embedded signaling server; a third player is refused, as
 * the demo's one-client server refuses it. Asserts what the demo relies on:
 * per-node authority of the paddles (unreliable position sync, refused from
 * the wrong peer), "any_peer" + "call_local" RPCs running on both sides with
 * get_remote_sender_id() naming the caller, reliable ordering of the scores,
 * the scores converging to a winner, and the disconnect paths.
 */
import { describe, expect, it } from 'vitest';
import { PongLobby } from './rpc-pong-game.js';
import { refusal, runUntil, signalingPerTest } from './rpc-helpers.js';

const games: PongLobby[] = [];
const url = signalingPerTest(games);
let lobbies = 0;

/** Host, then join: both scenes up (peer_connected on both sides). */
async function match(): Promise<[PongLobby, PongLobby, string]> {
  const lobby = `pong-${++lobbies}`;
  const server = new PongLobby(url(), lobby, 1);
  const client = new PongLobby(url(), lobby, 2);
  games.push(server, client);
  await server._on_host_pressed();
  expect(server.statusOk).toBe('Waiting for player...');
  await client._on_join_pressed();
  await runUntil(games, () => server.pong !== null && client.pong !== null, 'both peers to start the game');
  return [server, client, lobby];
}

describe('multiplayer_pong ported to WebRTC server/client', () => {
  it('paddles: each authority syncs its own paddle ("unreliable"); the other side applies it; the wrong peer is refused', async () => {
    const [server, client] = await match();
    const s = server.pong!;
    const c = client.pong!;
    const clientId = client.peer!.getUniqueId();
    // pong.gd _ready(): Player1 stays the server's, Player2 is the client's, on both sides.
    expect(server.net!.getAuthority('Player2.set_pos_and_motion')).toBe(clientId);
    expect(client.net!.getAuthority('Player2.set_pos_and_motion')).toBe(clientId);
    expect([s.player1.isAuthority(), s.player2.isAuthority(), c.player1.isAuthority(), c.player2.isAuthority()]).toEqual([true, false, false, true]);

    // Each player holds "move_up" until its paddle reaches the top; the other side follows.
    s.player1.axis = -1;
    c.player2.axis = -1;
    await runUntil(games, () => s.player1.position.y === 16 && c.player2.position.y === 16, 'both paddles to reach the top');
    s.player1.axis = 0;
    c.player2.axis = 0;
    await runUntil(games, () => c.player1.position.y === 16 && s.player2.position.y === 16 && c.player1.motion === 0 && s.player2.motion === 0, 'each side to see the other paddle at the top, stopped');
    for (const [lobby, other] of [[server, clientId], [client, 1]] as const) {
      const syncs = lobby.ran.filter((r) => r.rpc.endsWith('.set_pos_and_motion'));
      expect(syncs.length).toBeGreaterThan(0);
      for (const r of syncs) expect([r.rpc, r.sender]).toEqual([other === 1 ? 'Player1.set_pos_and_motion' : 'Player2.set_pos_and_motion', other]);
    }
    expect(server.errors).toEqual([]);
    expect(client.errors).toEqual([]);

    // The server moving the client's paddle: refused by the client (authority is the client), not applied.
    server.net!.rpc('Player2.set_pos_and_motion', 608, 300, 0);
    client.net!.rpc('Player1.set_pos_and_motion', 32, 300, 0);
    await runUntil(games, () => server.errors.length > 0 && client.errors.length > 0, 'both refusals');
    expect(client.errors.map(refusal)).toEqual([{ code: 'UNAUTHORIZED_SENDER', senderId: 1, name: 'Player2.set_pos_and_motion' }]);
    expect(server.errors.map(refusal)).toEqual([{ code: 'UNAUTHORIZED_SENDER', senderId: clientId, name: 'Player1.set_pos_and_motion' }]);
    expect(c.player2.position.y).toBe(16);
    expect(s.player1.position.y).toBe(16);
  });

  it('a full game: bounce / update_score / _reset_ball / stop ("any_peer", "call_local") run on both sides, from the caller; scores arrive in order and converge on a winner; a third player is refused', async () => {
    const [server, client, lobby] = await match();
    const clientId = client.peer!.getUniqueId();

    // A third player: the server takes one client only. connection_failed → "Couldn't connect.", peer removed.
    const third = new PongLobby(url(), lobby, 3);
    games.push(third);
    await third._on_join_pressed();
    await runUntil(games, () => third.statusFail === "Couldn't connect.", 'the third player to fail to connect');
    expect(third.peer).toBeNull();
    expect(server.net!.getPeerIds()).toEqual([clientId]);

    // Play: the ball runs by itself, the paddles stay where they are.
    await runUntil(games, () => [server, client].every((l) => l.pong!.exitShown && l.pong!.ball.stopped), 'the game to end on both sides', 60_000);
    await runUntil(
      games,
      () => server.pong!.scoreLeft === client.pong!.scoreLeft && server.pong!.scoreRight === client.pong!.scoreRight,
      'the scores to converge',
    );
    const calls = (l: PongLobby, from: number) => l.ran.filter((r) => r.sender === from && !r.rpc.endsWith('.set_pos_and_motion')).map((r) => [r.rpc, r.args]);
    const ids = [1, clientId];
    // The last calls (the other side's Ball.stop) may still be on their way: wait until each side ran as many of the other's calls as it made.
    await runUntil(games, () => ids.every((id) => calls(server, id).length === calls(client, id).length), 'every call to reach the other side');
    const s = server.pong!;
    const c = client.pong!;
    expect(Math.max(s.scoreLeft, s.scoreRight)).toBeGreaterThanOrEqual(10);
    expect([c.winnerLeft, c.winnerRight]).toEqual([s.winnerLeft, s.winnerRight]);
    expect(s.winnerLeft || s.winnerRight).toBe(true);

    for (const [me, other] of [[server, client], [client, server]] as const) {
      const myId = me.peer!.getUniqueId();
      const otherId = other.peer!.getUniqueId();
      // call_local: every call ran on the caller (sender = its own id) and, in the same order, on the other side (reliable channel).
      expect(calls(other, myId)).toEqual(calls(me, myId));
      // Only the server decides left outs (update_score(false)), only the client right outs (update_score(true)).
      for (const r of me.ran.filter((x) => x.rpc === 'Pong.update_score')) expect(r.args).toEqual([r.sender !== 1]);
      // Bounces: the paddle's authority (server for Player1 / left, client for Player2 / right) drew the random number; both sides agree.
      for (const r of me.ran.filter((x) => x.rpc === 'Ball.bounce')) expect(r.args[0]).toBe(r.sender === 1);
      expect(me.ran.some((r) => r.rpc === 'Ball.stop')).toBe(true);
      expect(me.errors).toEqual([]);
      void otherId;
    }
    // The ball's first trip left meets Player1 (both start at mid-height): the server, its authority, bounced it.
    expect(client.ran.some((r) => r.rpc === 'Ball.bounce' && r.sender === 1)).toBe(true);
    // Both players saw the score rise one point at a time, in the order the points were made on each side.
    expect(s.scoreLeft + s.scoreRight).toBe(server.ran.filter((r) => r.rpc === 'Pong.update_score').length);
  });

  it('exit: the client presses "Exit game" (deferred game_finished → _end_game) and the server ends with "Client disconnected."; or the server leaves and the client ends with "Server disconnected."', async () => {
    const [server, client] = await match();
    client.pong!._on_exit_game_pressed();
    await runUntil(games, () => server.statusFail === 'Client disconnected.', 'the server to see the client leave');
    expect(client.pong).toBeNull();
    expect(client.peer).toBeNull();
    expect(client.statusFail).toBe('');
    expect([client.hostDisabled, client.joinDisabled]).toEqual([false, false]);
    expect(server.pong).toBeNull();
    expect(server.peer).toBeNull();

    const [server2, client2] = await match();
    server2.quit();
    await runUntil(games, () => client2.statusFail === 'Server disconnected.', 'the client to see the server leave');
    expect(client2.pong).toBeNull();
    expect(client2.peer).toBeNull();
    // The paddle's unreliable updates sent after the server's channels closed, before the next poll removed peer 1,
    // were dropped and counted like packets for a link that is down: nothing is reported.
    expect(client2.errors).toEqual([]);
  });
});
