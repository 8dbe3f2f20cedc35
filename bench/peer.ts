/**
 * bench/peer: rtcmesh's peer layer against raw node-datachannel, side by side
 * in one process: 16 KiB bulk MB/s, 64 B messages/s, 64 B ping RTT p50/p99,
 * time to open. Rounds alternate raw and rtcmesh; figures are medians.
 */
import { isMain, median, percentile, printFigures, printTable, round } from './lib/report.js';
import { rawLink, rtcmeshLink, stream, type BenchLink } from './lib/links.js';

const ROUNDS = 3;

async function timeToOpen(make: () => Promise<BenchLink>): Promise<{ ms: number; link: BenchLink }> {
  const t0 = performance.now();
  const link = await make();
  return { ms: performance.now() - t0, link };
}

async function pings(link: BenchLink, count: number): Promise<number[]> {
  link.onMessageB((d) => link.sendB(d));
  const rtts: number[] = [];
  const msg = new Uint8Array(64);
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      link.onMessageA(() => resolve());
      link.sendA(msg);
    });
    rtts.push((performance.now() - t0) * 1000);
  }
  return rtts;
}

interface Figures {
  open: number[];
  bulk: number[];
  msgs: number[];
  rtt: number[];
}

export async function run(): Promise<Record<string, number | string>> {
  const bulkBytes = 48 * 1024 * 1024;
  const smallCount = 150_000;
  const makers = { raw: rawLink, rtcmesh: rtcmeshLink } as const;
  const figs: Record<keyof typeof makers, Figures> = {
    raw: { open: [], bulk: [], msgs: [], rtt: [] },
    rtcmesh: { open: [], bulk: [], msgs: [], rtt: [] },
  };
  for (let round_ = 0; round_ < ROUNDS; round_++) {
    for (const kind of round_ % 2 === 0 ? (['raw', 'rtcmesh'] as const) : (['rtcmesh', 'raw'] as const)) {
      const { link } = await timeToOpen(makers[kind]);
      const f = figs[kind];
      f.bulk.push(bulkBytes / 1e6 / (await stream(link, 16 * 1024, bulkBytes)));
      f.msgs.push(smallCount / (await stream(link, 64, smallCount * 64)));
      f.rtt.push(...(await pings(link, 1000)));
      link.close();
    }
  }
  // Time to open: libdatachannel sometimes waits for a DTLS retransmit (~1 s)
  // on loopback, for raw and rtcmesh alike, so take many samples, alternating.
  for (let i = 0; i < 24; i++) {
    for (const kind of i % 2 === 0 ? (['raw', 'rtcmesh'] as const) : (['rtcmesh', 'raw'] as const)) {
      const { ms, link } = await timeToOpen(makers[kind]);
      figs[kind].open.push(ms);
      link.close();
    }
  }
  const summary = (f: Figures) => ({
    bulk: median(f.bulk),
    msgs: median(f.msgs),
    p50: percentile(f.rtt, 50),
    p99: percentile(f.rtt, 99),
    open: median(f.open),
    openP90: percentile(f.open, 90),
  });
  const raw = summary(figs.raw);
  const ours = summary(figs.rtcmesh);
  printTable(
    `peer: rtcmesh vs raw node-datachannel on loopback (${ROUNDS} alternating rounds, medians)`,
    ['figure', 'raw', 'rtcmesh', 'ratio'],
    [
      ['16 KiB bulk MB/s', raw.bulk, ours.bulk, ours.bulk / raw.bulk],
      ['64 B messages/s', raw.msgs, ours.msgs, ours.msgs / raw.msgs],
      ['64 B ping RTT p50 µs', raw.p50, ours.p50, ours.p50 / raw.p50],
      ['64 B ping RTT p99 µs', raw.p99, ours.p99, ours.p99 / raw.p99],
      ['time to open ms, median of 24', raw.open, ours.open, ours.open / raw.open],
      ['time to open ms, p90', raw.openP90, ours.openP90, ours.openP90 / raw.openP90],
    ],
  );
  const figures = {
    suite: 'peer',
    bulk_MBps: round(ours.bulk, 1),
    raw_bulk_MBps: round(raw.bulk, 1),
    bulk_ratio: round(ours.bulk / raw.bulk),
    msgs_per_s: Math.round(ours.msgs),
    raw_msgs_per_s: Math.round(raw.msgs),
    msg_ratio: round(ours.msgs / raw.msgs),
    rtt_p50_us: round(ours.p50, 1),
    rtt_p99_us: round(ours.p99, 1),
    raw_rtt_p50_us: round(raw.p50, 1),
    rtt_ratio: round(ours.p50 / raw.p50),
    open_ms: round(ours.open, 1),
    raw_open_ms: round(raw.open, 1),
    open_ratio: round(ours.open / raw.open),
    open_p90_ms: round(ours.openP90, 1),
    raw_open_p90_ms: round(raw.openP90, 1),
  };
  printFigures(figures);
  return figures;
}

if (isMain(import.meta.url)) await run();
