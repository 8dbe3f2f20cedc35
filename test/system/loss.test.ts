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
    const mesh = { heartbeatIntervalMs: HEARTBEAT_MS, heartbeatTimeoutMs: 10_000, statsIntervalMs: 0 };
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

  it('reliable channel: 20 000 numbered packets arrive complete and in order; unreliable: some lost, no duplicate, none corrupt', async () => {
    const complete = b.next('received', undefined, 60_000);
    b.send({ op: 'awaitReliable', count: RELIABLE_PACKETS });
    const sent = a.next('sent', undefined, 60_000);
    const started = performance.now();
    a.send({ op: 'burst', reliable: RELIABLE_PACKETS, unreliable: UNRELIABLE_PACKETS });
    await Promise.all([sent, complete.catch(async (err) => {
      throw new Error(`${(err as Error).message}; receiver: ${JSON.stringify((await report(b))['reliable'])}`);
    })]);
    const transferMs = Math.round(performance.now() - started);
    const r = await report(b);
    const dropped = (await lab.droppedByLoss('A')) + (await lab.droppedByLoss('B'));
    console.log(`[loss] routers dropped ${dropped} packets; reliable ${JSON.stringify(r['reliable'])}; unreliable ${JSON.stringify(r['unreliable'])}; ${transferMs} ms`);
    expect(dropped).toBeGreaterThan(0);
    expect(r['corrupt']).toBe(0);
    expect(r['reliable']).toEqual({ count: RELIABLE_PACKETS, next: RELIABLE_PACKETS, outOfOrder: 0 });
    const u = r['unreliable'];
    expect(u.count).toBeGreaterThan(0);
    expect(u.count).toBeLessThan(UNRELIABLE_PACKETS);
    expect(u.duplicates).toBe(0);
    expect(u.distinct).toBe(u.count);
  }, 90_000);

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
});
