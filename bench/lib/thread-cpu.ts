/**
 * Bench debug switch: CPU time and context switches per thread of this
 * process, from Linux's `/proc/self/task/<tid>/{schedstat,status}`, grouped by
 * thread name (`main` is the JavaScript thread; libdatachannel names its own:
 * `RTC worker`, `RTC poll`, `SCTP iterator`, `SCTP timer`; `node` groups
 * V8's and libuv's helpers). Lets a benchmark see which thread a stage's CPU
 * goes to, and how often each one slept (voluntary switches) or was pushed off
 * a core (involuntary ones). Empty on systems without `/proc`.
 * Bench-only: never imported by `src/`.
 * @module
 */
import { readFileSync, readdirSync } from 'node:fs';

/** One group's CPU time (ns) and context switches. */
export interface ThreadFigures {
  ns: number;
  voluntary: number;
  involuntary: number;
}

/** Per thread-name group, cumulative since each thread started. */
export type ThreadSnapshot = Map<string, ThreadFigures>;

/** Read every thread of this process now. */
export function threadSnapshot(): ThreadSnapshot {
  const out: ThreadSnapshot = new Map();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const status = readFileSync(`/proc/self/task/${tid}/status`, 'utf8');
      const field = (name: string) => Number(new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(status)?.[1] ?? 0);
      const name = Number(tid) === process.pid ? 'main' : (/^Name:\s*(.*)$/m.exec(status)?.[1] ?? '?');
      const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      const g = out.get(name) ?? { ns: 0, voluntary: 0, involuntary: 0 };
      g.ns += ns;
      g.voluntary += field('voluntary_ctxt_switches');
      g.involuntary += field('nonvoluntary_ctxt_switches');
      out.set(name, g);
    } catch {
      // the thread ended between listing and reading
    }
  }
  return out;
}

/** Per message between two snapshots: `name µs cpu / voluntary / involuntary` per group, busiest first. */
export function threadsPerMessage(before: ThreadSnapshot, after: ThreadSnapshot, messages: number): string {
  const rows: [string, number, number, number][] = [];
  for (const [name, a] of after) {
    const b = before.get(name) ?? { ns: 0, voluntary: 0, involuntary: 0 };
    rows.push([name, (a.ns - b.ns) / 1000 / messages, (a.voluntary - b.voluntary) / messages, (a.involuntary - b.involuntary) / messages]);
  }
  return rows
    .sort((x, y) => y[1] - x[1])
    .map(([n, us, v, i]) => `${n} ${us.toFixed(2)}µs v${v.toFixed(3)} i${i.toFixed(3)}`)
    .join('; ');
}
