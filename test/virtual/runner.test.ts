/**
 * The virtual network runs whole sans-IO stacks by jumping from deadline to
 * deadline: register(), runFor(), runUntilIdle(), and its seeded randomness
 * as a RandomSource.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, RtcmeshError, TransferMode, WebRTCMultiplayerPeer, WebRTCPeerConnection } from '../api.js';
import type { EngineChannelHandlers, EngineConnectionHandlers } from '../../src/transport/engine.js';
import { VirtualNetwork } from '../../src/transport/virtual/index.js';
import type { Pollable } from '../../src/util/sans-io.js';
import { wire } from '../helpers.js';

/** A pollable with a fixed list of deadlines; records when it is polled. */
class Scripted implements Pollable {
  readonly polls: number[] = [];
  private i = 0;
  constructor(private readonly deadlines: number[]) {}
  poll(now: number): void {
    this.polls.push(now);
    while (this.i < this.deadlines.length && this.deadlines[this.i]! <= now) this.i++;
  }
  nextDeadline(): number {
    return this.deadlines[this.i] ?? Infinity;
  }
}

/** Polled whenever it is due; idle (Infinity) otherwise. */
class Idle implements Pollable {
  readonly polls: number[] = [];
  poll(now: number): void {
    this.polls.push(now);
  }
  nextDeadline(): number {
    return Infinity;
  }
}

const noChannelEvents: EngineChannelHandlers = { open() {}, closed() {}, error() {}, message() {}, bufferedAmountLow() {} };

describe('register / runFor / runUntilIdle', () => {
  it('polls a pollable exactly at its deadlines (and once at the start), and ends at now + ms', () => {
    const net = new VirtualNetwork();
    const p = new Scripted([10, 25, 25.5, 100, 250]);
    net.register(p);
    net.runFor(200);
    expect(p.polls).toEqual([0, 10, 25, 25.5, 100]);
    expect(net.clock.now()).toBe(200);
    net.runFor(100);
    expect(p.polls).toEqual([0, 10, 25, 25.5, 100, 200, 250]);
    expect(net.clock.now()).toBe(300);
    net.close();
  });

  it('polls in registration order, and no longer after unregister', () => {
    const net = new VirtualNetwork();
    const order: string[] = [];
    const make = (name: string): Pollable => {
      let next = 5;
      return { poll: (now) => { order.push(`${name}@${now}`); if (now >= next) next += 5; }, nextDeadline: () => next };
    };
    const a = make('a');
    const b = make('b');
    net.register(b);
    net.register(a);
    net.register(b); // ignored
    net.runFor(10);
    expect(order).toEqual(['b@0', 'a@0', 'b@5', 'a@5', 'b@10', 'a@10']);
    expect(net.unregister(b)).toBe(true);
    expect(net.unregister(b)).toBe(false);
    order.length = 0;
    net.runFor(5);
    expect(order).toEqual(['a@10', 'a@15']); // everyone is polled once at the start of a run
    net.close();
  });

  it('runUntilIdle stops when nothing is scheduled and every deadline is Infinity; maxMs bounds a stack that never idles', () => {
    const net = new VirtualNetwork();
    const p = new Scripted([40, 90]);
    net.register(p);
    expect(net.runUntilIdle()).toBe(true);
    expect(p.polls).toEqual([0, 40, 90]);
    expect(net.clock.now()).toBe(90);

    let next = 0;
    const ticker: Pollable = { poll: (now) => void (next = now + 16), nextDeadline: () => next };
    net.register(ticker);
    expect(net.runUntilIdle(1000)).toBe(false);
    expect(net.clock.now()).toBe(1090);
    net.close();
  });

  it('jumps to network events and then polls every pollable: a message delivered at its arrival time is input', () => {
    const net = new VirtualNetwork({ seed: 4, defaultLink: { latencyMs: 20 } });
    const [ha, hb] = [net.createHost(), net.createHost()];
    const arrivals: number[] = [];
    const conns: ReturnType<typeof ha.engine.createConnection>[] = [];
    const handlers = (other: () => ReturnType<typeof ha.engine.createConnection>): EngineConnectionHandlers => ({
      localDescription: (type, sdp) => other().setRemoteDescription(type, sdp),
      localCandidate: (mid, _i, c) => other().addRemoteCandidate(mid, c),
      stateChange() {},
      gatheringStateChange() {},
      signalingStateChange() {},
      dataChannel() {},
    });
    conns.push(ha.engine.createConnection({ iceServers: [], iceTransportPolicy: 'all' }, handlers(() => conns[1]!)));
    conns.push(hb.engine.createConnection({ iceServers: [], iceTransportPolicy: 'all' }, handlers(() => conns[0]!)));
    const init = { label: 'd', protocol: '', negotiated: true, id: 1, ordered: true };
    const ca = conns[0]!.createDataChannel(init);
    const cb = conns[1]!.createDataChannel(init);
    let open = 0;
    ca.setHandlers({ ...noChannelEvents, open: () => open++ });
    cb.setHandlers({ ...noChannelEvents, open: () => open++, message: () => arrivals.push(net.clock.now()) });
    const watcher = new Idle();
    net.register(watcher);
    conns[0]!.createOffer();
    expect(net.runUntilIdle()).toBe(true);
    expect(open).toBe(2);
    // The handshake took events at 0, 40 (check) and 80 (DTLS + SCTP): the watcher saw each instant.
    expect(watcher.polls).toEqual(expect.arrayContaining([0, 40, 80]));
    const before = watcher.polls.length;
    ca.sendBinary(new Uint8Array([1, 2, 3]));
    const sentAt = net.clock.now();
    expect(net.runUntilIdle()).toBe(true);
    expect(arrivals).toEqual([sentAt + 20]);
    expect(watcher.polls.slice(before)).toContain(sentAt + 20);
    expect(net.clock.now()).toBe(sentAt + 20);
    net.close();
  });

  it('a cancelled event at the head of a same-time bucket does not hide the live ones behind it', () => {
    const net = new VirtualNetwork();
    const fired: number[] = [];
    const task = { fire: () => fired.push(net.clock.now()) };
    const first = net.clock.schedule(5, task);
    net.clock.schedule(5, task);
    net.clock.cancel(first);
    expect(net.clock.nextEventAt()).toBe(5);
    expect(net.runUntilIdle()).toBe(true);
    expect(fired).toEqual([5]);
    net.close();
  });

  it('a pollable that keeps returning a past deadline gets a clear error instead of a hang', () => {
    const net = new VirtualNetwork();
    const stuck: Pollable = { poll() {}, nextDeadline: () => 0 };
    net.register(new Idle());
    net.register(stuck);
    let err: unknown;
    try {
      net.runFor(10);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RtcmeshError);
    expect((err as RtcmeshError).code).toBe(ErrorCode.INVALID_STATE);
    expect((err as Error).message).toMatch(/#1 .*keeps returning a deadline ≤ now/);
    net.close();
  });

  it('checks its arguments and refuses to run from inside poll()', () => {
    const net = new VirtualNetwork();
    expect(() => net.register({} as Pollable)).toThrow(RtcmeshError);
    expect(() => net.runFor(-1)).toThrow(/runFor\(\) ms/);
    expect(() => net.runFor(Number.NaN)).toThrow(RtcmeshError);
    let inner: unknown;
    net.register({ poll: () => { try { net.runFor(1); } catch (e) { inner = e; } }, nextDeadline: () => Infinity });
    net.runFor(1);
    expect((inner as RtcmeshError).code).toBe(ErrorCode.INVALID_STATE);
    net.close();
    expect(() => net.runFor(1)).toThrow(/closed/);
    const rt = new VirtualNetwork({ clock: 'realtime' });
    expect(() => rt.runFor(1)).toThrow(/only for clock 'virtual'/);
    rt.close();
  });
});

describe('random(stream)', () => {
  it('is seeded: same seed and stream give the same sequence, another stream or seed another one', () => {
    const draw = (seed: number, stream: string) => {
      const r = new VirtualNetwork({ seed }).random(stream);
      return [r.int(0, 1_000_000), r.int(0, 1_000_000), r.float(), ...r.bytes(8)];
    };
    expect(draw(7, 'mesh')).toEqual(draw(7, 'mesh'));
    expect(draw(7, 'mesh')).not.toEqual(draw(7, 'lobby'));
    expect(draw(7, 'mesh')).not.toEqual(draw(8, 'mesh'));
    const net = new VirtualNetwork({ seed: 7 });
    const r = net.random('mesh');
    expect(net.random('mesh')).toBe(r);
    for (let i = 0; i < 1000; i++) {
      const v = r.int(3, 9);
      expect(v).toBeGreaterThanOrEqual(3);
      expect(v).toBeLessThanOrEqual(9);
    }
    expect(() => net.random(42 as unknown as string)).toThrow(RtcmeshError);
    net.close();
  });
});

/** The multiplayer peer as a Pollable: itself once it has nextDeadline(), else polled every `tickMs`. */
function asPollable(m: WebRTCMultiplayerPeer, tickMs: number): Pollable {
  if (typeof (m as unknown as Partial<Pollable>).nextDeadline === 'function') return m as unknown as Pollable;
  let next = 0;
  return {
    poll(now) {
      (m.poll as (now?: number) => void).call(m, now);
      next = now + tickMs;
    },
    nextDeadline: () => next,
  };
}

describe('a whole stack on runFor', () => {
  it('a WebRTCMultiplayerPeer pair connects and exchanges data driven only by runFor', () => {
    const net = new VirtualNetwork({ seed: 11, defaultLink: { latencyMs: 15, loss: 0.05 } });
    const [ha, hb] = [net.createHost('a'), net.createHost('b')];
    const a = new WebRTCMultiplayerPeer({ clock: net.clock });
    const b = new WebRTCMultiplayerPeer({ clock: net.clock });
    a.createMesh(2);
    b.createMesh(3);
    const ca = new WebRTCPeerConnection({}, { engine: ha.engine });
    const cb = new WebRTCPeerConnection({}, { engine: hb.engine });
    wire(ca, cb);
    a.addPeer(ca, 3);
    b.addPeer(cb, 2);
    cb.createOffer();
    net.register(asPollable(a, 1000 / 60));
    net.register(asPollable(b, 1000 / 60));
    net.runFor(3000);
    expect(a.getPeerIds()).toEqual([3]);
    expect(b.getPeerIds()).toEqual([2]);
    a.transferMode = TransferMode.RELIABLE;
    for (let k = 0; k < 50; k++) a.putPacket(new Uint8Array([k]));
    net.runFor(3000);
    const got: number[] = [];
    let p: Uint8Array | undefined;
    while ((p = b.getPacket()) !== undefined) got.push(p[0]!);
    expect(got).toEqual([...Array(50).keys()]);
    a.close();
    b.close();
    net.close();
  });
});
