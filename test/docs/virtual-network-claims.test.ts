/**
 * Claims of docs/virtual-network.md ("Hosts and links") that no other test
 * asserted. Each `it()` quotes the claim it checks.
 */
import { describe, expect, it } from 'vitest';
import { VirtualNetwork } from '../api.js';

describe('docs/virtual-network.md: hosts', () => {
  it('"const client = net.createHost(\'client\'); // gets address 10.0.0.2"; "a name that is an IPv4 address is used as the address; any other name gets the next free 10.x.y.z"', () => {
    const net = new VirtualNetwork({ seed: 42 });
    try {
      const server = net.createHost('server');
      const client = net.createHost('client');
      expect(server.address).toBe('10.0.0.1');
      expect(client.address).toBe('10.0.0.2');
      expect(net.createHost('192.168.7.9').address).toBe('192.168.7.9');
      expect(net.createHost().address).toMatch(/^10\.\d+\.\d+\.\d+$/);
    } finally {
      net.close();
    }
  });

  it('"net.link(a, b, { loss: 0.3 }) changes only the loss"; "net.conditions(from, to)" reads a direction; defaults reorderDelayMs 10, queueBytes 64 KiB, overheadBytes 48', () => {
    const net = new VirtualNetwork({ seed: 1 });
    try {
      const a = net.createHost('a');
      const b = net.createHost('b');
      net.link(a, b, { latencyMs: 40, backward: { latencyMs: 60 } });
      net.link(a, b, { loss: 0.3 });
      expect(net.conditions(a, b)).toMatchObject({ latencyMs: 40 });
      expect(net.conditions(b, a)).toMatchObject({ latencyMs: 60 });
      expect(net.conditions(a, b).loss).toEqual({ rate: 0.3 });
      // the table's defaults: reorderDelayMs 10, queueBytes 64 KiB, overheadBytes 48
      expect(net.conditions(a, b)).toMatchObject({ reorderDelayMs: 10, queueBytes: 65536, overheadBytes: 48 });
    } finally {
      net.close();
    }
  });
});
