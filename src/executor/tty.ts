/**
 * A pseudo-terminal for `exec -t`, without a native addon: util-linux's
 * `script` (Debian's bsdutils, essential) allocates the pty, makes it the
 * controlling terminal of a new session, copies our stdin pipe into it and
 * its output to our stdout, and exits with the command's code (`-e`).
 *
 * `script -c` hands its string to `$SHELL -c`, so the caller must run it with
 * SHELL=/bin/sh (a task's env must never choose what runs as root on the
 * host); the task's own SHELL is exported again inside the string.
 */
import { existsSync } from 'node:fs';
import type { TtySize } from './executor.js';

/** Quote one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function findScript(): string | undefined {
  return ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));
}

/** Clamp a requested size to what a terminal can be (1–1000). */
export function ttySize(rows: unknown, cols: unknown): TtySize {
  const clamp = (v: unknown, d: number) => {
    const n = Number(v);
    return Number.isInteger(n) && n >= 1 ? Math.min(n, 1000) : d;
  };
  return { rows: clamp(rows, 24), cols: clamp(cols, 80) };
}

/**
 * argv that runs `argv` on a new terminal of `size`; `shell` is the SHELL the
 * command should see (or undefined to leave it unset). Run it with env SHELL=/bin/sh.
 */
export function onTerminal(script: string, argv: string[], size: TtySize, shell: string | undefined): string[] {
  const setShell = shell === undefined ? 'unset SHELL; ' : `export SHELL=${shellQuote(shell)}; `;
  // By absolute path: the string runs as root on the host with the task's PATH.
  const stty = ['/usr/bin/stty', '/bin/stty'].find((p) => existsSync(p));
  const resize = stty ? `${stty} rows ${size.rows} cols ${size.cols} 2>/dev/null; ` : '';
  const line = `${resize}${setShell}exec ${argv.map(shellQuote).join(' ')}`;
  return [script, '--quiet', '--return', '--echo', 'always', '--command', line, '/dev/null'];
}
