/**
 * NAT traversal on real WebRTC (node-datachannel) across Linux network
 * namespaces: two Node peers, each in its own "home" behind a masquerading
 * router that drops unsolicited inbound packets, and coturn (STUN and TURN)
 * on the "public" segment between the routers. See test/system/netns.ts.
 * Root only: skipped with the reason printed otherwise (failing under
 * RTCMESH_REQUIRE_SYSTEM=1).
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { ConnectionState, type PeerConnectionConfig, type PeerConnectionStats } from '../api.js';
import { candidateType, LabPeer, relaySignaling, type AgentEvent } from './lab-peer.js';
import { createNatLab, describeNatLab, startLabTurn, type LabTurn, type NatLab, type RouterOptions } from './netns.js';

/**
 * node-datachannel (libjuice) gives up ~42 s after the offer when no pair works
 * (observed on 2 loaded cores; up to 68 s with 8 agents starting at once under
 * load); FAILED must come within this bound.
 */
const FAIL_BOUND_MS = 90_000;

describeNatLab('NAT traversal in network namespaces', (turnserver) => {
  /** A lab with coturn; destroyed after the suite whatever happens. */
  function labFixture(routers: { A?: RouterOptions; B?: RouterOptions }) {
    const fixture = { lab: undefined as unknown as NatLab, turn: undefined as unknown as LabTurn };
    beforeAll(async () => {
      fixture.lab = await createNatLab(routers);
      fixture.turn = await startLabTurn(fixture.lab, turnserver);
    }, 30_000);
    afterAll(async () => {
      await fixture.lab?.destroy();
    });
    return fixture;
  }
  /** Both homes behind port-preserving NATs (endpoint-independent mapping). */
  const cone = labFixture({});
  /** Home A behind a symmetric NAT (a random port per destination), home B port-preserving. */
  const symmetric = labFixture({ A: { symmetric: true } });

  const running: LabPeer[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.close()));
  });

  /** Two peers (A offers), one per home, signaled through this process. */
  async function connectPair(lab: NatLab, config: PeerConnectionConfig, configB = config): Promise<{ a: LabPeer; b: LabPeer; candidates: { a: string[]; b: string[] } }> {
    const a = new LabPeer(lab, lab.ns.homeA, 'homeA');
    const b = new LabPeer(lab, lab.ns.homeB, 'homeB');
    running.push(a, b);
    const candidates = { a: [] as string[], b: [] as string[] };
    a.events.on('candidate', (e: AgentEvent) => candidates.a.push(e['candidate']));
    b.events.on('candidate', (e: AgentEvent) => candidates.b.push(e['candidate']));
    relaySignaling(a, b);
    await Promise.all([a.ready(), b.ready()]);
    b.send({ op: 'start', mode: 'peer', id: 2, remoteId: 1, config: configB, offer: false });
    a.send({ op: 'start', mode: 'peer', id: 1, remoteId: 2, config, offer: true });
    return { a, b, candidates };
  }

  async function stats(p: LabPeer): Promise<PeerConnectionStats> {
    const reply = p.next('stats');
    p.send({ op: 'stats' });
    return (await reply)['stats'] as PeerConnectionStats;
  }

  /** Both sides open, greet each other; returns both sides' stats. */
  async function exchange(a: LabPeer, b: LabPeer): Promise<[PeerConnectionStats, PeerConnectionStats]> {
    const greetings = Promise.all([a.next('packet', (e) => e['text'] === 'hello from 2', 20_000, true), b.next('packet', (e) => e['text'] === 'hello from 1', 20_000, true)]);
    greetings.catch(() => undefined); // reported below, or superseded by the open failure
    await Promise.all([a.next('open', undefined, 20_000, true), b.next('open', undefined, 20_000, true)]);
    await greetings;
    return Promise.all([stats(a), stats(b)]);
  }

  /** Resolve with the time (ms) until the connection reached FAILED; reject if it connects or takes longer than the bound. */
  async function failsWithin(p: LabPeer, started: number): Promise<number> {
    const connected = p.next('state', (e) => e['state'] === ConnectionState.CONNECTED, FAIL_BOUND_MS, true).then(() => {
      throw new Error(`${p.name} connected although no candidate pair should work`);
    });
    const failed = p.next('state', (e) => e['state'] === ConnectionState.FAILED, FAIL_BOUND_MS, true);
    connected.catch(() => undefined);
    failed.catch(() => undefined);
    await Promise.race([failed, connected]);
    const ms = performance.now() - started;
    console.log(`[nat] ${p.name} reached FAILED after ${Math.round(ms)} ms`);
    return ms;
  }

  it('connects through STUN: the selected pair is server-reflexive on both sides', async () => {
    const { lab, turn } = cone;
    const { a, b, candidates } = await connectPair(lab, { iceServers: [{ urls: turn.stunUrl }] });
    const [sa, sb] = await exchange(a, b);
    expect(candidates.a.map(candidateType)).toContain('srflx');
    expect(sa.selectedCandidatePair?.local).toMatchObject({ type: 'srflx', address: lab.routerIp.A });
    expect(sb.selectedCandidatePair?.local).toMatchObject({ type: 'srflx', address: lab.routerIp.B });
    expect(sa.selectedCandidatePair?.remote.address).toBe(lab.routerIp.B);
    expect(sb.selectedCandidatePair?.remote.address).toBe(lab.routerIp.A);
  }, 60_000);

  it('connects through TURN (relay only): the selected pair is relayed by coturn', async () => {
    const { lab, turn } = cone;
    const { a, b, candidates } = await connectPair(lab, {
      iceTransportPolicy: 'relay',
      iceServers: [{ urls: turn.turnUrl, username: turn.username, credential: turn.credential }],
    });
    const [sa, sb] = await exchange(a, b);
    expect(candidates.a.length).toBeGreaterThan(0);
    expect(candidates.a.every((c) => candidateType(c) === 'relay')).toBe(true);
    for (const s of [sa, sb]) {
      expect(s.selectedCandidatePair?.local).toMatchObject({ type: 'relay', address: lab.publicIp });
      expect(s.selectedCandidatePair?.remote).toMatchObject({ type: 'relay', address: lab.publicIp });
    }
  }, 60_000);

  /**
   * Both cases run at once (libjuice takes ~40 s to give up): host candidates
   * only across two NATs, and STUN when one NAT is symmetric.
   */
  it('without a usable candidate pair ICE ends in FAILED within a bounded time: host-only, and STUN across a symmetric NAT', async () => {
    const started = performance.now();
    const hostOnly = await connectPair(cone.lab, {});
    const stunOnly = await connectPair(symmetric.lab, { iceServers: [{ urls: symmetric.turn.stunUrl }] });
    const times = await Promise.all([hostOnly.a, hostOnly.b, stunOnly.a, stunOnly.b].map((p) => failsWithin(p, started)));
    expect(Math.max(...times)).toBeLessThan(FAIL_BOUND_MS);
    for (const { a, b } of [hostOnly, stunOnly]) {
      const [sa, sb] = await Promise.all([stats(a), stats(b)]);
      // FAILED is final: the engine then closes the connection.
      expect([ConnectionState.FAILED, ConnectionState.CLOSED]).toContain(sa.connectionState);
      expect(sa.selectedCandidatePair).toBeNull();
      expect(sb.selectedCandidatePair).toBeNull();
      expect([...a.history, ...b.history].some((e) => e.ev === 'open')).toBe(false);
    }
    // Host-only: every candidate is a private address the other home cannot route to.
    const { candidates } = hostOnly;
    expect(candidates.a.length).toBeGreaterThan(0);
    expect(candidates.a.every((c) => candidateType(c) === 'host' && c.includes(cone.lab.homeIp.A))).toBe(true);
    expect(candidates.b.every((c) => candidateType(c) === 'host' && c.includes(cone.lab.homeIp.B))).toBe(true);
    // Symmetric: A learned a server-reflexive address, but its NAT maps the flow to B to another port.
    const srflx = stunOnly.candidates.a.filter((c) => candidateType(c) === 'srflx');
    expect(srflx.length).toBeGreaterThan(0);
    expect(srflx[0]).toContain(symmetric.lab.routerIp.A);
  }, FAIL_BOUND_MS + 15_000);

  /**
   * TURN across the symmetric NAT, both peers relay-only. (Observed with
   * node-datachannel 0.33.4: with `iceTransportPolicy: 'all'` on either side
   * libjuice ends in FAILED here: a check that arrives over a relay from a
   * port it has not seen is not learned as a peer-reflexive candidate,
   * libjuice issue #285, fixed upstream by libjuice PR #301.)
   */
  it('across a symmetric NAT TURN still connects them (relayed pair selected)', async () => {
    const { lab, turn } = symmetric;
    const { a, b } = await connectPair(lab, {
    iceTransportPolicy: 'relay',
    iceServers: [{ urls: turn.turnUrl, username: turn.username, credential: turn.credential }],
    });
    const [sa, sb] = await exchange(a, b);
    for (const s of [sa, sb]) {
    expect(s.selectedCandidatePair?.local).toMatchObject({ type: 'relay', address: lab.publicIp });
    expect(s.selectedCandidatePair?.remote).toMatchObject({ type: 'relay', address: lab.publicIp });
    }
  }, 60_000);
});
