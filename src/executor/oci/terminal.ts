/**
 * `exec -t` in an oci task, on the runtime's own terminal: conmon runs
 * `runc exec --tty --console-socket …`, so the pseudo-terminal is allocated
 * inside the task (in its /dev/pts: `tty` names it), the command leads a new
 * session with it as controlling terminal (job control works), and conmon
 * holds the master: output and input go through its attach socket
 * (attach-relay.ts), the window size through its ctl fifo (`1 ROWS COLS`),
 * and the exit code comes on its sync pipe. Podman and CRI-O run `exec -it`
 * the same way.
 *
 * The handshake (conmon API v1, --exec-attach, --sync: conmon stays our child):
 *   start pipe (fd 4)  ← a first write: conmon makes the attach socket and fifos
 *   attach pipe (fd 5) → {"data": 0}: the socket listens; the relay connects
 *   start pipe         ← a second write: conmon runs runc exec
 *   sync pipe (fd 3)   → {"data": PID}, or {"data": ≤0, "message": runc's error}
 *                      → later {"data": STATUS}: the exit code (128+N after signal N)
 *
 * Each session has a dir `<oci>/execs/<xid>` (conmon's bundle: process.json,
 * pidfile, ctl and winsz fifos, conmon.pid), removed when it ends; conmon
 * links `<oci>/sockets/<xid>` to it and binds `attach` there (a short path).
 *
 * runc exec enters the task with setns(2), which puts the command at the
 * root of the task's mount namespace: the task's root, unless the agent runs
 * chrooted (then it is the host's; see exec-session.ts). `landsOnOwnRoot`
 * finds out once, and a terminal is refused on such a host.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants as fsConstants, openSync, writeSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { describeError, TendError } from '../../errors.js';
import type { ExecOptions, ExecSession, TtySize } from '../executor.js';
import { failedExec } from '../exec-failure.js';
import { descendants, isAlive, normalizeSignal, readStat } from '../proc.js';
import { startAttachRelay } from './attach-relay.js';
import type { OciSpec } from './bundle.js';
import { cleanRuntimeMessage } from './conmon.js';
import { execEnv } from './exec-session.js';

/** How long each step of the handshake may take. */
const STEP_TIMEOUT_MS = 15_000;

/** What a terminal exec needs of its task and host. */
export interface TerminalTarget {
  /** The task's container id. */
  id: string;
  spec: OciSpec;
  conmon: string;
  runtime: string;
  runcRoot: string;
  /** `<oci>/execs`: one dir per session. */
  execsDir: string;
  /** conmon's --socket-dir-path. */
  socketDir: string;
  perl: string;
}

/** The process of a terminal exec: the task's own (user, capabilities, no_new_privs, rlimits) with the request's command, env and cwd. */
export function terminalProcess(p: OciSpec['process'], command: string[], opts: ExecOptions, size: TtySize): OciSpec['process'] & { consoleSize: { height: number; width: number } } {
  const env = execEnv(p, opts);
  // What docker and kubectl give a terminal without one: programs that draw need a TERM.
  env.TERM ||= 'xterm';
  return {
    ...p,
    terminal: true,
    consoleSize: { height: size.rows, width: size.cols },
    args: command,
    env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    cwd: opts.cwd ?? p.cwd ?? '/',
  };
}

/** conmon's argv for one terminal exec. */
export function conmonExecArgs(t: TerminalTarget, xid: string, dir: string, withStdin: boolean): string[] {
  return [
    '--api-version', '1',
    '--exec', '--exec-attach', '--sync',
    '--exec-process-spec', path.join(dir, 'process.json'),
    '-c', t.id,
    '-u', xid,
    '-n', xid,
    '-r', t.runtime,
    '-b', dir,
    '-p', path.join(dir, 'pidfile'),
    '-l', 'none',
    '--socket-dir-path', t.socketDir,
    '--runtime-arg', `--root=${t.runcRoot}`,
    '--log-level', 'error',
    '-t',
    ...(withStdin ? ['-i'] : []),
  ];
}

/** conmon's `{"data": N, "message": "…"}`. */
export function parseSync(line: string | undefined): { data: number; message?: string } | undefined {
  if (line === undefined) return undefined;
  try {
    const v = JSON.parse(line) as { data?: unknown; message?: unknown };
    if (typeof v.data !== 'number') return undefined;
    return { data: v.data, ...(typeof v.message === 'string' ? { message: v.message } : {}) };
  } catch {
    return undefined;
  }
}

/** What runc's refusal to run the command means: a command that cannot be run (the shell's 127/126) or any other failure. */
export function startFailure(message: string): { reason: 'ENOENT' | 'EACCES' } | undefined {
  if (/exec: "[^"]*": (stat [^:]*: no such file or directory|executable file not found in \$PATH)/.test(message)) return { reason: 'ENOENT' };
  if (/exec: "[^"]*": permission denied/.test(message)) return { reason: 'EACCES' };
  return undefined;
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${STEP_TIMEOUT_MS / 1000}s`)), STEP_TIMEOUT_MS))),
  ]);
}

/** Signal every process under `pid` (deepest first), then `pid` itself. */
function signalTree(pid: number | undefined, sig: NodeJS.Signals, self = true): void {
  if (!pid) return;
  for (const p of [...descendants(pid), ...(self ? [pid] : [])]) {
    try {
      process.kill(p, sig);
    } catch {
      /* gone */
    }
  }
}

export async function startTerminalExec(t: TerminalTarget, command: string[], opts: ExecOptions & { tty: TtySize }): Promise<ExecSession> {
  const fail = (what: string, cause?: unknown) => new TendError('E_EXECUTOR', `failed to exec in task ${t.id}: ${what}`, { cause, details: { id: t.id } });
  const xid = `x${randomBytes(6).toString('hex')}`;
  const dir = path.join(t.execsDir, xid);
  const withStdin = opts.stdin === true;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const removeDir = () => Promise.all([rm(dir, { recursive: true, force: true }), rm(path.join(t.socketDir, xid), { force: true })]).then(() => undefined);
  await writeFile(path.join(dir, 'process.json'), JSON.stringify(terminalProcess(t.spec.process, command, opts, opts.tty)), { mode: 0o600 });

  const conmon = spawn(t.conmon, conmonExecArgs(t, xid, dir, withStdin), {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4', _OCI_ATTACHPIPE: '5' },
  });
  let conmonErr = '';
  conmon.stderr!.on('data', (c: Buffer) => (conmonErr = (conmonErr + c.toString('utf8')).slice(-4096)));
  const closed = new Promise<number | null>((resolve) => {
    conmon.once('error', (err) => {
      conmonErr ||= err.message;
      resolve(null);
    });
    conmon.once('close', (code) => resolve(code));
  });
  const [, , , syncPipe, startPipe, attachPipe] = conmon.stdio as unknown as [unknown, unknown, Readable, Readable, Writable, Readable];
  for (const s of [syncPipe, startPipe, attachPipe]) s.on('error', () => undefined);
  const sync = createInterface({ input: syncPipe, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const attach = createInterface({ input: attachPipe, crlfDelay: Infinity })[Symbol.asyncIterator]();
  // A line, or undefined once conmon is gone without writing one.
  const nextLine = async (it: AsyncIterator<string>, what: string): Promise<string | undefined> => {
    // conmon's pipes close with it (close-on-exec in its children): a line, or the end.
    const r = await withTimeout(it.next(), what);
    return r.done ? undefined : r.value;
  };
  const conmonGone = async (what: string) => {
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([closed, new Promise<null>((r) => (timer = setTimeout(() => r(null), 2000)))]);
    clearTimeout(timer);
    return fail(`${what}: conmon exited (code ${code ?? 'unknown'})${conmonErr.trim() ? `: ${conmonErr.trim()}` : ''}`);
  };
  // Signal a child of ours only while it is unreaped: its pid cannot be another process's yet.
  const stop = (child: ChildProcess | undefined) => {
    if (child && child.exitCode === null && child.signalCode === null) signalTree(child.pid, 'SIGKILL');
  };
  if (conmon.pid) await writeFile(path.join(dir, 'conmon.pid'), `${conmon.pid} ${readStat(conmon.pid)?.startTime ?? 0}`, { mode: 0o600 }).catch(() => undefined);

  let relay: ReturnType<typeof startAttachRelay> | undefined;
  try {
    startPipe.write('{"data": 0}\n');
    if (!parseSync(await nextLine(attach, 'conmon did not open the attach socket'))) throw await conmonGone('failed to open the terminal');
    relay = startAttachRelay(t.perl, path.join(t.socketDir, xid, 'attach'), withStdin);
    await withTimeout(relay.ready, 'the attach relay did not connect').catch((err: unknown) => {
      throw fail(`failed to attach to the terminal: ${describeError(err)}`, err);
    });
    startPipe.end('{"data": 0}\n');
    const started = parseSync(await nextLine(sync, 'conmon did not report the command started'));
    if (!started) throw await conmonGone('failed to start the command');
    if (started.data <= 0) {
      const message = cleanRuntimeMessage(started.message ?? 'no message');
      const cannot = startFailure(message);
      if (cannot) {
        stop(relay.child);
        await closed;
        await removeDir();
        return failedExec(command[0], cannot.reason, withStdin);
      }
      throw fail(message);
    }
  } catch (err) {
    stop(relay?.child);
    stop(conmon);
    await closed;
    await removeDir();
    throw err instanceof TendError ? err : fail(describeError(err), err);
  }

  // The window size: conmon resizes the master when a line comes on its ctl fifo (it holds the read end open).
  let ctl: number | undefined;
  try {
    ctl = openSync(path.join(dir, 'ctl'), fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
  } catch {
    ctl = undefined;
  }
  const relayChild = relay.child;
  const relayClosed = new Promise<void>((resolve) => {
    if (relayChild.exitCode !== null || relayChild.signalCode !== null) resolve();
    else relayChild.once('close', () => resolve());
  });
  const exit = (async () => {
    const status = parseSync(await sync.next().then((r) => (r.done ? undefined : r.value), () => undefined));
    const code = await closed;
    if (ctl !== undefined) closeSync(ctl);
    ctl = undefined;
    // The relay ends once conmon closes the socket; one still there after a while is not waited for.
    const late = setTimeout(() => stop(relayChild), 2000);
    await relayClosed;
    clearTimeout(late);
    await removeDir().catch(() => undefined);
    if (status) return status.data;
    throw fail(`conmon exited (code ${code ?? 'unknown'}) without the command's exit code${conmonErr.trim() ? `: ${conmonErr.trim()}` : ''}`);
  })();
  exit.catch(() => undefined);

  return {
    stdin: relayChild.stdin,
    stdout: relayChild.stdout!,
    stderr: relay.stderr,
    exit,
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      // The command and what it started (conmon reaps them as their subreaper); conmon then reports the exit.
      // Only while conmon is unreaped: its pid cannot belong to another process yet.
      if (conmon.exitCode === null && conmon.signalCode === null) signalTree(conmon.pid, normalizeSignal(signal) ?? 'SIGKILL', false);
    },
    resize(size: TtySize) {
      if (ctl === undefined) return;
      try {
        writeSync(ctl, `1 ${size.rows} ${size.cols}\n`);
      } catch {
        /* conmon gone or the fifo full: the next resize says it again */
      }
    },
  };
}

/**
 * Whether setns(2) into this agent's own mount namespace lands on the agent's root, as runc exec's
 * does into a task's: true unless the agent runs chrooted. Asked of nsenter (util-linux) with a
 * marker file only the agent's root has: a shell there that does not see it, or no shell there at
 * all, is a no. Rejects when nsenter could not be asked (not run, timed out).
 */
export async function landsOnOwnRoot(nsenter: string, scratchDir: string): Promise<boolean> {
  await mkdir(scratchDir, { recursive: true, mode: 0o700 });
  const marker = path.join(scratchDir, `.root-probe-${randomBytes(6).toString('hex')}`);
  await writeFile(marker, '');
  try {
    return await new Promise<boolean>((resolve, reject) => {
      execFile(nsenter, ['--mount=/proc/self/ns/mnt', '--', '/bin/sh', '-c', 'test -e "$1"', 'sh', marker], { timeout: 10_000, env: { PATH: '/usr/bin:/bin' } }, (err) => {
        const code = (err as { code?: unknown } | null)?.code;
        if (!err) resolve(true);
        else if (typeof code === 'number' && !(err as { killed?: boolean }).killed) resolve(false);
        else reject(err);
      });
    });
  } finally {
    await rm(marker, { force: true });
  }
}

/**
 * At agent start: the terminal sessions a previous agent left (their clients went with it). Each
 * one's conmon, proven by pid and start time, is killed with what it runs; its dirs go. Returns the
 * session ids removed.
 */
export async function removeTerminalLeftovers(execsDir: string, socketDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(execsDir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const xid of names) {
    if (!/^x[0-9a-f]{12}$/.test(xid)) continue;
    const [pid, start] = (await readFile(path.join(execsDir, xid, 'conmon.pid'), 'utf8').catch(() => '')).trim().split(' ').map(Number);
    if (pid && isAlive(pid, start)) signalTree(pid, 'SIGKILL');
    await rm(path.join(execsDir, xid), { recursive: true, force: true });
    await rm(path.join(socketDir, xid), { force: true });
    removed.push(xid);
  }
  return removed;
}
