/**
 * Terminal output of the demo: on a TTY (and without NO_COLOR) a block
 * redrawn in place; otherwise plain lines.
 * @module
 */

/** Where the demo writes. */
export class Screen {
  readonly live: boolean;
  private drawn = 0;

  constructor(
    private readonly write: (text: string) => void,
    tty: boolean,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.live = tty && env['NO_COLOR'] === undefined && env['TERM'] !== 'dumb';
  }

  /** A line that stays (printed above the live block). */
  line(text: string): void {
    this.clear();
    this.write(`${text}\n`);
  }

  /** Replace the live block (TTY) — no-op in plain mode. */
  block(text: string): void {
    if (!this.live) return;
    this.clear();
    const body = text.endsWith('\n') ? text : `${text}\n`;
    this.write(body);
    this.drawn = body.split('\n').length - 1;
  }

  /** Leave the live block on screen as it is. */
  release(): void {
    this.drawn = 0;
  }

  private clear(): void {
    if (this.live && this.drawn > 0) this.write(`\x1b[${this.drawn}A\x1b[0J`);
    this.drawn = 0;
  }
}
