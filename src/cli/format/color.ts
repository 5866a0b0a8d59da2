/**
 * Terminal colour: on when stdout is a TTY, off when piped, when NO_COLOR is
 * set (https://no-color.org) or with `-no-color`.
 */
export interface Palette {
  enabled: boolean;
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

export function shouldColor(opts: { isTTY?: boolean; env: NodeJS.ProcessEnv; noColor?: boolean }): boolean {
  if (opts.noColor) return false;
  if (opts.env.NO_COLOR !== undefined && opts.env.NO_COLOR !== '') return false;
  if (opts.env.TERM === 'dumb') return false;
  return opts.isTTY === true;
}

const wrap = (on: boolean, open: number, close: number) => (s: string) => (on && s ? `\x1b[${open}m${s}\x1b[${close}m` : s);

export function palette(enabled: boolean): Palette {
  return {
    enabled,
    bold: wrap(enabled, 1, 22),
    dim: wrap(enabled, 2, 22),
    red: wrap(enabled, 31, 39),
    green: wrap(enabled, 32, 39),
    yellow: wrap(enabled, 33, 39),
    cyan: wrap(enabled, 36, 39),
  };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** The text without colour escapes. */
export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

/** Printed width of a cell (escapes take no room). */
export function visibleWidth(s: string): number {
  return stripAnsi(s).length;
}
