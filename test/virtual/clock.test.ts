/**
 * The virtual clock and the network's lifecycle.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ChannelState, ErrorCode, WebRTCPeerConnection, isRtcmeshError } from '../api.js';
import { Rng, VirtualClock, VirtualNetwork } from '../../src/transport/virtual/index.js';
import type { Clock } from '../../src/util/clock.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isRtcmeshError(err) ? err.code : 'not an RtcmeshError';
  }
  return undefined;
}

describe('virtual clock', () => {
  it('runs events in time order, ties in scheduling order, and only when advanced', () => {
    const clock = new VirtualClock();
    const order: string[] = [];
    const task = { fire: (arg: unknown) => order.push(`${arg as string}@${clock.now()}`) };
    clock.schedule(30, task, 'c');
    clock.schedule(10, task, 'a');
    clock.schedule(10, task, 'b');
    const cancelled = clock.schedule(20, task, 'x');
    clock.cancel(cancelled);
    expect(order).toEqual([]);
    clock.advance(15);
    expect(order).toEqual(['a@10', 'b@10']);
    expect(clock.now()).toBe(15);
    clock.advance(100);
    expect(order).toEqual(['a@10', 'b@10', 'c@30']);
    expect(clock.now()).toBe(115);
    expect(clock.pending()).toBe(0);
  });

  it('keeps scheduling order among many same-time events, also when runUntil stops among them', () => {
    const clock = new VirtualClock();
    const order: number[] = [];
    const task = {
      fire: (arg: unknown) => {
        const n = arg as number;
        order.push(n);
        if (n === 2) clock.schedule(clock.now(), task, 100); // same instant, runs after everything already queued
      },
    };
    for (let i = 0; i < 5; i++) clock.schedule(10, task, i);
    clock.schedule(5, task, -1);
    for (let i = 5; i < 8; i++) clock.schedule(10, task, i);
    clock.cancel(clock.schedule(10, task, 99));
    expect(clock.runUntil(() => order.length === 3, { maxMs: 100 })).toBe(true);
    expect(order).toEqual([-1, 0, 1]);
    clock.advance(100);
    expect(order).toEqual([-1, 0, 1, 2, 3, 4, 5, 6, 7, 100]);
    expect(clock.pending()).toBe(0);
  });

  it('implements Clock and never goes backwards', () => {
    const clock: Clock = new VirtualNetwork().clock;
    const t = clock.now();
    (clock as VirtualClock).advance(0);
    expect(clock.now()).toBe(t);
    (clock as VirtualClock).advance(12.5);
    expect(clock.now()).toBe(t + 12.5);
  });

  it('runUntil stops as soon as the predicate holds, or reports false at maxMs', () => {
    const clock = new VirtualClock();
    let fired = false;
    clock.schedule(250, { fire: () => (fired = true) });
    expect(clock.runUntil(() => fired, { maxMs: 1000 })).toBe(true);
    expect(clock.now()).toBe(250);
    expect(clock.runUntil(() => false, { maxMs: 500 })).toBe(false);
    expect(clock.now()).toBe(750);
  });

  it('validates its arguments and refuses manual advance in real time', () => {
    const clock = new VirtualClock();
    expect(code(() => clock.advance(-1))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(code(() => clock.advance(Number.NaN))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(code(() => clock.runUntil(() => true, { maxMs: 5, every: 1 } as never))).toBe(ErrorCode.UNKNOWN_OPTION);
    expect(code(() => clock.runUntil('yes' as never))).toBe(ErrorCode.INVALID_ARGUMENT);
    const rt = new VirtualNetwork({ clock: 'realtime' });
    expect(code(() => rt.advance(10))).toBe(ErrorCode.INVALID_STATE);
    rt.close();
  });

  it('refuses advance() from inside a network event', () => {
    const clock = new VirtualClock();
    let inner: string | undefined;
    clock.schedule(1, { fire: () => (inner = code(() => clock.advance(1))) });
    clock.advance(5);
    expect(inner).toBe(ErrorCode.INVALID_STATE);
  });

  it('real-time mode holds no timer when idle and close() releases everything', () => {
    const net = new VirtualNetwork({ clock: 'realtime' });
    const a = net.createHost();
    const b = net.createHost();
    expect(net.clock.pending()).toBe(0);
    const noop = () => {};
    const handlers = { localDescription: noop, localCandidate: noop, stateChange: noop, gatheringStateChange: noop, signalingStateChange: noop, dataChannel: noop };
    const c1 = a.engine.createConnection({ iceServers: [], iceTransportPolicy: 'all' }, handlers);
    b.engine.createConnection({ iceServers: [], iceTransportPolicy: 'all' }, handlers);
    c1.createDataChannel({ label: 'x', protocol: '', negotiated: false, ordered: true });
    c1.createOffer();
    expect(net.clock.pending()).toBeGreaterThan(0);
    net.close();
    expect(net.clock.pending()).toBe(0);
    expect(a.connectionCount() + b.connectionCount()).toBe(0);
    expect(code(() => net.createHost())).toBe(ErrorCode.CLOSED);
  });

  it('the seeded generator is reproducible and uniform enough', () => {
    const x = new Rng(42, 's');
    const y = new Rng(42, 's');
    const z = new Rng(42, 't');
    const xs = Array.from({ length: 5 }, () => x.nextUint32());
    expect(Array.from({ length: 5 }, () => y.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => z.nextUint32())).not.toEqual(xs);
    let sum = 0;
    for (let i = 0; i < 100_000; i++) sum += x.next();
    expect(Math.abs(sum / 100_000 - 0.5)).toBeLessThan(0.005);
  });
});

describe('real-time mode', () => {
  it('a process whose connections are all closed exits by itself', () => {
    const fixture = fileURLToPath(new URL('./fixtures/realtime-exit.ts', import.meta.url));
    const child = spawnSync(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8', timeout: 30_000 });
    expect(child.error).toBeUndefined();
    expect(child.stdout).toMatch(/done pending=\d+/); // packets still in flight land, then nothing is left
    expect(child.status).toBe(0);
  });
});

describe('async signaling on the virtual clock', () => {
  it('runUntilAsync lets promise-based signaling run between steps; runUntil alone cannot', async () => {
    const connect = (net: VirtualNetwork) => {
      const a = net.createHost();
      const b = net.createHost();
      const pa = new WebRTCPeerConnection({}, { engine: a.engine, autoPoll: true });
      const pb = new WebRTCPeerConnection({}, { engine: b.engine, autoPoll: true });
      // Signaling that answers with promises, as a bus or a WebSocket client does.
      const later = (fn: () => void) => void Promise.resolve().then(fn);
      pa.on('session_description_created', (t, s) => later(() => pb.setRemoteDescription(t, s)));
      pb.on('session_description_created', (t, s) => later(() => pa.setRemoteDescription(t, s)));
      pa.on('ice_candidate_created', (m, i, c) => later(() => pb.addIceCandidate(m, i, c)));
      pb.on('ice_candidate_created', (m, i, c) => later(() => pa.addIceCandidate(m, i, c)));
      const ch = pa.createDataChannel('x', { negotiated: true, id: 0 });
      pb.createDataChannel('x', { negotiated: true, id: 0 });
      pa.createOffer();
      return ch;
    };
    const syncNet = new VirtualNetwork({ defaultLink: { latencyMs: 10 } });
    const stuck = connect(syncNet);
    expect(syncNet.runUntil(() => stuck.getReadyState() === ChannelState.OPEN, { maxMs: 1000 })).toBe(false);
    syncNet.close();

    const net = new VirtualNetwork({ defaultLink: { latencyMs: 10 } });
    const ch = connect(net);
    expect(await net.runUntilAsync(() => ch.getReadyState() === ChannelState.OPEN, { maxMs: 1000 })).toBe(true);
    expect(net.clock.now()).toBeLessThan(100);
    await net.advanceAsync(50);
    expect(net.clock.now()).toBeGreaterThanOrEqual(50);
    const busy = net.clock.runUntilAsync(() => false, { maxMs: 20 });
    await expect(net.clock.runUntilAsync(() => true)).rejects.toThrow(/already running/);
    await busy;
    net.close();
  });
});
