import { datachannelEngine } from '../../src/index.js';
import { LOOPBACK } from '../helpers.js';
import { definePeerConformance } from './conformance.js';

definePeerConformance('node-datachannel', { engine: () => datachannelEngine, config: LOOPBACK });
