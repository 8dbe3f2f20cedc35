/**
 * Small input checks shared by every public method. Each throws an
 * {@link RtcmeshError} whose message names the argument, the rule and the fix.
 * @module
 */
import { ErrorCode, RtcmeshError } from '../errors.js';
import type { Clock } from './clock.js';

/** Describe a value for an error message without dumping huge objects. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value instanceof Uint8Array) return `a Uint8Array of ${value.length} bytes`;
  switch (typeof value) {
    case 'string':
      return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'undefined':
      return 'undefined';
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    default:
      return 'an object';
  }
}

/** Throw INVALID_ARGUMENT with a uniform message. */
export function invalid(what: string, rule: string, value: unknown): never {
  throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `${what} must be ${rule}, got ${describeValue(value)}`);
}

/** `value` must be a plain object (or undefined → `{}`) with only `allowed` keys. */
export function checkOptions<T extends object>(value: unknown, allowed: readonly string[], what: string): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) invalid(what, 'an options object', value);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new RtcmeshError(
        ErrorCode.UNKNOWN_OPTION,
        `${what} has unknown option "${key}"; allowed options are ${allowed.join(', ')} (names are case-sensitive)`,
      );
    }
  }
  return value as Partial<T>;
}

/** An integer in [min, max]. */
export function checkInt(value: unknown, min: number, max: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(what, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

/** A boolean. */
export function checkBool(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') invalid(what, 'true or false', value);
  return value;
}

/** A string, optionally with a maximum length in characters. */
export function checkString(value: unknown, what: string, maxLength = Infinity): string {
  if (typeof value !== 'string') invalid(what, 'a string', value);
  if (value.length > maxLength) invalid(what, `a string of at most ${maxLength} characters`, value);
  return value;
}

/** One of a fixed set of values. */
export function checkOneOf<T>(value: unknown, allowed: readonly T[], what: string): T {
  if (!allowed.includes(value as T)) invalid(what, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, value);
  return value as T;
}

/** A Uint8Array (Buffer included). */
export function checkBytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) invalid(what, 'a Uint8Array', value);
  return value;
}

/** A clock reading (ms) given to `poll(now)`: a number, not NaN. */
export function checkNow(value: unknown, what: string): number {
  if (typeof value !== 'number' || Number.isNaN(value)) invalid(what, 'a number (a time in ms on the clock that drives this object)', value);
  return value;
}

/** A function (a callback or hook). */
export function checkFunction<T extends (...args: never[]) => unknown>(value: unknown, what: string): T {
  if (typeof value !== 'function') invalid(what, 'a function', value);
  return value as T;
}

/** A clock option: an object with `now()` (a {@link Clock}). */
export function checkClock(value: unknown, what: string): Clock {
  if (value === null || typeof (value as { now?: unknown } | undefined)?.now !== 'function') invalid(what, 'a Clock ({ now(): number })', value);
  return value as Clock;
}

/** A peer id given to a lookup: any integer (an unknown id finds nothing). */
export function checkPeerId(value: unknown, what: string): number {
  if (!Number.isInteger(value)) invalid(what, 'an integer peer id', value);
  return value as number;
}
