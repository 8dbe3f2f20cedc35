import { datachannelEngine } from '../api.js';
import { LOOPBACK } from '../helpers.js';
import { definePeerConformance } from './conformance.js';

definePeerConformance('node-datachannel', {
  engine: () => datachannelEngine,
  config: LOOPBACK,
  // libdatachannel parses the priority as 32 bits: 2^32 is "Invalid candidate format".
  refusedCandidate: 'candidate:1 1 udp 4294967296 127.0.0.1 9 typ host',
});
