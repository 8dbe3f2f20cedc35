import { runStar } from './virtual.js';
const n = Number(process.argv[2] ?? 6);
const cpus: number[] = [];
for (let i = 0; i < n; i++) { const r = runStar(1000, 3); cpus.push(r.cpuS); }
cpus.sort((a, b) => a - b);
console.log('cpu s sorted', cpus.map((c) => c.toFixed(3)).join(' '), 'min', cpus[0]!.toFixed(3), 'med', cpus[cpus.length >> 1]!.toFixed(3));
