/**
 * System tests run real programs (Chromium, coturn). When one is missing the
 * test is skipped with a printed reason, unless RTCMESH_REQUIRE_SYSTEM=1 (CI),
 * in which case it fails.
 *
 * ```ts
 * const chromium = systemBinary('chromium', '/usr/bin/chromium');
 * describeSystem('Node ↔ Chromium', chromium, (path) => { it(...) });
 * ```
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, it } from 'vitest';

/** True when system tests must not be skipped (CI sets RTCMESH_REQUIRE_SYSTEM=1). */
export const REQUIRE_SYSTEM = process.env['RTCMESH_REQUIRE_SYSTEM'] === '1';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The path of an installed program: each of `candidates` (absolute paths are
 * checked as they are, bare names are looked up on PATH), else `name` on PATH.
 * Undefined when none is executable.
 */
export function systemBinary(name: string, ...candidates: string[]): string | undefined {
  for (const candidate of [...candidates, name]) {
    if (candidate.includes('/')) {
      if (executable(candidate)) return candidate;
      continue;
    }
    for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
      if (dir && executable(join(dir, candidate))) return join(dir, candidate);
    }
  }
  return undefined;
}

/**
 * `describe(name, …)` when `binary` is a path; otherwise a skipped suite (with
 * the reason printed) or, under RTCMESH_REQUIRE_SYSTEM=1, a failing one.
 * `label` names the program in the printed reason.
 */
export function describeSystem(
  name: string,
  binary: string | undefined,
  fn: (path: string) => void,
  label = 'a required system program',
): void {
  if (binary !== undefined) {
    describe(name, () => fn(binary));
    return;
  }
  const reason = `${label} is not installed (install it, e.g. via .ci/run)`;
  if (REQUIRE_SYSTEM) {
    describe(name, () => {
      it('needs its system binary', () => {
        throw new Error(`${reason}; RTCMESH_REQUIRE_SYSTEM=1 forbids skipping`);
      });
    });
    return;
  }
  console.warn(`[rtcmesh] skipping "${name}": ${reason}`);
  describe.skip(name, () => fn(''));
}
