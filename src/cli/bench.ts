/**
 * `rtcmesh bench [suite...]`: run bench/run.ts (each suite in its own process)
 * from the source checkout this command belongs to.
 * @module
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CliError, ExitCode } from './exit-codes.js';

/** The bench folder of this checkout (src/cli and dist/cli are both two levels down). */
function benchDir(): string {
  return fileURLToPath(new URL('../../bench/', import.meta.url));
}

/** Run suites (all when empty), or list them. Resolves with an exit code. */
export async function runBench(suites: string[], options: { list: boolean; out: (text: string) => void }): Promise<ExitCode> {
  const dir = benchDir();
  if (!existsSync(`${dir}run.ts`)) {
    throw new CliError('bench: no bench/ folder next to this rtcmesh (benchmarks ship with the source checkout, not the npm package)', ExitCode.USAGE, 'git clone the repository, npm install, then run "npx rtcmesh bench"');
  }
  const available = readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
    .map((f) => f.slice(0, -3))
    .sort();
  if (options.list) {
    options.out(`${available.join('\n')}\n`);
    return ExitCode.OK;
  }
  const unknown = suites.filter((s) => !available.includes(s));
  if (unknown.length > 0) {
    throw new CliError(`bench: no suite ${unknown.map((s) => `"${s}"`).join(', ')}; available: ${available.join(', ')}`, ExitCode.USAGE, 'run "rtcmesh bench --list" for the suites');
  }
  const child = spawn(process.execPath, ['--import', 'tsx', `${dir}run.ts`, ...suites], { stdio: 'inherit' });
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return code === 0 ? ExitCode.OK : ExitCode.CHECK_FAILED;
}
