/**
 * mkfifo without forking the agent. Node has no mkfifo, and running the
 * `mkfifo` program from the agent forks a process of the agent's size (~200
 * MiB of page tables to copy: 10–30 ms per launch on a busy node, most of a
 * plain launch's preparation). Instead one small long-lived `sh` reads FIFO
 * paths from its stdin, one per line, runs `mkfifo -m 0600` for each and
 * answers `ok` or `err <message>` on one line; its forks are cheap.
 *
 * The helper is started on first use and again after it died or hung (each
 * request has a deadline). It ends when the agent does: its stdin is the
 * agent's pipe, and `read` fails at EOF. While no request is pending it is
 * unref'd, so it never keeps a process alive.
 *
 * Paths come from the executor (agent-built, under the agent-only logs dir);
 * a path with a newline cannot be sent on one line and is refused.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

const SCRIPT = `while IFS= read -r p; do
  if err=$(mkfifo -m 0600 -- "$p" 2>&1); then echo ok; else printf 'err %s\\n' "$(printf %s "$err" | tr '\\n' ' ')"; fi
done`;

const DEFAULT_TIMEOUT_MS = 10_000;

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
}

type Helper = ChildProcessByStdio<Writable, Readable, null>;

/** The helper died or could not start: says nothing about the path. */
class HelperGone extends Error {}

export class FifoMaker {
  readonly #timeoutMs: number;
  #helper: Helper | undefined;
  #pending: Pending[] = [];
  #buf = '';
  #timer: NodeJS.Timeout | undefined;
  /** Helpers started so far (tests tell a restart by it). */
  started = 0;

  constructor(opts: { timeoutMs?: number } = {}) {
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Create each FIFO (mode 0600). Rejects with mkfifo's message (e.g. `File exists`). */
  async make(paths: string[]): Promise<void> {
    for (const p of paths) {
      if (p.includes('\n') || p.includes('\0')) throw new Error(`mkfifo ${JSON.stringify(p)}: a path with a newline or NUL`);
    }
    await Promise.all(paths.map((p) => this.#one(p)));
  }

  /** The helper's pid, while one runs. */
  get pid(): number | undefined {
    return this.#helper?.pid;
  }

  /** Stop the helper (pending requests fail; a later request starts a new one). */
  close(): void {
    this.#drop(new Error('fifo maker closed'));
  }

  async #one(p: string): Promise<void> {
    try {
      await this.#send(p);
    } catch (err) {
      // The helper was found dead (it died while idle: the request went to it): once more, on a fresh one.
      if (!(err instanceof HelperGone)) throw new Error(`mkfifo ${p}: ${(err as Error).message}`);
      await this.#send(p).catch((again: Error) => Promise.reject(new Error(`mkfifo ${p}: ${again.message}`)));
    }
  }

  #send(p: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const h = this.#ensure();
      this.#pending.push({ resolve, reject });
      this.#ref(h, true);
      this.#arm();
      h.stdin.write(`${p}\n`);
    });
  }

  #ensure(): Helper {
    if (this.#helper) return this.#helper;
    const h = spawn('/bin/sh', ['-c', SCRIPT, 'tend-fifo-maker'], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.started++;
    this.#helper = h;
    this.#buf = '';
    h.stdout.setEncoding('utf8');
    h.stdout.on('data', (d: string) => this.#onData(h, d));
    h.stdin.on('error', () => undefined); // an EPIPE shows as the exit below
    h.once('error', (err) => this.#gone(h, new HelperGone(`fifo maker failed: ${err.message}`)));
    h.once('exit', (code, signal) => this.#gone(h, new HelperGone(`fifo maker exited (${signal ?? code})`)));
    this.#ref(h, false);
    return h;
  }

  #onData(h: Helper, d: string): void {
    if (h !== this.#helper) return;
    this.#buf += d;
    for (let nl = this.#buf.indexOf('\n'); nl >= 0; nl = this.#buf.indexOf('\n')) {
      const line = this.#buf.slice(0, nl);
      this.#buf = this.#buf.slice(nl + 1);
      const p = this.#pending.shift();
      if (!p) continue;
      if (line === 'ok') p.resolve();
      else p.reject(new Error(line.replace(/^err /, '').trim() || 'failed'));
    }
    if (this.#pending.length) this.#arm();
    else {
      clearTimeout(this.#timer);
      this.#ref(h, false);
    }
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#drop(new Error(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
    this.#timer.unref();
  }

  #gone(h: Helper, err: Error): void {
    if (h === this.#helper) this.#drop(err);
  }

  /** Fail what is pending and let the next request start a fresh helper. */
  #drop(err: Error): void {
    clearTimeout(this.#timer);
    const h = this.#helper;
    this.#helper = undefined;
    for (const p of this.#pending.splice(0)) p.reject(err);
    if (h && h.exitCode === null && h.signalCode === null) {
      h.stdin.end();
      h.kill('SIGKILL');
    }
  }

  /** A helper with nothing pending must not keep the process alive. */
  #ref(h: Helper, on: boolean): void {
    const handles = [h, h.stdin, h.stdout] as unknown as { ref?: () => void; unref?: () => void }[];
    for (const x of handles) (on ? x.ref : x.unref)?.call(x);
  }
}
