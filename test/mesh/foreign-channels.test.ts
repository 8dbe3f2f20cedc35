/**
 * In-band channels a remote opens on a mesh link (issue #13), over real
 * node-datachannel on 127.0.0.1: the mesh closes them on sight, counts them in
 * the link's stats and holds nothing of them; the opt-in `acceptChannel` hook
 * keeps some, up to `maxForeignChannels` per link.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelState, WebRTCMultiplayerPeer, WebRTCPeerConnection, type WebRTCDataChannel } from '../api.js';
import { LOOPBACK, wire } from '../helpers.js';
import { pollUntil } from './mesh-helpers.js';

const live: { close(): void }[] = [];
afterEach(() => {
  for (const m of live.splice(0)) m.close();
});

/**
 * A victim mesh (id 2) linked to an attacker mesh (id 7) whose connection
 * also carries `foreign` in-band channels (announced to the victim once the
 * association is up), each writing `packets` packets of 1 kB when it opens.
 */
async function pair(foreign: number, packets: number, victimOptions: ConstructorParameters<typeof WebRTCMultiplayerPeer>[0] = {}) {
  const victim = new WebRTCMultiplayerPeer(victimOptions);
  const attacker = new WebRTCMultiplayerPeer();
  live.push(victim, attacker);
  victim.createMesh(2);
  attacker.createMesh(7);
  const cv = new WebRTCPeerConnection(LOOPBACK);
  const ca = new WebRTCPeerConnection(LOOPBACK);
  wire(cv, ca);
  const channels = flood(ca, foreign, packets);
  victim.addPeer(cv, 7);
  attacker.addPeer(ca, 2);
  ca.createOffer();
  const baseline = cv.getDataChannels().length; // the mesh's own channels
  await pollUntil([victim, attacker], () => victim.getPeerIds().length === 1 && attacker.getPeerIds().length === 1, 'the link to connect');
  return { victim, attacker, cv, ca, baseline, channels };
}

/** Create `n` in-band channels on the attacker's connection, each writing `packets` packets of 1 kB once it opens. */
function flood(ca: WebRTCPeerConnection, n: number, packets: number): WebRTCDataChannel[] {
  const payload = new Uint8Array(1024).fill(7);
  const out: WebRTCDataChannel[] = [];
  for (let i = 0; i < n; i++) {
    const ch = ca.createDataChannel(`foreign-${i}`);
    ch.on('open', () => {
      for (let k = 0; k < packets; k++) {
        try {
          ch.putPacket(payload);
        } catch {
          return; // the victim closed it already
        }
      }
    });
    out.push(ch);
  }
  return out;
}

describe('foreign in-band channels on a mesh link', () => {
  it('100 channels opened by the remote are closed on sight, counted, and nothing of them is held', async () => {
    const { victim, attacker, cv, baseline, channels } = await pair(100, 20);
    await pollUntil([victim, attacker], () => victim.getLinkStats(7)!.foreignChannelsClosed === 100, 'the 100 foreign channels to be closed', 30_000);
    const stats = victim.getLinkStats(7)!;
    expect(stats.foreignChannelsClosed).toBe(100);
    expect(stats.foreignChannelsAccepted).toBe(0);
    // The victim's connection holds only the mesh's own channels: no foreign channel, no queued packet of one.
    expect(cv.getDataChannels().length).toBe(baseline);
    expect(cv.getDataChannels().every((c) => !c.getLabel().startsWith('foreign-'))).toBe(true);
    expect(victim.getAvailablePacketCount()).toBe(0);
    expect(stats.packetsReceived).toBe(0);
    // The link itself is unharmed: mesh packets still flow.
    attacker.targetPeer = 2;
    attacker.putPacket(new Uint8Array([1, 2, 3]));
    await pollUntil([victim, attacker], () => victim.getAvailablePacketCount() === 1, 'a mesh packet after the flood');
    expect([...victim.getPacket()!]).toEqual([1, 2, 3]);
    // The attacker sees its channels closed.
    await pollUntil([victim, attacker], () => channels.every((c) => c.getReadyState() === ChannelState.CLOSED), 'the attacker to see its channels closed', 30_000);
  });

  it('the acceptChannel hook keeps at most maxForeignChannels per link; the rest are closed', async () => {
    const seen: string[] = [];
    const { victim, attacker, cv, baseline } = await pair(10, 0, {
      acceptChannel: (peerId, channel) => {
        seen.push(`${peerId}:${channel.getLabel()}`);
        return true;
      },
      maxForeignChannels: 3,
    });
    await pollUntil([victim, attacker], () => {
      const s = victim.getLinkStats(7)!;
      return s.foreignChannelsAccepted + s.foreignChannelsClosed === 10;
    }, 'the 10 foreign channels to be handled', 30_000);
    const stats = victim.getLinkStats(7)!;
    expect(stats.foreignChannelsAccepted).toBe(3);
    expect(stats.foreignChannelsClosed).toBe(7);
    expect(seen).toHaveLength(3);
    expect(seen.every((s) => s.startsWith('7:foreign-'))).toBe(true);
    expect(cv.getDataChannels().length).toBe(baseline + 3);
  });
});
