/**
 * Test helpers: wait on events with a timeout (never sleep), and connect pairs
 * of real connections on loopback.
 */
import { spawn } from 'node:child_process';
import type { EventEmitter } from 'eventemitter3';
import { ConnectionState, WebRTCPeerConnection, type PeerConnectionConfig, type WebRTCDataChannel } from './api.js';

/** Default time allowed for a WebRTC event on loopback (opening can take ~1 s). */
export const EVENT_TIMEOUT = 10_000;

/** Loopback-only config for test peers. */
export const LOOPBACK: PeerConnectionConfig = { bindAddress: '127.0.0.1' };

/** Resolve when `emitter` emits `event` with args satisfying `pred`. */
export function waitForEvent<T extends unknown[]>(
  emitter: EventEmitter<any>,
  event: string,
  pred: (...args: T) => boolean = () => true,
  timeoutMs = EVENT_TIMEOUT,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for "${event}"`));
    }, timeoutMs);
    const on = (...args: unknown[]) => {
      if (!pred(...(args as T))) return;
      clearTimeout(timer);
      emitter.off(event, on);
      resolve(args as T);
    };
    emitter.on(event, on);
  });
}

/** Resolve when `check()` is true, re-checking on a short interval (polling, not a sleep). */
export function waitUntil(check: () => boolean, what: string, timeoutMs = EVENT_TIMEOUT, everyMs = 5): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out after ${timeoutMs} ms waiting until ${what}`));
      setTimeout(tick, everyMs);
    };
    tick();
  });
}

/** Forward descriptions and candidates between two auto-polling connections. */
export function wire(a: WebRTCPeerConnection, b: WebRTCPeerConnection): void {
  a.on('session_description_created', (type, sdp) => {
    a.setLocalDescription(type, sdp);
    b.setRemoteDescription(type, sdp);
  });
  b.on('session_description_created', (type, sdp) => {
    b.setLocalDescription(type, sdp);
    a.setRemoteDescription(type, sdp);
  });
  a.on('ice_candidate_created', (mid, index, c) => b.addIceCandidate(mid, index, c));
  b.on('ice_candidate_created', (mid, index, c) => a.addIceCandidate(mid, index, c));
}

/** Wait for a channel to open. */
export async function opened(ch: WebRTCDataChannel): Promise<void> {
  if (ch.getReadyState() === 1) return;
  await waitForEvent(ch, 'open');
}

/** Wait for a connection state. */
export async function reachState(pc: WebRTCPeerConnection, state: ConnectionState): Promise<void> {
  if (pc.getConnectionState() === state) return;
  await waitForEvent(pc, 'connection_state_changed', (s: ConnectionState) => s === state);
}

/** Two auto-polling loopback connections, wired to each other. */
export function makePair(config: PeerConnectionConfig = LOOPBACK): [WebRTCPeerConnection, WebRTCPeerConnection] {
  const a = new WebRTCPeerConnection(config, { autoPoll: true });
  const b = new WebRTCPeerConnection(config, { autoPoll: true });
  wire(a, b);
  return [a, b];
}

/** Output and exit code of a finished child process. */
export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run a TypeScript file in a fresh Node process (through tsx) and resolve when
 * it exits by itself; reject (after SIGKILL) if it is still running after
 * `limitMs`, which is how tests catch a process that fails to exit. With
 * `afterOutputMs`, it must also exit within that long of its first output
 * (a fixture that prints when its work is done: the work may take long on a
 * loaded machine, the exit may not).
 */
export function runNode(file: string, args: string[] = [], nodeFlags: string[] = [], limitMs = 60_000, afterOutputMs?: number): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const kill = (why: string) => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not exit within ${why}; stdout: ${stdout}; stderr: ${stderr}`));
    };
    let afterOutput: ReturnType<typeof setTimeout> | undefined;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (afterOutputMs !== undefined) afterOutput ??= setTimeout(() => kill(`${afterOutputMs} ms of its output`), afterOutputMs);
    });
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => kill(`${limitMs} ms`), limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      clearTimeout(afterOutput);
      resolve({ code, stdout, stderr });
    });
  });
}
