/**
 * Redrawing a view in place on a terminal (`status -w`, `wait`'s progress
 * line), with plain ANSI sequences: no curses, no dependency.
 *
 * A full-screen view (`FullScreen`) uses the terminal's alternate screen (as
 * `top` and `less` do), hides the cursor, and draws each frame in one write:
 * cursor home, every line cleared to its end as it is written, the rest of
 * the screen cleared after the last line, so the old frame is never blanked
 * first (no flicker). Lines are cut to the width (a wrapped line would shift
 * everything below it) and the frame to the height. `close()` (also on
 * Ctrl-C: the caller's signal handler) shows the cursor and returns to the
 * normal screen as it was.
 */

const ESC = '\x1b[';
/** An ANSI escape sequence (colours, cursor moves). */
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/y;

/** The visible width of a line: characters, not escape sequences (wide characters count one; tend's names are ASCII). */
export function visibleWidth(line: string): number {
  let n = 0;
  for (let i = 0; i < line.length; ) {
    ANSI.lastIndex = i;
    const m = ANSI.exec(line);
    if (m) {
      i += m[0].length;
      continue;
    }
    const cp = line.codePointAt(i)!;
    i += cp > 0xffff ? 2 : 1;
    n++;
  }
  return n;
}

/** Cut a line to `cols` visible characters (escape sequences kept; a cut line ends with `…` and a colour reset). */
export function cutLine(line: string, cols: number): string {
  if (cols <= 0) return '';
  if (visibleWidth(line) <= cols) return line;
  let out = '';
  let n = 0;
  let styled = false;
  for (let i = 0; i < line.length; ) {
    ANSI.lastIndex = i;
    const m = ANSI.exec(line);
    if (m) {
      out += m[0];
      styled = true;
      i += m[0].length;
      continue;
    }
    if (n === cols - 1) break;
    const cp = line.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    out += ch;
    i += ch.length;
    n++;
  }
  return `${out}…${styled ? `${ESC}0m` : ''}`;
}

/**
 * The lines of a frame fitted to a terminal of `cols` × `rows`: lines cut to the width, and when
 * the text is taller than the screen its first rows - 1 lines and a last line saying how many more.
 */
export function fitFrame(text: string, cols: number, rows: number): string[] {
  const lines = text.replace(/\n$/, '').split('\n');
  let shown = lines;
  if (rows > 0 && lines.length > rows) {
    const keep = Math.max(0, rows - 1);
    shown = [...lines.slice(0, keep), `… ${lines.length - keep} more lines (a taller terminal shows them)`];
  }
  return shown.map((l) => cutLine(l, cols));
}

/** The bytes that draw `lines` over the previous frame from the top-left corner. */
export function frameBytes(lines: string[]): string {
  return `${ESC}H${lines.map((l) => `${l}${ESC}K`).join('\r\n')}${ESC}J`;
}

export interface Terminal {
  write(s: string): unknown;
  columns?: number;
  rows?: number;
  on?(event: 'resize', fn: () => void): unknown;
  off?(event: 'resize', fn: () => void): unknown;
}

/** A full-screen view on the alternate screen; `draw` redraws it, `close` restores the terminal. */
export class FullScreen {
  readonly #tty: Terminal;
  #last = '';
  #open = false;
  readonly #onResize = () => this.draw(this.#last);

  constructor(tty: Terminal) {
    this.#tty = tty;
  }

  draw(text: string): void {
    if (!this.#open) {
      this.#open = true;
      // Alternate screen, cursor hidden.
      this.#tty.write(`${ESC}?1049h${ESC}?25l`);
      this.#tty.on?.('resize', this.#onResize);
    }
    this.#last = text;
    // A pseudo-terminal nobody sized (script, ssh without a tty size) says 0.
    this.#tty.write(frameBytes(fitFrame(text, this.#tty.columns || 80, this.#tty.rows || 24)));
  }

  /** Show the cursor and return to the normal screen; idempotent. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#tty.off?.('resize', this.#onResize);
    this.#tty.write(`${ESC}?25h${ESC}?1049l`);
  }
}

/** One line redrawn in place (a progress bar): carriage return, the line, clear to its end. */
export class StatusLine {
  readonly #tty: Terminal;
  #shown = false;

  constructor(tty: Terminal) {
    this.#tty = tty;
  }

  draw(line: string): void {
    if (!this.#shown) this.#tty.write(`${ESC}?25l`);
    this.#shown = true;
    this.#tty.write(`\r${cutLine(line, (this.#tty.columns || 80) - 1)}${ESC}K`);
  }

  /** End the line (it stays on screen) and show the cursor; idempotent. */
  close(): void {
    if (!this.#shown) return;
    this.#shown = false;
    this.#tty.write(`\n${ESC}?25h`);
  }
}
