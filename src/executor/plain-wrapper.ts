/**
 * The plain executor's wrapper: a tiny `/bin/sh` that the agent spawns
 * detached (`setsid`: own session and process group, pgid = wrapper pid) and
 * that outlives the agent. It
 *
 *  1. points its stdout/stderr at the task's FIFOs, opened read-write (`<>`)
 *     so the open never blocks and a missing reader never SIGPIPEs the task;
 *  2. traps the catchable stop signals with a no-op handler, so a signal sent
 *     to the process group reaches the task but not the wrapper (a trapped
 *     signal is reset to its default in children, unlike an ignored one);
 *  3. runs the command in the foreground through an inner `sh` that reports
 *     its own pid on fd 3, resets its oom_score_adj to 0 (a builtin write to
 *     /proc/self: the agent's own, e.g. -900 from the unit's OOMScoreAdjust,
 *     is not inherited, as Nomad's executor does) and then `exec`s the
 *     command, so the reported pid *is* the task's main process (same pid
 *     and start time after exec);
 *  4. when the command ends, writes its exit status to `<dir>/exit` with the
 *     builtin printf (one write(2) of a few bytes; readers take the file only
 *     once it ends in a newline), so an exit that happens while the agent is
 *     down is still recorded. No process is forked after the command: a
 *     helper such as `mv` would carry the task's marker and be killed by a
 *     stop's SIGKILL sweep halfway through recording the exit.
 *
 * TaskHandle.pid is therefore the task's command, and `data.wrapperPid` the
 * wrapper (also the process group id). The status is the shell's `$?`:
 * 128+N means "killed by signal N" — a command that itself exits with 129…192
 * is indistinguishable from one killed by that signal, and is reported as
 * the signal.
 */
import { TendError } from '../errors.js';
import { LaunchFailed, launchSynced, type Launcher } from './launcher.js';
import { SyncedSpawnError } from './spawn-synced.js';

/** Positional parameters: $1 task state dir, $2 stdout FIFO, $3 stderr FIFO, then the command line. */
export const WRAPPER_SCRIPT = [
  'd=$1',
  'exec 1<>"$2" 2<>"$3"',
  'shift 3',
  'trap : HUP INT QUIT ABRT USR1 USR2 PIPE ALRM TERM',
  `/bin/sh -c 'echo $$ >&3; echo 0 2>/dev/null >/proc/self/oom_score_adj; exec "$@" 3>&-' tend-task "$@"`,
  'code=$?',
  `printf '%s\\n' "$code" >"$d/exit"`,
].join('\n');

export interface WrapperSpawn {
  dir: string;
  stdoutFifo: string;
  stderrFifo: string;
  /** The full command line (possibly prefixed by setpriv). */
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** How long to wait for the task's pid (default 10 s). */
  timeoutMs?: number;
  /** Called when the wrapper exits (this process reaps it), for a prompt exit check. */
  onExit?: () => void;
}

/**
 * Spawn the wrapper (through the launcher when there is one: launcher.ts); resolves with the
 * wrapper's pid and the task's pid.
 */
export async function spawnWrapper(opts: WrapperSpawn, launcher?: Launcher): Promise<{ wrapperPid: number; pid: number }> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let r;
  try {
    r = await launchSynced(
      launcher,
      { file: '/bin/sh', args: ['-c', WRAPPER_SCRIPT, 'tend-wrapper', opts.dir, opts.stdoutFifo, opts.stderrFifo, ...opts.argv], cwd: opts.cwd, env: opts.env, timeoutMs },
      opts.onExit,
    );
  } catch (err) {
    const what = err instanceof SyncedSpawnError || err instanceof LaunchFailed ? err.message.replace(/^no report on fd 3/, 'no pid reported') : `launcher: ${(err as Error).message}`;
    throw new TendError('E_LAUNCH_FAILED', `failed to start task wrapper: ${what}`, { cause: err });
  }
  if (r.line === undefined) {
    throw new TendError('E_LAUNCH_FAILED', `failed to start task wrapper: wrapper exited (${r.exitCode ?? 'unknown'}) before reporting the task pid`);
  }
  const pid = Number(r.line);
  if (!Number.isInteger(pid) || pid <= 0) {
    killGroup(r.pid);
    throw new TendError('E_LAUNCH_FAILED', `failed to start task wrapper: expected a pid from the wrapper, got ${JSON.stringify(r.line)}`);
  }
  return { wrapperPid: r.pid, pid };
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
