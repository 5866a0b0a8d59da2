/**
 * Per-task work on a p-queue with bounded concurrency. Work is keyed by task
 * instance: at most one run per key at a time, and submissions while a key
 * is queued or running merge into one follow-up run (kubelet pod-worker
 * style). The worker decides what to do when it runs, from the latest
 * desired state, so a pending start for a task that has since been removed
 * becomes a no-op stop: the later stop wins.
 */
import PQueue from 'p-queue';

export interface WorkQueueOptions {
  concurrency: number;
  /** Runs the work for one key; errors are passed to onError. */
  run(key: string): Promise<void>;
  onError?(key: string, err: unknown): void;
  /** Called whenever the number of keys queued or running changes. */
  onDepth?(depth: number): void;
}

interface Entry {
  running: boolean;
  /** Another run is wanted (queued, or after the current one). */
  again: boolean;
  queued: boolean;
}

export class WorkQueue {
  readonly #pq: PQueue;
  readonly #opts: WorkQueueOptions;
  readonly #entries = new Map<string, Entry>();
  #closed = false;

  constructor(opts: WorkQueueOptions) {
    this.#opts = opts;
    this.#pq = new PQueue({ concurrency: Math.max(1, opts.concurrency) });
  }

  /** Keys queued or running. */
  get depth(): number {
    return this.#entries.size;
  }

  isBusy(key: string): boolean {
    return this.#entries.has(key);
  }

  /** Ask for a run of `key`; merges with a queued run. */
  submit(key: string): void {
    if (this.#closed) return;
    let e = this.#entries.get(key);
    if (!e) {
      e = { running: false, again: false, queued: false };
      this.#entries.set(key, e);
      this.#opts.onDepth?.(this.#entries.size);
    }
    if (e.queued) return;
    if (e.running) {
      e.again = true;
      return;
    }
    this.#enqueue(key, e);
  }

  #enqueue(key: string, e: Entry): void {
    e.queued = true;
    void this.#pq.add(async () => {
      e.queued = false;
      e.running = true;
      try {
        await this.#opts.run(key);
      } catch (err) {
        this.#opts.onError?.(key, err);
      } finally {
        e.running = false;
        if (e.again && !this.#closed) {
          e.again = false;
          this.#enqueue(key, e);
        } else {
          this.#entries.delete(key);
          this.#opts.onDepth?.(this.#entries.size);
        }
      }
    });
  }

  /** Resolves when nothing is queued or running. */
  async idle(): Promise<void> {
    while (this.#entries.size > 0 || this.#pq.size > 0 || this.#pq.pending > 0) await this.#pq.onIdle();
  }

  /** Stop taking work; queued runs are dropped, running ones finish. Resolves when they have, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.#closed = true;
    this.#pq.clear();
    for (const [k, e] of this.#entries) if (!e.running) this.#entries.delete(k);
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      this.#pq.onIdle().then(() => true),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return done;
  }
}
