import { Encoder } from '@colyseus/schema';
import { SyncHost } from '../src/sync/host.js';
import { SpatialInterest } from '../src/sync/interest.js';
Encoder.BUFFER_SIZE = 512 * 1024;
const acc: Record<string, number> = {};
function wrap(proto: any, name: string) {
  const f = proto[name];
  proto[name] = function (...a: any[]) {
    const t0 = performance.now();
    try { return f.apply(this, a); } finally { acc[name] = (acc[name] ?? 0) + performance.now() - t0; }
  };
}
wrap(SyncHost.prototype, 'tick');
wrap(SyncHost.prototype, 'updateInterest');
wrap(SyncHost.prototype, 'snapshot');
wrap(SyncHost.prototype, 'encodeParts');
wrap(SpatialInterest.prototype, 'prepare');
wrap(SpatialInterest.prototype, 'collect');
const m = await import('./sync.js');
(m as any).runOnceForProfile();
console.log(Object.fromEntries(Object.entries(acc).map(([k, v]) => [k, (v * 1000 / (360 * 32)).toFixed(1) + ' us/client-tick'])));
