/**
 * Small text helpers of the CLI: an aligned table and a percentile.
 * @module
 */

/** Render rows under a header as aligned columns (numbers right-aligned), ending with a newline. */
export function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const isNum = (s: string) => /^-?[\d.]+%?$/.test(s) || s === '-';
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (isNum(c) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return `${[line(header), sep, ...rows.map(line)].join('\n')}\n`;
}

/** Samples a board keeps for its percentiles: the newest 20 000. */
const MAX_SAMPLES = 20_000;

/** Appends a sample to a window of the newest {@link MAX_SAMPLES}. */
export function pushSample(samples: number[], value: number): void {
  samples.push(value);
  if (samples.length > MAX_SAMPLES) samples.splice(0, samples.length - MAX_SAMPLES);
}

/** The q-quantile (0..1) of ascending values, nearest rank; 0 when empty. */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}
