/**
 * bench/rpc's per-stage meters: each stage's wall-clock rate and process CPU
 * time per message and, when asked (stderr), the node-datachannel calls per
 * message (RPC_BENCH_NATIVE=1) or the CPU time and context switches per thread
 * group, the phase split and the wire bytes per message (RPC_BENCH_THREADS=1).
 */
import type ndc from 'node-datachannel';
import { nativeCalls, perMessage } from './native-calls.js';
import { threadSnapshot, threadsPerMessage } from './thread-cpu.js';

/** Wall-clock rate and process CPU time (all threads: JS and the native SCTP stack) per message of a stage. */
export interface Rate {
  perS: number;
  cpuUs: number;
}

/** What a stage reports on besides its rate (bench/rpc reads them from its environment). */
export interface StageMeterOptions {
  /** RPC_BENCH_NATIVE=1: count node-datachannel calls per message and turns per stage (debug; stderr). */
  native: boolean;
  /** RPC_BENCH_THREADS=1: CPU time and context switches per message of each thread group, user/system split (debug; stderr). */
  threads: boolean;
}

/** The meters of one bench run, sharing the phase split and the native connections. */
export interface StageMeters {
  /**
   * Start measuring a stage. `done(count, turns, sendingTurns)` gives its rate;
   * with RPC_BENCH_NATIVE=1 it also reports (stderr) the node-datachannel calls
   * per message, the turns the stage took and after how many of them every
   * message had been handed over (count / PER_TURN when the high-water mark
   * never held a burst back).
   */
  meter(stage: string): (count: number, turns: number, sendingTurns: number) => Rate;
  /** The stage's last message was handed over now, with `received` of them arrived (RPC_BENCH_THREADS' phase split). */
  handedOver(received: number): void;
  /** The link's two native connections (for RPC_BENCH_THREADS' wire counts). */
  setNatives(pcs: ndc.PeerConnection[]): void;
}

/** Fresh meters for one bench run; the native connections are unset (no wire counts) until setNatives(). */
export function stageMeters(options: StageMeterOptions): StageMeters {
  let handed = { at: 0, received: 0 };
  let natives: ndc.PeerConnection[] = [];
  /** Bytes each native connection has sent, A then B (SCTP packets as handed to DTLS: data from A, mostly SACKs from B). */
  function wireBytes(): number[] {
    return natives.map((pc) => pc.bytesSent());
  }
  return {
    meter(stage) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const calls0 = options.native ? nativeCalls() : undefined;
      const threads0 = options.threads ? threadSnapshot() : undefined;
      const wire0 = options.threads ? wireBytes() : [];
      return (count, turns, sendingTurns) => {
        const s = (performance.now() - t0) / 1000;
        const c = process.cpuUsage(c0);
        if (calls0) {
          process.stderr.write(`bench/rpc: ${stage}: per message ${perMessage(calls0, nativeCalls(), count)}; ${turns} turns, all handed over after ${sendingTurns}\n`);
        }
        if (threads0) {
          const us = (n: number) => (n / count).toFixed(2);
          process.stderr.write(
            `bench/rpc: ${stage}: ${Math.round(count / s)}/s; per message user ${us(c.user)} µs, system ${us(c.system)} µs; ${turns} turns; handed over at ${(handed.at - t0).toFixed(0)} ms (${handed.received} arrived), done at ${(s * 1000).toFixed(0)} ms; wire B/msg ${wireBytes().map((b, i) => ((b - wire0[i]!) / count).toFixed(1)).join(' ')}; threads ${threadsPerMessage(threads0, threadSnapshot(), count)}\n`,
          );
        }
        return { perS: count / s, cpuUs: (c.user + c.system) / count };
      };
    },
    handedOver(received) {
      handed = { at: performance.now(), received };
    },
    setNatives(pcs) {
      natives = pcs;
    },
  };
}
