/**
 * `npm run bench` runs every suite; `npm run bench -- <suite> [...]` runs some.
 * Each suite runs in its own process so one suite's sockets and memory never
 * colour another's figures; each prints a table and, last, one JSON line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
  .sort();
const order = ['peer', 'mesh', 'rpc', 'signaling', 'virtual', 'maintain'];
const requested = process.argv.slice(2);
const suites = requested.length > 0 ? requested : [...order.filter((s) => available.includes(s)), ...available.filter((s) => !order.includes(s))];

let failed = 0;
for (const suite of suites) {
  const file = `${dir}${suite}.ts`;
  if (!existsSync(file)) {
    process.stderr.write(`bench: no suite "${suite}"; available: ${available.join(', ')}\n`);
    failed++;
    continue;
  }
  process.stdout.write(`\n=== bench ${suite} ===\n`);
  // A suite that does not exit by itself after its figures leaks a handle: stop it and fail.
  const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', file], { stdio: 'inherit', timeout: 15 * 60_000, killSignal: 'SIGKILL' });
  if (result.error || result.signal) process.stderr.write(`bench: suite "${suite}" did not finish within 15 minutes\n`);
  if (result.status !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
