#!/usr/bin/env node
// `npm start`: run `rtcmesh <args>` from dist/, building first only when the
// sources changed since the last build (so a built checkout starts at once).
// The build itself runs at install time (`prepare`).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = join(root, 'dist', 'cli', 'main.js');

/** Newest modification time under `path` (files only). */
function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let max = 0;
  for (const entry of readdirSync(path)) max = Math.max(max, newest(join(path, entry)));
  return max;
}

const inputs = [join(root, 'src'), join(root, 'tsconfig.json'), join(root, 'tsconfig.build.json'), join(root, 'package.json')].filter(existsSync);
const stale = !existsSync(built) || Math.max(...inputs.map(newest)) > statSync(built).mtimeMs;
if (stale) {
  process.stdout.write(`rtcmesh: ${existsSync(built) ? 'sources changed since the last build' : 'no build yet'}; building (npm run build)…\n`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write('rtcmesh: the build failed (see above); fix it and run npm start again\n');
    process.exit(result.status ?? 1);
  }
}
process.argv = [process.argv[0], built, ...process.argv.slice(2)];
await import(pathToFileURL(built).href);
