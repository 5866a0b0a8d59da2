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
import { platform } from '../platform.js';
import type { TtySize } from './executor.js';

/** Quote one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Clamp a requested size to what a terminal can be (1–1000). */
export function ttySize(rows: unknown, cols: unknown): TtySize {
  const clamp = (v: unknown, d: number) => {
    const n = Number(v);
    return Number.isInteger(n) && n >= 1 ? Math.min(n, 1000) : d;
  };
  return { rows: clamp(rows, 24), cols: clamp(cols, 80) };
}

/** The host tools a terminal needs, by absolute path (the agent's PATH, never the task's). */
export interface TerminalTools {
  script: string;
  stty?: string;
}

/**
 * argv that runs `argv` on a new terminal of `size`; `shell` is the SHELL the
 * command should see (or undefined to leave it unset). Run it with env SHELL=/bin/sh.
 */
export function terminalArgv(tools: TerminalTools, argv: string[], size: TtySize, shell: string | undefined): string[] {
  const setShell = shell === undefined ? 'unset SHELL; ' : `export SHELL=${shellQuote(shell)}; `;
  const resize = tools.stty ? `${tools.stty} rows ${size.rows} cols ${size.cols} 2>/dev/null; ` : '';
  const line = `${resize}${setShell}exec ${argv.map(shellQuote).join(' ')}`;
  return [tools.script, '--quiet', '--return', '--echo', 'always', '--command', line, '/dev/null'];
}

/**
 * Both executors' `exec -t`: `argv` wrapped to run on a terminal, and `env`
 * with SHELL=/bin/sh for script itself (the command gets the env's own SHELL
 * back). Throws `fail(…)` when the host has no script.
 */
export function onTerminal(argv: string[], env: Record<string, string>, size: TtySize, fail: (what: string) => Error): { argv: string[]; env: Record<string, string> } {
  const script = platform().which('script');
  if (!script) throw fail('a terminal (-t) needs script (util-linux) on this host');
  return { argv: terminalArgv({ script, stty: platform().which('stty') }, argv, size, env.SHELL), env: { ...env, SHELL: '/bin/sh' } };
}
