/**
 * Dead links drive ICE/connection states like the real engine: partitions,
 * outages and total loss turn connections DISCONNECTED, then FAILED, and
 * healing in time brings them back.
 */
import { describe, expect, it } from 'vitest';
import { ChannelState, ConnectionState } from '../api.js';
import { VirtualNetwork } from '../../src/transport/virtual/index.js';
import { openNegotiated, virtualPair } from './util.js';

function states(pc: { on(e: 'connection_state_changed', f: (s: ConnectionState) => void): unknown }): ConnectionState[] {
  const seen: ConnectionState[] = [];
  pc.on('connection_state_changed', (s) => seen.push(s));
  return seen;
}

describe('connection states on a dead link', () => {
  it('a partition drives both ends to DISCONNECTED, and back to CONNECTED when healed', () => {
    const net = new VirtualNetwork({ seed: 9, ice: { disconnectedAfterMs: 3000, failedAfterMs: 20_000 } });
    const [a, b, c] = [net.createHost(), net.createHost(), net.createHost()];
    net.setDefaultLink({ latencyMs: 10 });
    const ab = openNegotiated(net, a, b);
    const ac = openNegotiated(net, a, c);
    const sa = states(ab.pa);
    const sb = states(ab.pb);
    const got: number[] = [];
    ab.cb.on('packet', (d) => got.push(d[0]!));
    const t0 = net.clock.now();
    net.partition([a], [b]);
    net.advance(2999);
    expect(ab.pa.getConnectionState()).toBe(ConnectionState.CONNECTED);
    ab.ca.putPacket(new Uint8Array([42])); // reliable: must survive the partition
    net.advance(1);
    expect(net.clock.now() - t0).toBe(3000);
    expect(ab.pa.getConnectionState()).toBe(ConnectionState.DISCONNECTED);
    expect(ab.pb.getConnectionState()).toBe(ConnectionState.DISCONNECTED);
    expect(ac.pa.getConnectionState()).toBe(ConnectionState.CONNECTED);
    net.advance(5000);
    expect(got).toEqual([]);
    net.heal();
    net.advance(20);
    expect(ab.pa.getConnectionState()).toBe(ConnectionState.CONNECTED);
    expect(ab.pb.getConnectionState()).toBe(ConnectionState.CONNECTED);
    expect(sa).toEqual([ConnectionState.DISCONNECTED, ConnectionState.CONNECTED]);
    expect(sb).toEqual([ConnectionState.DISCONNECTED, ConnectionState.CONNECTED]);
    net.runUntil(() => got.length > 0, { maxMs: 20_000 });
    expect(got).toEqual([42]);
    expect(ab.ca.getReadyState()).toBe(ChannelState.OPEN);
  });

  it('a partition that lasts past failedAfterMs drives both ends to FAILED and closes the channels', () => {
    const net = new VirtualNetwork({ seed: 9 });
    const [a, b] = [net.createHost(), net.createHost()];
    const ab = openNegotiated(net, a, b);
    const sa = states(ab.pa);
    net.partition([a], [b]);
    net.advance(30_000);
    expect(ab.pa.getConnectionState()).toBe(ConnectionState.FAILED);
    expect(ab.pb.getConnectionState()).toBe(ConnectionState.FAILED);
    expect(ab.ca.getReadyState()).toBe(ChannelState.CLOSED);
    expect(ab.cb.getReadyState()).toBe(ChannelState.CLOSED);
    expect(sa).toEqual([ConnectionState.DISCONNECTED, ConnectionState.FAILED]);
    net.heal();
    net.advance(1000);
    expect(ab.pa.getConnectionState()).toBe(ConnectionState.FAILED);
    expect(net.clock.pending()).toBe(0);
  });

  it('100 % loss in one direction is a dead link; lowering it revives the connection', () => {
    const net = new VirtualNetwork({ seed: 4 });
    const [a, b] = [net.createHost(), net.createHost()];
    const ab = openNegotiated(net, a, b);
    net.link(a, b, { backward: { loss: 1 } });
    net.advance(5000);
    expect(ab.pa.getConnectionState()).toBe(ConnectionState.DISCONNECTED);
    net.link(a, b, { backward: { loss: 0.5 } });
    net.advance(1);
    expect(ab.pa.getConnectionState()).toBe(ConnectionState.CONNECTED);
  });

  it('a scheduled outage disconnects and reconnects by itself', () => {
    const net = new VirtualNetwork({ seed: 4 });
    const [a, b] = [net.createHost(), net.createHost()];
    const ab = openNegotiated(net, a, b);
    const seen = states(ab.pb);
    const at = net.clock.now() + 100;
    net.link(a, b, { latencyMs: 5, outages: [{ atMs: at, durationMs: 8000 }] });
    net.advance(20_000);
    expect(seen).toEqual([ConnectionState.DISCONNECTED, ConnectionState.CONNECTED]);
  });

  it('never connects across a partition; FAILED after failedAfterMs', () => {
    const net = new VirtualNetwork({ seed: 4, ice: { failedAfterMs: 8000 } });
    const [a, b] = [net.createHost(), net.createHost()];
    net.partition([a], [b]);
    const [pa, pb] = virtualPair(a, b);
    pa.createDataChannel('x');
    pa.createOffer();
    net.advance(7900);
    expect(pa.getConnectionState()).toBe(ConnectionState.CONNECTING);
    net.advance(200);
    expect(pa.getConnectionState()).toBe(ConnectionState.FAILED);
    expect(pb.getConnectionState()).toBe(ConnectionState.FAILED);
  });

  it('connects once the partition heals during ICE checks', () => {
    const net = new VirtualNetwork({ seed: 4 });
    const [a, b] = [net.createHost(), net.createHost()];
    net.partition([a], [b]);
    const [pa, pb] = virtualPair(a, b);
    pa.createDataChannel('x');
    pa.createOffer();
    net.advance(2000);
    net.heal();
    expect(net.runUntil(() => pb.getConnectionState() === ConnectionState.CONNECTED, { maxMs: 1000 })).toBe(true);
  });

  it('a peer that closes over a dead link is detected by consent: DISCONNECTED then FAILED', () => {
    const net = new VirtualNetwork({ seed: 4 });
    const [a, b] = [net.createHost(), net.createHost()];
    const ab = openNegotiated(net, a, b);
    net.link(a, b, { loss: 1 });
    ab.pa.close();
    net.advance(5000);
    expect(ab.pb.getConnectionState()).toBe(ConnectionState.DISCONNECTED);
    net.link(a, b, { loss: 0 }); // the path is back, but the peer is gone
    net.advance(25_000);
    expect(ab.pb.getConnectionState()).toBe(ConnectionState.FAILED);
  });
});
