import { afterEach, describe, expect, it } from 'vitest';
import { TransferMode, WebRTCMultiplayerPeer, type MultiplayerPeerOptions } from '../api.js';
import { link, pollUntil } from '../mesh/mesh-helpers.js';
import { ManualClock } from './helpers.js';

const live: WebRTCMultiplayerPeer[] = [];
afterEach(() => {
  for (const m of live.splice(0)) m.close();
});

/** A mesh that wants to reconnect but whose attempts never get anywhere (its Reconnector records them). */
function stubborn(clk: ManualClock, options: MultiplayerPeerOptions): WebRTCMultiplayerPeer & { attempts: [number, number][] } {
  const attempts: [number, number][] = [];
  const mesh = new WebRTCMultiplayerPeer({
    ...options,
    clock: clk,
    reconnector: { canReconnect: () => true, startAttempt: (_id, attempt) => void attempts.push([attempt, clk.t]) },
  });
  return Object.assign(mesh, { attempts });
}

describe('reconnection state machine (manual clock)', () => {
  it('backs off between attempts, holds reliable packets, drops unreliable ones, and gives up after maxAttempts', async () => {
    const clock = new ManualClock();
    const a = stubborn(clock, { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 100_000, reconnect: { attemptTimeoutMs: 1000, backoffMs: 100, maxBackoffMs: 300, maxAttempts: 4, giveUpMs: 100_000 } });
    const b = new WebRTCMultiplayerPeer();
    live.push(a, b);
    a.createMesh(3);
    b.createMesh(2);
    link(a, b);
    await pollUntil([a, b], () => a.getPeerIds().length === 1 && b.getPeerIds().length === 1, 'the link');
    const events: string[] = [];
    a.on('link_lost', (id, reason) => events.push(`lost:${id}:${reason}:${clock.t}`));
    a.on('reconnecting', (id, n) => events.push(`reconnecting:${id}:${n}:${clock.t}`));
    a.on('peer_disconnected', (id, reason) => events.push(`disconnected:${id}:${reason}:${clock.t}`));
    a.on('peer_connected', (id) => events.push(`connected:${id}`));
    const t0 = clock.t;
    a.getPeer(2)!.connection.close();
    a.poll();
    expect(events).toEqual([`lost:2:connection closed:${t0}`]);
    expect(a.getPeerIds()).toEqual([2]);
    expect(a.getPeer(2)!.state).toBe('reconnecting');
    // while down: reliable held for replay, unreliable dropped, nothing thrown
    a.targetPeer = 2;
    a.putPacket(new Uint8Array([1]));
    a.transferMode = TransferMode.UNRELIABLE;
    a.putPacket(new Uint8Array([2]));
    const s = a.getLinkStats(2)!;
    expect(s.channels[0]!.replayBuffered).toBe(1);
    expect(s.channels[2]!.droppedWhileDown).toBe(1);
    for (let i = 0; i < 120 && a.hasPeer(2); i++) {
      a.poll();
      clock.t += 50;
    }
    expect(a.attempts).toEqual([
      [1, t0],
      [2, t0 + 1100],
      [3, t0 + 2300],
      [4, t0 + 3600],
    ]);
    expect(events.slice(1, 5)).toEqual([1, 2, 3, 4].map((n, i) => `reconnecting:2:${n}:${a.attempts[i]![1]}`));
    expect(events[5]).toBe(`disconnected:2:link lost (connection closed) and reconnection failed: no attempt succeeded after 4 attempt(s) in 4600 ms:${t0 + 4600}`);
    expect(events).toHaveLength(6);
    expect(a.hasPeer(2)).toBe(false);
  });

  it('gives up at giveUpMs even with attempts left', async () => {
    const clock = new ManualClock();
    const a = stubborn(clock, { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 100_000, reconnect: { attemptTimeoutMs: 1000, backoffMs: 0, maxAttempts: 100, giveUpMs: 2500 } });
    const b = new WebRTCMultiplayerPeer();
    live.push(a, b);
    a.createMesh(3);
    b.createMesh(2);
    link(a, b);
    await pollUntil([a, b], () => a.getPeerIds().length === 1, 'the link');
    let reason = '';
    a.on('peer_disconnected', (_id, r) => (reason = r ?? ''));
    const t0 = clock.t;
    a.getPeer(2)!.connection.close();
    while (a.hasPeer(2) && clock.t < t0 + 10_000) {
      a.poll();
      clock.t += 100;
    }
    expect(clock.t - 100 - t0).toBe(2500);
    expect(reason).toMatch(/not back within 2500 ms after 3 attempt\(s\)/);
  });
});
