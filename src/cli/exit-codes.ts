/**
 * Exit codes of the `rtcmesh` command, and how an error becomes one line on
 * stderr plus one of them. Documented in `rtcmesh --help` and docs/getting-started.md.
 * @module
 */
import { isRtcmeshError, ErrorCode } from '../errors.js';

/** Every exit status `rtcmesh` uses. */
export const ExitCode = {
  /** Finished as asked. */
  OK: 0,
  /** Unexpected failure (a bug, or an error with no better code). */
  FAILURE: 1,
  /** Bad command line: unknown command or option, missing or invalid value. */
  USAGE: 2,
  /** A network resource was unavailable: port in use, server unreachable, address not bindable. */
  NETWORK: 3,
  /** The run completed but its check failed: a load test saw errors, a bench suite failed. */
  CHECK_FAILED: 4,
  /** Stopped by SIGINT/SIGTERM before it finished (only where a run has a defined end). */
  INTERRUPTED: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The table printed at the end of `rtcmesh --help`. */
export const EXIT_CODES_HELP = `Exit codes:
  0    finished as asked
  1    unexpected failure
  2    bad command line (unknown command/option, invalid value)
  3    network unavailable (port in use, server unreachable)
  4    run completed but its check failed (load test errors, bench suite failed)`;

/** A failure that already knows its exit code and hint. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

const NETWORK_CODES = new Set(['EADDRINUSE', 'EADDRNOTAVAIL', 'EACCES', 'ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET', 'ETIMEDOUT']);

/** Map any thrown value to a one-line message, a hint and an exit code. */
export function describeFailure(err: unknown, command: string | undefined): { line: string; hint?: string; code: ExitCode } {
  const helpHint = `run "rtcmesh ${command ? `${command} ` : ''}--help" for the options`;
  if (err instanceof CliError) return { line: firstLine(err.message), ...(err.hint ? { hint: err.hint } : {}), code: err.exitCode };
  if (isRtcmeshError(err, ErrorCode.INVALID_ARGUMENT)) return { line: firstLine(err.message), hint: helpHint, code: ExitCode.USAGE };
  const sys = findSystemCode(err);
  if (sys && NETWORK_CODES.has(sys)) {
    const hint =
      sys === 'EADDRINUSE' ? 'another process uses that port: pick another with --port, or --port 0 for any free port' : sys === 'ECONNREFUSED' ? 'is the server running at that address? start one with "rtcmesh serve"' : 'check the address and that it is reachable from this machine';
    return { line: firstLine(messageOf(err)), hint, code: ExitCode.NETWORK };
  }
  return { line: firstLine(messageOf(err)), hint: 'this looks like a bug: please report it with the command you ran', code: ExitCode.FAILURE };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function firstLine(text: string): string {
  return text.split('\n').find((l) => l.trim() !== '') ?? text;
}

function findSystemCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
