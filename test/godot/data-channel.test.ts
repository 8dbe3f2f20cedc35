/**
 * WebRTCDataChannel and PacketPeer as Godot documents them
 * (modules/webrtc/doc_classes/WebRTCDataChannel.xml, doc/classes/PacketPeer.xml),
 * over real node-datachannel on loopback, events in poll().
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelState, ErrorCode, WriteMode, type WebRTCDataChannel, type WebRTCPeerConnection } from '../api.js';
import { codeOf, polled, pollUntil, relay } from './godot-helpers.js';

const live: WebRTCPeerConnection[] = [];
afterEach(() => {
  for (const pc of live.splice(0)) pc.close();
});

/** A connected pair with one negotiated channel on each side. */
async function channelPair(options: { id?: number; ordered?: boolean; protocol?: string } = {}): Promise<[WebRTCDataChannel, WebRTCDataChannel, WebRTCPeerConnection[]]> {
  const a = polled();
  const b = polled();
  live.push(a, b);
  relay(a, b);
  const opts = { negotiated: true, id: options.id ?? 5, ...options };
  const ca = a.createDataChannel('game', opts);
  const cb = b.createDataChannel('game', opts);
  // STATE_CONNECTING: "The channel was created, but it's still trying to connect."
  expect([ca.getReadyState(), cb.getReadyState()]).toEqual([ChannelState.CONNECTING, ChannelState.CONNECTING]);
  a.createOffer();
  await pollUntil([a, b], () => ca.getReadyState() === ChannelState.OPEN && cb.getReadyState() === ChannelState.OPEN, 'the channel to open');
  return [ca, cb, [a, b]];
}

describe('Godot WebRTCDataChannel', () => {
  it('enums keep Godot values: WriteMode TEXT 0 / BINARY 1, ChannelState CONNECTING 0 … CLOSED 3', () => {
    expect(WriteMode).toEqual({ TEXT: 0, BINARY: 1 });
    expect(ChannelState).toEqual({ CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
  });

  it('write_mode defaults to WRITE_MODE_BINARY (1); was_string_packet "Returns true if the last received packet was transferred as text"', async () => {
    const [ca, cb, pcs] = await channelPair();
    expect(ca.writeMode).toBe(WriteMode.BINARY);
    ca.putPacket(new Uint8Array([0xff, 0]));
    ca.writeMode = WriteMode.TEXT;
    ca.putPacket(new TextEncoder().encode('héllo'));
    ca.writeMode = WriteMode.BINARY;
    ca.putPacket(new Uint8Array([1]));
    await pollUntil(pcs, () => cb.getAvailablePacketCount() === 3, 'three packets');
    // get_available_packet_count: "the number of packets currently available in the ring-buffer"
    expect(cb.getAvailablePacketCount()).toBe(3);
    expect([...cb.getPacket()!]).toEqual([0xff, 0]);
    expect(cb.wasStringPacket()).toBe(false);
    expect(new TextDecoder().decode(cb.getPacket()!)).toBe('héllo');
    expect(cb.wasStringPacket()).toBe(true);
    expect([...cb.getPacket()!]).toEqual([1]);
    expect(cb.wasStringPacket()).toBe(false);
    expect(cb.getAvailablePacketCount()).toBe(0);
    expect(() => (ca.writeMode = 2 as WriteMode)).toThrow();
  });

  it('get_id: "If the channel is not negotiated out-of-band the id will only be available after the connection is established (will return 65535 until then)"', async () => {
    const a = polled();
    const b = polled();
    live.push(a, b);
    relay(a, b);
    const inBand = a.createDataChannel('in-band');
    expect(inBand.getId()).toBe(65535);
    expect(inBand.isNegotiated()).toBe(false);
    // negotiated: "the id assigned to this channel during creation"
    const oob = a.createDataChannel('oob', { negotiated: true, id: 42 });
    b.createDataChannel('oob', { negotiated: true, id: 42 });
    expect(oob.getId()).toBe(42);
    expect(oob.isNegotiated()).toBe(true);
    let received: WebRTCDataChannel | undefined;
    b.on('data_channel_received', (ch) => (received = ch));
    a.createOffer();
    await pollUntil([a, b], () => inBand.getReadyState() === ChannelState.OPEN && received?.getReadyState() === ChannelState.OPEN, 'the in-band channel to open');
    expect(inBand.getId()).not.toBe(65535);
    expect(inBand.getId()).toBe(received!.getId());
  });

  it('get_label, get_protocol ("An empty string if not specified"), is_ordered ("ordering enabled (default)"), max values 65535 "if not specified"', async () => {
    const [ca, cb] = await channelPair({ id: 6 });
    for (const ch of [ca, cb]) {
      expect(ch.getLabel()).toBe('game');
      expect(ch.getProtocol()).toBe('');
      expect(ch.isOrdered()).toBe(true);
      expect(ch.getMaxPacketLifeTime()).toBe(65535);
      expect(ch.getMaxRetransmits()).toBe(65535);
      expect(ch.isNegotiated()).toBe(true);
    }
  });

  it('get_buffered_amount: "the number of bytes currently queued to be sent over this channel" drains to 0', async () => {
    const [ca, cb, pcs] = await channelPair({ id: 7 });
    expect(ca.getBufferedAmount()).toBe(0);
    for (let i = 0; i < 64; i++) ca.putPacket(new Uint8Array(16_000));
    expect(ca.getBufferedAmount()).toBeGreaterThanOrEqual(0);
    await pollUntil(pcs, () => cb.getAvailablePacketCount() === 64, 'every packet');
    await pollUntil(pcs, () => ca.getBufferedAmount() === 0, 'the send buffer to drain');
  });

  it('close(): "Closes this data channel, notifying the other peer"; STATE_CLOSED: "The channel was closed"', async () => {
    const [ca, cb, pcs] = await channelPair({ id: 8 });
    ca.close();
    expect([ChannelState.CLOSING, ChannelState.CLOSED]).toContain(ca.getReadyState());
    await pollUntil(pcs, () => cb.getReadyState() === ChannelState.CLOSED && ca.getReadyState() === ChannelState.CLOSED, 'both ends to close');
    // Δ: put_packet on a channel that is not open throws NOT_OPEN naming the state (Godot returns an Error)
    expect(codeOf(() => ca.putPacket(new Uint8Array([1])))).toBe(ErrorCode.NOT_OPEN);
    expect(codeOf(() => cb.putPacket(new Uint8Array([1])))).toBe(ErrorCode.NOT_OPEN);
  });

  it('put_packet / get_packet / get_packet_error and put_var / get_var ("Sends a Variant as a packet"; Δ msgpack)', async () => {
    const [ca, cb, pcs] = await channelPair({ id: 9 });
    const value = { name: 'orb', pos: [1.5, -2], hp: 100, alive: true, tag: null };
    ca.putVar(value);
    ca.putVar('text');
    ca.putVar(12345678901);
    await pollUntil(pcs, () => cb.getAvailablePacketCount() === 3, 'three values');
    expect(cb.getVar()).toEqual(value);
    expect(cb.getPacketError()).toBeUndefined();
    expect(cb.getVar()).toBe('text');
    expect(cb.getVar()).toBe(12345678901);
    // get_packet_error: "the error state of the last packet received (via get_packet and get_var)"
    expect(cb.getVar()).toBeUndefined();
    expect(cb.getPacketError()).toBe(ErrorCode.UNAVAILABLE);
    expect(cb.getPacket()).toBeUndefined();
    expect(cb.getPacketError()).toBe(ErrorCode.UNAVAILABLE);
  });
});
