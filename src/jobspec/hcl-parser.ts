/**
 * The HCL parser, kept where a crash costs one file. `@cdktn/hcl2json` is Go
 * compiled to WebAssembly; on hostile input (20,000 nested blocks) the Go
 * runtime overflows the stack, prints `fatal error: malloc deadlock` and
 * leaves the instance broken: in the agent's own thread every later parse
 * hung. So the parser runs in a worker thread (hcl-worker.ts): one
 * long-lived worker, reused for every file, one file at a time, each with a
 * deadline. A crash or a timeout fails that file only (`HclParserError`); the
 * worker is thrown away and the next file gets a fresh one.
 *
 * A worker thread, not a child process: measured on Node 20, a worker
 * contains both failures seen (the Go stack overflow arrives as a rejected
 * parse in the worker; `terminate()` stops a wasm loop that never yields, in
 * ~15 ms), it starts in ~0.4 s like the in-process parser, and a request is
 * a structured clone rather than a pipe and JSON. What a worker cannot
 * contain is a fault of V8 itself (a process abort); wasm memory is bounded
 * by the file size cap (read.ts), not by the worker's heap limit.
 *
 * The worker is unref'd while idle, so a short-lived process (`tendctl
 * validate`) exits when its work is done.
 */
import { Worker } from 'node:worker_threads';
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
   * Starts when the worker is ready.
   */
  timeoutMs?: number;
  /** Added to the deadline for each whole MiB of text, ms (default 10000: a 4 MiB file parses in ~7 s). */
  timeoutPerMiBMs?: number;
  /** Longest a new worker may take to get ready (load the wasm), ms (default 30000). */
  startTimeoutMs?: number;
  /** The worker's module (tests substitute one). Default: hcl-worker beside this module. */
  entry?: URL;
  /**
   * An idle worker is ended after this long, ms (default 60000; 0: never), which gives back the
   * wasm heap (~50–100 MiB of the agent's RSS); the next file starts a new one (~0.4 s).
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
const DEFAULT_IDLE_MS = 60_000;

/** The worker beside this module: hcl-worker.ts from the sources, hcl-worker.js in the bundle (dist/). */
function defaultEntry(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './hcl-worker.ts' : './hcl-worker.js', import.meta.url);
}

/** A TypeScript entry (running from the sources, or a test's) is loaded through tsx inside the worker. */
function spawnWorker(entry: URL): Worker {
  // (No `stdout: true`: on Node 20 a worker with piped stdio keeps the process alive even unref'd.
  // The worker keeps the Go runtime's output itself.)
  const opts = { resourceLimits: { maxOldGenerationSizeMb: 512 } } as const;
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, opts);
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { ...opts, eval: true });
}

export class HclParser {
  readonly #timeoutMs: number;
  readonly #timeoutPerMiBMs: number;
  readonly #startTimeoutMs: number;
  readonly #entry: URL;
  readonly #queue: Pending[] = [];
  #worker: Worker | undefined;
  #ready = false;
  #inflight: (Pending & { id: number }) | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #idleMs: number;
  #idleTimer: NodeJS.Timeout | undefined;
  #nextId = 1;
  #closed = false;
  /** Workers started so far (the first one included): tests and logs tell restarts by it. */
  started = 0;

  constructor(opts: HclParserOptions = {}) {
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#timeoutPerMiBMs = opts.timeoutPerMiBMs ?? DEFAULT_TIMEOUT_PER_MIB_MS;
    this.#startTimeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    this.#entry = opts.entry ?? defaultEntry();
    this.#idleMs = opts.idleMs ?? DEFAULT_IDLE_MS;
  }

  /** Whether a worker is running now (tests: the idle release). */
  get workerAlive(): boolean {
    return this.#worker !== undefined;
  }

  /** Parse one file. Rejects with Go's message for bad syntax, with `HclParserError` when the parser failed. */
  parse(file: string, text: string): Promise<unknown> {
    if (this.#closed) return Promise.reject(new HclParserError('unavailable', 'parser closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ file, text, resolve, reject });
      this.#pump();
    });
  }

  /** Stop the worker; queued files fail. */
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
      if (!this.#inflight && this.#worker) {
        this.#worker.unref();
        if (this.#idleMs > 0 && this.#ready) {
          this.#idleTimer = setTimeout(() => {
            if (!this.#inflight && this.#queue.length === 0) void this.#discard();
          }, this.#idleMs);
          this.#idleTimer.unref();
        }
      }
      return;
    }
    const w = this.#ensureWorker();
    w.ref();
    if (!this.#ready) return; // the ready message pumps again
    const p = this.#queue.shift()!;
    this.#inflight = { ...p, id: this.#nextId++ };
    const deadline = this.#timeoutMs + this.#timeoutPerMiBMs * Math.floor(p.text.length / 1048576);
    this.#arm(deadline, () => this.#fail('timed-out', `parser timed out after ${seconds(deadline)}`));
    w.postMessage({ id: this.#inflight.id, file: p.file, text: p.text } satisfies ParseRequest);
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const w = spawnWorker(this.#entry);
    this.started++;
    this.#worker = w;
    this.#ready = false;
    w.on('message', (m: ParseReply) => this.#onMessage(w, m));
    w.on('error', (err) => this.#onGone(w, `parser failed: ${err.message}`));
    w.on('exit', (code) => this.#onGone(w, `parser exited with code ${code}`));
    this.#arm(this.#startTimeoutMs, () => this.#fail('unavailable', `parser did not start within ${seconds(this.#startTimeoutMs)}`, true));
    return w;
  }

  #onMessage(w: Worker, m: ParseReply): void {
    if (w !== this.#worker) return;
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

  /** The worker died (an uncaught error, an exit, a failed start). */
  #onGone(w: Worker, why: string): void {
    if (w !== this.#worker) return;
    this.#fail(this.#ready ? 'crashed' : 'unavailable', this.#ready ? `parser crashed (${why})` : `parser did not start: ${why}`, !this.#ready);
  }

  /** Fail the file in flight (or, when the worker never got ready, every queued file), drop the worker, go on. */
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

  async #discard(): Promise<void> {
    const w = this.#worker;
    this.#worker = undefined;
    this.#ready = false;
    clearTimeout(this.#timer);
    if (w) await w.terminate().catch(() => {});
  }

  #arm(ms: number, onTimeout: () => void): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(onTimeout, ms);
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

/** The process's parser (one worker for every file). */
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
