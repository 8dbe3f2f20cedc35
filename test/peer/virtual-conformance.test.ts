/**
 * The peer conformance suite on the virtual network (real-time clock): the
 * same tests the node-datachannel engine passes.
 */
import { afterAll } from 'vitest';
import { VirtualNetwork } from '../api.js';
import { definePeerConformance } from './conformance.js';

const net = new VirtualNetwork({ clock: 'realtime', defaultLink: { latencyMs: 2 } });
const hosts = [net.createHost(), net.createHost()];
let next = 0;
definePeerConformance('virtual network', {
  engine: () => hosts[next++ % 2]!.engine,
  config: {},
  // The virtual engine refuses a port outside 1..65535 ("Invalid candidate port").
  refusedCandidate: 'candidate:1 1 udp 2122317823 10.9.9.9 0 typ host',
});
afterAll(() => net.close());
