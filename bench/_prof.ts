import { Encoder } from '@colyseus/schema';
Encoder.BUFFER_SIZE = 512 * 1024;
process.argv[1] = 'x';
const m = await import('./sync.js');
(m as any).runOnceForProfile?.();
