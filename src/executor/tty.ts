/**
 * A pseudo-terminal for the plain executor's `exec -t`, without a native
 * addon: util-linux's `script` (Debian's bsdutils, essential) allocates the
 * pty on the host, makes it the controlling terminal of a new session,
 * copies our stdin pipe into it and its output to our stdout, and exits with
 * the command's code (`-e`). A new window size is set on the terminal's
 * slave side, which the command holds as its stdin (`resizeTerminalOf`).
 * (The oci executor uses the runtime's own terminal: oci/terminal.ts.)
 *
 * `script -c` hands its string to `$SHELL -c`, so the caller must run it with
 * SHELL=/bin/sh (a task's env must never choose what runs as root on the
 * host); the task's own SHELL is exported again inside the string.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants as fsConstants, fstatSync, openSync, readlinkSync } from 'node:fs';
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
 * The plain executor's `exec -t`: `argv` wrapped to run on a terminal, and `env`
 * with SHELL=/bin/sh for script itself (the command gets the env's own SHELL
 * back). Throws `fail(…)` when the host has no script.
 */
export function onTerminal(argv: string[], env: Record<string, string>, size: TtySize, fail: (what: string) => Error): { argv: string[]; env: Record<string, string> } {
  const script = platform().which('script');
  if (!script) throw fail('a terminal (-t) needs script (util-linux) on this host');
  return { argv: terminalArgv({ script, stty: platform().which('stty') }, argv, size, env.SHELL), env: { ...env, SHELL: '/bin/sh' } };
}

/** Major device numbers of Unix 98 pty slaves (/dev/pts/N). */
const PTS_MAJORS = { min: 136, max: 143 };

/**
 * Set the window size of the terminal that the first of `pids` with a pty slave as its stdin has
 * (the command under script): the kernel sends SIGWINCH to the terminal's foreground group. The
 * slave is opened through /proc (O_NOCTTY: never the agent's controlling terminal) and proven a
 * pty slave by its device number before stty (by absolute path) gets it as stdin. False when no
 * such process or no stty.
 */
export function resizeTerminalOf(pids: number[], size: TtySize): boolean {
  const stty = platform().which('stty');
  if (!stty) return false;
  for (const pid of pids) {
    let fd: number | undefined;
    try {
      if (!/^\/dev\/pts\/\d+$/.test(readlinkSync(`/proc/${pid}/fd/0`))) continue;
      fd = openSync(`/proc/${pid}/fd/0`, fsConstants.O_RDONLY | fsConstants.O_NOCTTY | fsConstants.O_NONBLOCK);
      const st = fstatSync(fd);
      const major = Number((BigInt(st.rdev) >> 8n) & 0xfffn);
      if (!st.isCharacterDevice() || major < PTS_MAJORS.min || major > PTS_MAJORS.max) continue;
      const child = spawn(stty, ['rows', String(size.rows), 'cols', String(size.cols)], { stdio: [fd, 'ignore', 'ignore'], env: { PATH: '/usr/bin:/bin' } });
      child.on('error', () => undefined);
      return true;
    } catch {
      /* gone, or not a terminal: the next one */
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  return false;
}
