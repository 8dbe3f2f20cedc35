/** The demo's terminal output: redrawn in place on a TTY, plain lines otherwise or with NO_COLOR. */
import { expect, it } from 'vitest';
import { Screen } from '../src/cli/demo/screen.js';
import { renderTable, percentile } from '../src/cli/table.js';

it('on a TTY the live block is replaced in place and lines stay above it', () => {
  let out = '';
  const s = new Screen((t) => (out += t), true, {});
  expect(s.live).toBe(true);
  s.block('a\nb');
  s.block('c\nd');
  s.line('event');
  expect(out).toBe('a\nb\n\x1b[2A\x1b[0Jc\nd\n\x1b[2A\x1b[0Jevent\n');
});

it('without a TTY, or with NO_COLOR, output is plain lines with no escape codes', () => {
  for (const [tty, env] of [[false, {}], [true, { NO_COLOR: '1' }], [true, { TERM: 'dumb' }]] as const) {
    let out = '';
    const s = new Screen((t) => (out += t), tty, env);
    expect(s.live).toBe(false);
    s.block('table');
    s.line('event');
    expect(out).toBe('event\n');
  }
});

it('tables align columns and percentiles use nearest rank', () => {
  expect(renderTable(['link', 'rtt ms'], [['host - bot1', '0.512'], ['bot1 - bot2', '12.000']])).toBe(
    'link         rtt ms\n-----------  ------\nhost - bot1   0.512\nbot1 - bot2  12.000\n',
  );
  expect(percentile([], 0.5)).toBe(0);
  expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
  expect(percentile([1, 2, 3, 4], 0.99)).toBe(4);
});
