/**
 * A thin wrapper of the OCI runtime CLI (runc's verbs; crun takes the same),
 * always with tend's own state root so it only ever sees tend's containers.
 */
import { execFile } from 'node:child_process';
import { closeSync, constants, existsSync, lstatSync, openSync } from 'node:fs';
import { readFile, rm, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { errnoCode, TendError } from '../../errors.js';
import { LauncherUnavailable, type Launcher } from '../launcher.js';
import { isAlive } from '../proc.js';

/** How often a start that waits on the exec FIFO asks whether the container's init still lives. */
const START_CHECK_MS = 50;

export interface ContainerState {
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped' | string;
  bundle: string;
  created?: string;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The human part of runc's stderr: the `msg="…"` of its error lines, or the text as is. */
export function runtimeMessage(stderr: string): string {
  const msgs: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /level=(?:error|fatal)\s+msg="((?:[^"\\]|\\.)*)"/.exec(line);
    if (m) msgs.push(m[1].replace(/\\"/g, '"').replace(/\\\\/g, '\\'));
    else {
      const j = line.trim().startsWith('{') ? safeJson(line) : undefined;
      if (j && typeof j.msg === 'string' && (j.level === 'error' || j.level === 'fatal')) msgs.push(j.msg);
    }
  }
  return (msgs.length ? msgs.join('; ') : stderr.trim()) || 'no output';
}

function safeJson(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export class OciRuntime {
  readonly binary: string;
  readonly root: string;

  readonly #launcher: Launcher | undefined;

  constructor(binary: string, root: string, launcher?: Launcher) {
    this.binary = binary;
    this.root = root;
    this.#launcher = launcher;
  }

  /** Run a runtime verb (through the launcher when there is one); never throws for a non-zero exit (the caller decides). */
  async run(args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
    const argv = [`--root=${this.root}`, ...args];
    const timeoutMs = opts.timeoutMs ?? 30_000;
    if (this.#launcher) {
      try {
        return await this.#launcher.run(this.binary, argv, { input: opts.input, timeoutMs, maxBuffer: 16 << 20 });
      } catch (err) {
        if (!(err instanceof LauncherUnavailable)) throw new TendError('E_EXECUTOR', `failed to run ${this.binary} ${args[0]}: ${(err as Error).message}`, { cause: err });
      }
    }
    return new Promise((resolve, reject) => {
      const child = execFile(this.binary, argv, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        if (err && typeof (err as { code?: unknown }).code !== 'number') {
          reject(new TendError('E_EXECUTOR', `failed to run ${this.binary} ${args[0]}: ${err.message}`, { cause: err }));
          return;
        }
        resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr });
      });
      if (opts.input !== undefined) child.stdin?.end(opts.input);
    });
  }

  async #must(args: string[], verb: string, id: string): Promise<RunResult> {
    const r = await this.run(args);
    if (r.code !== 0) {
      throw new TendError('E_EXECUTOR', `failed to ${verb} container ${id}: ${runtimeMessage(r.stderr)}`, { details: { id, exitCode: r.code } });
    }
    return r;
  }

  /** `runc state`, or undefined when the container does not exist. */
  async state(id: string): Promise<ContainerState | undefined> {
    const r = await this.run(['state', id]);
    if (r.code !== 0) {
      if (/does not exist|not found|no such file/i.test(r.stderr)) return undefined;
      throw new TendError('E_EXECUTOR', `failed to read state of container ${id}: ${runtimeMessage(r.stderr)}`, { details: { id } });
    }
    return JSON.parse(r.stdout) as ContainerState;
  }

  /**
   * `runc start` of a created container. runc's create leaves the container's init waiting to
   * open `<root>/<id>/exec.fifo` for writing; `runc start` opens it for reading, reads the init's
   * byte until the write side closes (the init execs the task, the fd is close-on-exec), then
   * removes the FIFO, after which runc reports the container running. That is done here, on the
   * event loop, instead of starting a runtime process per task; a runtime without that FIFO is
   * asked with its own `start`. `pid` is the container's init: an init that died before it opened
   * the FIFO never closes it, so it is asked after while waiting.
   */
  async start(id: string, pid?: number, timeoutMs = 30_000): Promise<void> {
    const fifo = path.join(this.root, id, 'exec.fifo');
    let isFifo = false;
    try {
      isFifo = lstatSync(fifo).isFIFO();
    } catch {
      /* none: the runtime's own start */
    }
    if (!isFifo) {
      await this.#must(['start', id], 'start', id);
      return;
    }
    let fd: number;
    try {
      fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    } catch (err) {
      throw new TendError('E_EXECUTOR', `failed to start container ${id}: open ${fifo}: ${errnoCode(err) ?? String(err)}`, { cause: err, details: { id } });
    }
    const read = await readToHangup(fd, pid, timeoutMs).catch((err: Error) => {
      throw new TendError('E_EXECUTOR', `failed to start container ${id}: ${err.message}`, { cause: err, details: { id } });
    });
    // No byte: the init was gone before it wrote one (runc: "cannot start a container that has stopped").
    if (read === 0) throw new TendError('E_EXECUTOR', `failed to start container ${id}: its init exited before it was started`, { details: { id } });
    await unlink(fifo).catch((err: unknown) => {
      if (errnoCode(err) !== 'ENOENT') throw new TendError('E_EXECUTOR', `failed to start container ${id}: remove ${fifo}: ${errnoCode(err) ?? String(err)}`, { cause: err, details: { id } });
    });
  }

  /** `runc delete --force`; fine when the container is already gone. */
  async delete(id: string): Promise<void> {
    // runc and crun keep a dir per container under their root: none means
    // nothing to delete, and no fork of the agent to find that out.
    if (!existsSync(path.join(this.root, id))) return;
    const r = await this.run(['delete', '--force', id]);
    if (r.code !== 0 && !/does not exist|not found/i.test(r.stderr)) {
      throw new TendError('E_EXECUTOR', `failed to delete container ${id}: ${runtimeMessage(r.stderr)}`, { details: { id } });
    }
  }

  /**
   * `runc delete` of a container that has no process left (its cgroup destroyed): what runc does
   * then, without starting it — its cgroups are already gone, so it removes the container's state
   * dir. Proven first: runc's state names the init (pid and start time), which must be gone; a
   * container whose init still runs, or whose state cannot be read (another runtime), goes
   * through `delete` (`runc delete --force`).
   */
  async deleteStopped(id: string): Promise<void> {
    const dir = path.join(this.root, id);
    let state: { init_process_pid?: unknown; init_process_start?: unknown } | undefined;
    try {
      state = JSON.parse(await readFile(path.join(dir, 'state.json'), 'utf8')) as typeof state;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' && !existsSync(dir)) return;
    }
    const pid = state?.init_process_pid;
    const start = state?.init_process_start;
    if (typeof pid !== 'number' || typeof start !== 'number' || isAlive(pid, start)) {
      await this.delete(id);
      return;
    }
    await rm(dir, { recursive: true, force: true });
  }

  /** Ids of the containers under this root. */
  async list(): Promise<ContainerState[]> {
    const r = await this.run(['list', '--format', 'json']);
    if (r.code !== 0) throw new TendError('E_EXECUTOR', `failed to list containers: ${runtimeMessage(r.stderr)}`);
    const parsed = JSON.parse(r.stdout || 'null') as ContainerState[] | null;
    return parsed ?? [];
  }
}

/**
 * Read a FIFO (its fd, opened non-blocking) until its write side hangs up; the bytes read.
 * `pid`, when given, is the writer: once it is gone with nothing read, the wait ends after one
 * more check (a writer that never opened the FIFO never hangs up).
 */
function readToHangup(fd: number, pid: number | undefined, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let s: net.Socket;
    try {
      s = new net.Socket({ fd, readable: true, writable: false });
    } catch (err) {
      closeSync(fd);
      reject(err as Error);
      return;
    }
    let bytes = 0;
    let writerGone = false;
    const started = Date.now();
    const done = (err?: Error) => {
      clearInterval(timer);
      s.destroy();
      if (err) reject(err);
      else resolve(bytes);
    };
    const timer = setInterval(() => {
      if (Date.now() - started > timeoutMs) return done(new Error(`the init did not start within ${timeoutMs} ms`));
      if (pid === undefined || isAlive(pid)) return;
      // Gone: a hang-up already on its way is read first, one check later.
      if (writerGone) done();
      writerGone = true;
    }, START_CHECK_MS);
    s.on('data', (d: Buffer) => (bytes += d.length));
    s.once('end', () => done());
    s.once('error', (err) => done(err));
  });
}
