/**
 * Reading an RTCStatsReport: round-trip time and the selected candidate pair.
 * @module
 */
import type { EngineCandidateInfo, EngineCandidatePair } from '../engine.js';

/** What the browser engine takes from one `getStats()` report. */
export interface BrowserStatsSnapshot {
  /** Milliseconds (fractional), or -1 when unknown. */
  rttMs: number;
  selectedCandidatePair: EngineCandidatePair | null;
}

/** Nothing known yet. */
export const EMPTY_SNAPSHOT: BrowserStatsSnapshot = { rttMs: -1, selectedCandidatePair: null };

type Stat = Record<string, unknown> & { type: string; id: string };

function candidateInfo(stat: Stat | undefined): EngineCandidateInfo {
  const address = stat?.['address'] ?? stat?.['ip'];
  const port = stat?.['port'];
  const type = stat?.['candidateType'];
  const protocol = stat?.['protocol'];
  return {
    address: typeof address === 'string' ? address : '',
    port: typeof port === 'number' ? port : 0,
    type: typeof type === 'string' ? type : 'unknown',
    transport: protocol === 'udp' || protocol === 'tcp' ? protocol : 'unknown',
  };
}

/**
 * The selected pair is the one the transport names (`selectedCandidatePairId`);
 * older reports only mark it nominated and succeeded.
 */
export function readStatsReport(report: RTCStatsReport): BrowserStatsSnapshot {
  const stats = new Map<string, Stat>();
  report.forEach((value: Stat) => stats.set(value.id, value));
  let pair: Stat | undefined;
  for (const s of stats.values()) {
    if (s.type === 'transport' && typeof s['selectedCandidatePairId'] === 'string') {
      pair = stats.get(s['selectedCandidatePairId']);
      if (pair) break;
    }
  }
  if (!pair) {
    for (const s of stats.values()) {
      if (s.type === 'candidate-pair' && s['nominated'] === true && s['state'] === 'succeeded') {
        pair = s;
        break;
      }
    }
  }
  if (!pair) return EMPTY_SNAPSHOT;
  const rtt = pair['currentRoundTripTime'];
  return {
    rttMs: typeof rtt === 'number' ? rtt * 1000 : -1,
    selectedCandidatePair: {
      local: candidateInfo(stats.get(String(pair['localCandidateId']))),
      remote: candidateInfo(stats.get(String(pair['remoteCandidateId']))),
    },
  };
}
