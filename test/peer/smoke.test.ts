import { describe, expect, it } from 'vitest';
import { ChannelState, ConnectionState } from '../../src/index.js';
import { makePair, opened, reachState, waitForEvent } from '../helpers.js';

describe('smoke', () => {
  it('connects two peers and exchanges a packet', async () => {
    const [a, b] = makePair();
    const received = waitForEvent<[any]>(b, 'data_channel_received');
    const ch = a.createDataChannel('chat', { ordered: false, maxRetransmits: 0, protocol: 'p1' });
    a.createOffer();
    await opened(ch);
    const [remote] = await received;
    await opened(remote);
    const got = waitForEvent<[Uint8Array, boolean]>(remote, 'packet');
    ch.putPacket(new Uint8Array([1, 2, 3]));
    const [data, isText] = await got;
    expect([...data]).toEqual([1, 2, 3]);
    expect(isText).toBe(false);
    expect(remote.isOrdered()).toBe(false);
    expect(remote.getMaxRetransmits()).toBe(0);
    expect(remote.getProtocol()).toBe('p1');
    expect(a.getConnectionState()).toBe(ConnectionState.CONNECTED);
    a.close();
    await reachState(b, ConnectionState.CLOSED);
    expect(remote.getReadyState()).toBe(ChannelState.CLOSED);
    b.close();
  });
});
