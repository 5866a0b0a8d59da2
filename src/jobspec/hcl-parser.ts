/**
 * The HCL parser, kept where a crash costs one file and its memory is not
 * the agent's. `@cdktn/hcl2json` is Go compiled to WebAssembly; on hostile
 * input (20,000 nested blocks) the Go runtime overflows the stack, prints
 * `fatal error: malloc deadlock` and leaves the instance broken: in the
 * agent's own thread every later parse hung. So the parser runs in a child
 * process (hcl-child.ts): one long-lived process, reused for every file, one
 * file at a time, each with a deadline. A crash or a timeout fails that file
 * only (`HclParserError`); the process is killed and the next file gets a
 * fresh one. A fault that kills the parser process outright (a V8 abort,
 * the OOM killer, a signal) is one more crash: the agent lives on.
 *
 * A child process rather than the worker thread it was until 2026-12-01:
 * the wasm instance costs 50–100 MiB (compiled code, the Go heap, the
 * module's bytes), and a worker's memory is the agent's. Worse, ending an
 * idle worker gave back only part of it: the malloc'd memory of compiling
 * the 7 MiB module stayed in the agent's heap (~40–60 MiB, measured in
 * bench/README.md "Agent memory"). A process gives back everything when it
 * exits. The cost is the IPC of each request and reply (a pipe and V8's
 * serializer, ~0.1 ms for a job file) and a start of ~0.3 s (node,
 * then the wasm) for the first file after a release.
 *
 * The process is unref'd while idle, so a short-lived process (`tendctl
 * validate`) exits when its work is done, and it exits itself when its
 * host goes (the IPC channel closes).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { TendError } from '../errors.js';

export interface ParseRequest {
  id: number;
  file: string;
  text: string;
}

export type ParseReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; message: string; crashed: boolean; output?: string }
  | { ready: true };

export interface HclParserOptions {
  /**
   * Longest one file under 1 MiB may take to parse, ms (default 10000; a small job takes ~1 ms).
   * Starts when the parser process is ready.
   */
  timeoutMs?: number;
  /** Added to the deadline for each whole MiB of text, ms (default 10000: a 4 MiB file parses in ~7 s). */
  timeoutPerMiBMs?: number;
  /** Longest a new parser process may take to get ready (start node, load the wasm), ms (default 30000). */
  startTimeoutMs?: number;
  /** The parser process's module (tests substitute one). Default: hcl-child beside this module. */
  entry?: URL;
  /**
   * An idle parser process is ended after this long, ms (default 30000; 0: never), which gives back
   * its memory (~85–95 MiB RSS of its own); the next file starts a new one (~0.3 s).
   */
  idleMs?: number;
}

export type HclParserFailure = 'crashed' | 'timed-out' | 'unavailable';

/** The parser failed on a file in a way that says nothing about its syntax. */
export class HclParserError extends TendError {
  readonly reason: HclParserFailure;
  constructor(reason: HclParserFailure, message: string) {
    super('E_SPEC_INVALID', message, { details: { reason } });
    this.name = 'HclParserError';
    this.reason = reason;
  }
}

interface Pending {
  file: string;
  text: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_TIMEOUT_PER_MIB_MS = 10_000;
const DEFAULT_START_TIMEOUT_MS = 30_000;
const DEFAULT_IDLE_MS = 30_000;
/**
 * The parser process's V8 options (the agent's own, a profiler's say, are not passed on):
 *  - its heap holds one file's text and value at a time: 512 MiB is far above what a 4 MiB file
 *    needs and bounds a runaway (the wasm memory is bounded by the file size cap, read.ts);
 *  - `--liftoff-only`: the wasm runs as V8's baseline compiler made it, never recompiled by
 *    TurboFan. Measured on the 7 MiB module (bench/README.md, "Agent memory"): the process holds
 *    ~94 MiB RSS after 300 job files instead of ~146, the first file after the start parses in
 *    ~18 ms instead of 50–90 (no tier-up compiles), a small job in ~1.2 ms instead of ~0.9; only a
 *    big file is slower (1 MiB of job in ~2.5 s instead of ~1.4 s, well inside its deadline);
 *  - a 1 MiB young generation (semi-space): a parse's garbage is small.
 */
const CHILD_V8_OPTIONS = ['--max-old-space-size=512', '--liftoff-only', '--max-semi-space-size=1'];

/** The parser beside this module: hcl-child.ts from the sources, hcl-child.js in the bundle (dist/). */
function defaultEntry(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './hcl-child.ts' : './hcl-child.js', import.meta.url);
}

/** A TypeScript entry (running from the sources, or a test's) is loaded through tsx. */
function spawnChild(entry: URL): ChildProcess {
  const tsx = entry.pathname.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
  // stdout is not read: the Go runtime's output is kept by the child itself (hcl-child.ts).
  // stderr is the agent's: what node itself says when it dies (an abort, out of memory) lands in the agent's log.
  return fork(entry, [], { execArgv: [...CHILD_V8_OPTIONS, ...tsx], stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
}

/** Whether a child has not exited yet. */
const isRunning = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

export class HclParser {
  readonly #timeoutMs: number;
  readonly #timeoutPerMiBMs: number;
  readonly #startTimeoutMs: number;
  readonly #entry: URL;
  readonly #queue: Pending[] = [];
  #child: ChildProcess | undefined;
  #ready = false;
  #inflight: (Pending & { id: number }) | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #idleMs: number;
  #idleTimer: NodeJS.Timeout | undefined;
  #nextId = 1;
  #closed = false;
  /** Parser processes started so far (the first one included): tests and logs tell restarts by it. */
  started = 0;

  constructor(opts: HclParserOptions = {}) {
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#timeoutPerMiBMs = opts.timeoutPerMiBMs ?? DEFAULT_TIMEOUT_PER_MIB_MS;
    this.#startTimeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    this.#entry = opts.entry ?? defaultEntry();
    this.#idleMs = opts.idleMs ?? DEFAULT_IDLE_MS;
  }

  /** Whether a parser process is running now (tests: the idle release). */
  get alive(): boolean {
    return this.#child !== undefined;
  }

  /** The running parser process's pid, if any. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Parse one file. Rejects with Go's message for bad syntax, with `HclParserError` when the parser failed. */
  parse(file: string, text: string): Promise<unknown> {
    if (this.#closed) return Promise.reject(new HclParserError('unavailable', 'parser closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ file, text, resolve, reject });
      this.#pump();
    });
  }

  /** Stop the parser process; queued files fail. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    for (const p of this.#queue.splice(0)) p.reject(new HclParserError('unavailable', 'parser closed'));
    this.#finish(new HclParserError('unavailable', 'parser closed'));
    await this.#discard();
  }

  #pump(): void {
    clearTimeout(this.#idleTimer);
    if (this.#inflight || this.#queue.length === 0) {
      if (!this.#inflight && this.#child) {
        ref(this.#child, false);
        if (this.#idleMs > 0 && this.#ready) {
          this.#idleTimer = setTimeout(() => {
            if (!this.#inflight && this.#queue.length === 0) void this.#discard();
          }, this.#idleMs);
          this.#idleTimer.unref();
        }
      }
      return;
    }
    const c = this.#ensureChild();
    ref(c, true);
    if (!this.#ready) return; // the ready message pumps again
    const p = this.#queue.shift()!;
    this.#inflight = { ...p, id: this.#nextId++ };
    const deadline = this.#timeoutMs + this.#timeoutPerMiBMs * Math.floor(p.text.length / 1048576);
    this.#arm(deadline, () => this.#fail('timed-out', `parser timed out after ${seconds(deadline)}`));
    try {
      c.send({ id: this.#inflight.id, file: p.file, text: p.text } satisfies ParseRequest);
    } catch (err) {
      // The channel closed under us: the exit that follows fails the file as a crash.
      this.#onGone(c, `parser failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  #ensureChild(): ChildProcess {
    if (this.#child) return this.#child;
    const c = spawnChild(this.#entry);
    this.started++;
    this.#child = c;
    this.#ready = false;
    c.on('message', (m: ParseReply) => this.#onMessage(c, m));
    c.on('error', (err) => this.#onGone(c, `parser failed: ${err.message}`));
    c.on('exit', (code, signal) => this.#onGone(c, signal ? `parser killed by ${signal}` : `parser exited with code ${code}`));
    this.#arm(this.#startTimeoutMs, () => this.#fail('unavailable', `parser did not start within ${seconds(this.#startTimeoutMs)}`, true));
    return c;
  }

  #onMessage(c: ChildProcess, m: ParseReply): void {
    if (c !== this.#child) return;
    if ('ready' in m) {
      this.#ready = true;
      clearTimeout(this.#timer);
      this.#pump();
      return;
    }
    const p = this.#inflight;
    if (!p || m.id !== p.id) return;
    if (m.ok) return this.#finish(undefined, m.value);
    if (!m.crashed) return this.#finish(new Error(m.message));
    this.#fail('crashed', `parser crashed (${m.message}${fatalLine(m.output)})`);
  }

  /** The parser process died (an exit, a signal, a failed start or send). */
  #onGone(c: ChildProcess, why: string): void {
    if (c !== this.#child) return;
    this.#fail(this.#ready ? 'crashed' : 'unavailable', this.#ready ? `parser crashed (${why})` : `parser did not start: ${why}`, !this.#ready);
  }

  /** Fail the file in flight (or, when the process never got ready, every queued file), drop the process, go on. */
  #fail(reason: HclParserFailure, message: string, all = false): void {
    const err = new HclParserError(reason, reason === 'unavailable' ? message : `${message}; the parser was restarted`);
    this.#finish(err);
    if (all) for (const p of this.#queue.splice(0)) p.reject(err);
    void this.#discard().then(() => this.#pump());
  }

  #finish(err: Error | undefined, value?: unknown): void {
    clearTimeout(this.#timer);
    const p = this.#inflight;
    this.#inflight = undefined;
    if (p) {
      if (err) p.reject(err);
      else p.resolve(value);
    }
    if (!err || !(err instanceof HclParserError)) this.#pump();
  }

  /** Kill the parser process (it may be spinning in wasm) and wait for it to be gone. */
  async #discard(): Promise<void> {
    const c = this.#child;
    this.#child = undefined;
    this.#ready = false;
    clearTimeout(this.#timer);
    if (!c || !isRunning(c)) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    ref(c, true); // whoever awaits this waits for the exit
    c.kill('SIGKILL');
    await exited;
  }

  #arm(ms: number, onTimeout: () => void): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(onTimeout, ms);
  }
}

/** A parser process with nothing to do must not keep its host alive (its IPC channel included). */
function ref(c: ChildProcess, on: boolean): void {
  const ch = (c as unknown as { channel?: { ref?: () => void; unref?: () => void } }).channel;
  if (on) {
    c.ref();
    ch?.ref?.();
  } else {
    c.unref();
    ch?.unref?.();
  }
}

/** The Go runtime's own account of a crash, when it printed one (`fatal error: …`). */
function fatalLine(output: string | undefined): string {
  const m = /(?:fatal error|panic): [^\n]*/.exec(output ?? '');
  return m ? `; ${m[0]}` : '';
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

let shared: HclParser | undefined;

/** The process's parser (one parser process for every file). */
export function hclParser(): HclParser {
  return (shared ??= new HclParser());
}

/** Test seam: use `parser` as the process's parser until the returned function restores the previous one. */
export function useHclParser(parser: HclParser): () => void {
  const prev = shared;
  shared = parser;
  return () => {
    shared = prev;
  };
}
