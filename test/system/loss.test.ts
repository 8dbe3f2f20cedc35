/**
 * 10 % random loss on a real WebRTC path (node-datachannel) between two Node
 * peers in network namespaces, each behind its own NAT (test/system/netns.ts).
 * The kernel has no `tc netem`: each router drops 10 % of the packets it
 * forwards from its home to the public side (`iptables -m statistic --mode
 * random --probability 0.10 -j DROP`), so each direction of the path loses
 * 10 %. The peers are WebRTCMultiplayerPeers (mesh mode) linked through STUN;
 * the loss is switched on once the link is up.
 * Root only: skipped with the reason printed otherwise (failing under
 * RTCMESH_REQUIRE_SYSTEM=1).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LabPeer, relaySignaling, type AgentEvent } from './lab-peer.js';
import { createNatLab, describeNatLab, startLabTurn, type NatLab } from './netns.js';

const LOSS = 0.1;
const RELIABLE_PACKETS = 20_000;
const UNRELIABLE_PACKETS = 2_000;
/** Heartbeat period: the loss figure covers the last 32 pings, ~0.6 s. */
const HEARTBEAT_MS = 20;
/** The mean of 16 sampled loss figures (32 pings each, sd ≈ 0.019 at 10 %) must be within this of the routers' loss. */
const LOSS_TOLERANCE = 0.07;

describeNatLab('10 % random loss between two NATed peers', (turnserver) => {
  let lab: NatLab;
  let a: LabPeer;
  let b: LabPeer;

  beforeAll(async () => {
    lab = await createNatLab();
    const turn = await startLabTurn(lab, turnserver);
    a = new LabPeer(lab, lab.ns.homeA, 'homeA');
    b = new LabPeer(lab, lab.ns.homeB, 'homeB');
    relaySignaling(a, b);
    await Promise.all([a.ready(), b.ready()]);
    const config = { iceServers: [{ urls: turn.stunUrl }] };
    // A generous timeout: these tests measure delivery and the loss figure, not detection.
    const mesh = { heartbeatIntervalMs: HEARTBEAT_MS, heartbeatTimeoutMs: 30_000, statsIntervalMs: 0 };
    b.send({ op: 'start', mode: 'mesh', id: 3, remoteId: 2, config, offer: false, mesh });
    a.send({ op: 'start', mode: 'mesh', id: 2, remoteId: 3, config, offer: true, mesh });
    await Promise.all([a.next('peer_connected', undefined, 20_000, true), b.next('peer_connected', undefined, 20_000, true)]);
    await lab.setLoss('A', LOSS);
    await lab.setLoss('B', LOSS);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await lab?.destroy();
  });

  async function report(p: LabPeer): Promise<AgentEvent> {
    const reply = p.next('report');
    p.send({ op: 'report' });
    return reply;
  }

  /** Ask B to report once `count` reliable packets have arrived; fail with both sides' story if that does not happen. */
  async function receivedReliable(count: number): Promise<AgentEvent> {
    const complete = b.next('received', undefined, 80_000);
    b.send({ op: 'awaitReliable', count });
    return complete.catch(async (err) => {
      const events = (p: LabPeer) => JSON.stringify(p.history.filter((e) => !['description', 'candidate', 'report', 'received'].includes(e.ev)));
      throw new Error(`${(err as Error).message}; receiver: ${JSON.stringify((await report(b))['reliable'])}; A: ${events(a)}; B: ${events(b)}`);
    });
  }

  it('reliable ordered channel: 20 000 numbered packets arrive complete and in order', async () => {
    const started = performance.now();
    a.send({ op: 'burst', reliable: RELIABLE_PACKETS, unreliable: 0 });
    const r = await receivedReliable(RELIABLE_PACKETS);
    const dropped = (await lab.droppedByLoss('A')) + (await lab.droppedByLoss('B'));
    console.log(`[loss] routers dropped ${dropped} packets; reliable ${JSON.stringify(r['reliable'])} in ${Math.round(performance.now() - started)} ms`);
    expect(dropped).toBeGreaterThan(0);
    expect(r['corrupt']).toBe(0);
    expect(r['reliable']).toMatchObject({ count: RELIABLE_PACKETS, next: RELIABLE_PACKETS, outOfOrder: 0 });
  }, 100_000);

  /**
   * The path loses 10 %, the channel fewer: at this sub-millisecond RTT the
   * 1 ms maxPacketLifeTime of the unreliable channel leaves time for one fast
   * retransmission (observed: 4–7 % lost).
   */
  it('unreliable channel: some packets lost, none duplicated or corrupt', async () => {
    // 2 000 unreliable packets, then one reliable packet: once it is in, the burst is over.
    a.send({ op: 'burst', reliable: 1, unreliable: UNRELIABLE_PACKETS });
    const r = await receivedReliable(RELIABLE_PACKETS + 1);
    console.log(`[loss] unreliable ${JSON.stringify(r['unreliable'])}`);
    expect(r['corrupt']).toBe(0);
    const u = r['unreliable'];
    expect(u.count).toBeGreaterThan(0);
    expect(u.count).toBeLessThan(UNRELIABLE_PACKETS);
    expect(u.duplicates).toBe(0);
    expect(u.distinct).toBe(u.count);
  }, 100_000);

  it(`the heartbeat loss figure reports the path's loss (within ±${LOSS_TOLERANCE})`, async () => {
    const samples = await Promise.all(
      [a, b].map(async (p) => {
        const done = p.next('lossSamples', undefined, 30_000);
        p.send({ op: 'sampleLoss', count: 8, everyMs: 700 });
        return (await done)['samples'] as number[];
      }),
    );
    const all = samples.flat();
    const mean = all.reduce((x, y) => x + y, 0) / all.length;
    console.log(`[loss] heartbeat loss samples ${JSON.stringify(samples)}, mean ${mean.toFixed(3)}`);
    expect(all.every((x) => x >= 0 && x <= 1)).toBe(true);
    expect(Math.abs(mean - LOSS)).toBeLessThanOrEqual(LOSS_TOLERANCE);
  }, 60_000);

  /**
   * Known problem, kept as an opt-in reproduction (RTCMESH_REPRO_SCTP_STALL=1):
   * the reliable bulk and the unreliable burst at the same time. In 7 of 44
   * runs (2 loaded cores) node-datachannel 0.33.4 stopped delivering A→B for
   * good mid-transfer (receiver stuck at 9 700–16 800 of 20 000, control
   * channel silent too) until the heartbeat timeout removed the link; the same
   * traffic one after the other (the tests above) never stalled in 18 runs.
   * Cause not established; same family as usrsctp issue #427 and pion/sctp
   * #104 (an association that stops after losses with partially reliable
   * streams). See docs/networks.md.
   */
  it.runIf(process.env['RTCMESH_REPRO_SCTP_STALL'] === '1')('reproduction: reliable bulk and unreliable burst at once', async () => {
    const base = (await report(b))['reliable'].count as number;
    a.send({ op: 'burst', reliable: RELIABLE_PACKETS, unreliable: UNRELIABLE_PACKETS, concurrent: true });
    const r = await receivedReliable(base + RELIABLE_PACKETS);
    expect(r['reliable']).toMatchObject({ count: base + RELIABLE_PACKETS, outOfOrder: 0 });
  }, 100_000);
});
