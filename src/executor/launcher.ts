/**
 * The launcher: one small long-lived Node process (launcher-child.ts) that
 * starts the processes the executors start: the plain executor's wrappers,
 * conmon, runc's verbs. The agent is a ~200 MiB process; forking it costs
 * 10–30 ms of blocked event loop per launch (page tables), which dominated
 * converging hundreds of tasks. The launcher is ~40 MiB and its forks cost
 * 1–3 ms, off the agent's loop (bench/README.md).
 *
 * It is a child of the agent on an IPC channel, started on first use and
 * again after it died; it exits when the agent goes. Requests carry
 * everything (file, argv, env, cwd, where output goes); nothing the
 * launcher does depends on state of its own, so a restarted one carries on.
 * While nothing is pending it is unref'd and never keeps a process alive.
 *
 * When it cannot be started at all, callers fall back to spawning from
 * their own process (`LauncherUnavailable`). A launcher that dies with
 * requests in flight fails them (`LauncherLost`): what it may have started
 * is the caller's to find and stop (the plain executor sweeps by its marker).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { spawnSynced, type SyncedResult, type SyncedSpawn } from './spawn-synced.js';

export type LauncherRequest =
  | { id: number; op: 'spawn'; req: SyncedSpawn; watchExit: boolean }
  | { id: number; op: 'run'; file: string; args: string[]; input?: string; timeoutMs: number; maxBuffer: number };

export type LauncherReply =
  | { op: 'ready'; pid: number }
  | { op: 'exit'; pid: number; code: number | null; signal: NodeJS.Signals | null }
  | { id: number; ok: true; result: SyncedResult }
  | { id: number; ok: true; run: RunOutput }
  | { id: number; ok: false; error: string };

export interface RunOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** The launcher could not be started: the caller may do the work itself. */
export class LauncherUnavailable extends Error {}
/** The launcher died with this request in flight: it may or may not have been carried out. */
export class LauncherLost extends Error {}
/** The request was carried out and failed (e.g. the program could not be started). */
export class LaunchFailed extends Error {}

interface Pending {
  resolve: (m: LauncherReply) => void;
  reject: (err: Error) => void;
}

const START_TIMEOUT_MS = 10_000;
/** A launcher that failed to start is not tried again for this long (callers fall back meanwhile). */
const RETRY_AFTER_MS = 30_000;

/** The launcher beside this module: launcher-child.ts from the sources, launcher-child.js in the bundle. */
function defaultEntry(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './launcher-child.ts' : './launcher-child.js', import.meta.url);
}

export class Launcher {
  readonly #entry: URL;
  #child: ChildProcess | undefined;
  #ready: Promise<void> | undefined;
  #pending = new Map<number, Pending>();
  #exitWatch = new Map<number, (code: number | null, signal: NodeJS.Signals | null) => void>();
  readonly #lostListeners = new Set<() => void>();
  #nextId = 1;
  #failedAt = -Infinity;
  #closed = false;
  /** Launchers started so far. */
  started = 0;

  constructor(opts: { entry?: URL } = {}) {
    this.#entry = opts.entry ?? defaultEntry();
  }

  /** `cb` runs when a launcher that had children's exits to report is gone (they will not be reported). */
  onLost(cb: () => void): () => void {
    this.#lostListeners.add(cb);
    return () => this.#lostListeners.delete(cb);
  }

  /** The launcher's pid while one runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** spawnSynced in the launcher. `onExit` hears of the child's exit while launcher and agent live. */
  async spawnSynced(req: SyncedSpawn, onExit?: () => void): Promise<SyncedResult> {
    const m = await this.#request((id) => ({ id, op: 'spawn', req, watchExit: Boolean(onExit) }));
    if (!('result' in m)) throw new LaunchFailed('unexpected reply');
    if (onExit) this.#exitWatch.set(m.result.pid, onExit);
    return m.result;
  }

  /** execFile in the launcher: the exit code and output; rejects only when the program could not run. */
  async run(file: string, args: string[], opts: { input?: string; timeoutMs: number; maxBuffer: number }): Promise<RunOutput> {
    const m = await this.#request((id) => ({ id, op: 'run', file, args, input: opts.input, timeoutMs: opts.timeoutMs, maxBuffer: opts.maxBuffer }));
    if (!('run' in m)) throw new LaunchFailed('unexpected reply');
    return m.run;
  }

  /** Stop the launcher (what it started keeps running). */
  close(): void {
    this.#closed = true;
    this.#drop(new LauncherLost('launcher closed'));
  }

  async #request(make: (id: number) => LauncherRequest): Promise<LauncherReply & { id: number }> {
    if (this.#closed) throw new LauncherUnavailable('launcher closed');
    await this.#ensure();
    const child = this.#child;
    if (!child?.connected) throw new LauncherUnavailable('launcher not running');
    const id = this.#nextId++;
    const reply = new Promise<LauncherReply>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    this.#ref(child, true);
    child.send(make(id), (err) => {
      if (err) this.#settle(id, undefined, new LauncherLost(`launcher unreachable: ${err.message}`));
    });
    const m = (await reply) as LauncherReply & { id: number };
    if ('ok' in m && !m.ok) throw new LaunchFailed(m.error);
    return m;
  }

  #ensure(): Promise<void> {
    if (this.#child?.connected && this.#ready) return this.#ready;
    if (Date.now() - this.#failedAt < RETRY_AFTER_MS) return Promise.reject(new LauncherUnavailable('launcher failed to start recently'));
    const ts = this.#entry.pathname.endsWith('.ts');
    const child = fork(this.#entry, [], {
      execArgv: ts ? ['--import', 'tsx'] : [],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    this.started++;
    this.#child = child;
    child.on('message', (m: LauncherReply) => this.#onMessage(m));
    child.once('exit', (code, signal) => {
      if (this.#child === child) this.#drop(new LauncherLost(`launcher exited (${signal ?? code})`));
    });
    child.on('error', () => undefined);
    this.#ready = new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => fail(new Error(`no answer within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      const fail = (err: Error) => {
        if (settled) return; // a launcher that started and later died: the exit handler above
        settled = true;
        clearTimeout(timer);
        this.#failedAt = Date.now();
        if (this.#child === child) this.#drop(err);
        reject(new LauncherUnavailable(`launcher did not start: ${err.message}`));
      };
      child.once('message', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code, signal) => fail(new Error(`it exited (${signal ?? code})`)));
      child.once('error', (err) => fail(err));
    });
    this.#ready.catch(() => undefined);
    return this.#ready;
  }

  #onMessage(m: LauncherReply): void {
    if ('op' in m) {
      if (m.op === 'exit') {
        const f = this.#exitWatch.get(m.pid);
        this.#exitWatch.delete(m.pid);
        f?.(m.code, m.signal);
      }
      return;
    }
    this.#settle(m.id, m);
  }

  #settle(id: number, m: LauncherReply | undefined, err?: Error): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    if (err || !m) p.reject(err ?? new LauncherLost('no reply'));
    else p.resolve(m);
    if (!this.#pending.size && this.#child) this.#ref(this.#child, false);
  }

  #drop(err: Error): void {
    const child = this.#child;
    this.#child = undefined;
    this.#ready = undefined;
    const watched = this.#exitWatch.size > 0;
    this.#exitWatch.clear();
    if (watched) for (const cb of this.#lostListeners) cb();
    for (const [id] of [...this.#pending]) this.#settle(id, undefined, err);
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  /** A launcher with nothing pending must not keep the process alive. */
  #ref(child: ChildProcess, on: boolean): void {
    const ch = (child as unknown as { channel?: { ref?: () => void; unref?: () => void } }).channel;
    if (on) {
      child.ref();
      ch?.ref?.();
    } else {
      child.unref();
      ch?.unref?.();
    }
  }
}

/**
 * spawnSynced through `launcher` when there is one, else (none, or it cannot start) here.
 * A launcher lost mid-request rejects with LauncherLost: the caller cleans up what may have started.
 */
export async function launchSynced(launcher: Launcher | undefined, req: SyncedSpawn, onExit?: () => void): Promise<SyncedResult> {
  if (launcher) {
    try {
      return await launcher.spawnSynced(req, onExit);
    } catch (err) {
      if (!(err instanceof LauncherUnavailable)) throw err;
    }
  }
  return spawnSynced(req, onExit);
}
