/**
 * Per-task work on a p-queue with bounded concurrency. Work is keyed by task
 * instance: at most one run per key at a time, and submissions while a key
 * is queued or running merge into one follow-up run (kubelet pod-worker
 * style). A submission may carry an event; the events pending for a key are
 * handed to its next run, merged by `merge` (default: appended), as the pod
 * worker keeps the latest pending update. The worker decides what to do when
 * it runs, from the latest desired state, so a start queued for a task that
 * has since been removed is never carried out: the run decides a stop.
 */
import PQueue from 'p-queue';

export interface WorkQueueOptions<E> {
  concurrency: number;
  /** Runs the work for one key with the events submitted since its last run began; errors are passed to onError. */
  run(key: string, events: E[]): Promise<void>;
  /** Adds an event to a key's pending ones (default: appends). */
  merge?(pending: E[], next: E): E[];
  /** Events of runs dropped by drain() (to answer whoever waits on them). */
  onDropped?(key: string, events: E[]): void;
  onError?(key: string, err: unknown): void;
  /** Called whenever the number of keys queued or running changes. */
  onDepth?(depth: number): void;
}

interface Entry<E> {
  running: boolean;
  events: E[];
  /** Another run is wanted (queued, or after the current one). */
  again: boolean;
  queued: boolean;
}

export class WorkQueue<E = never> {
  readonly #pq: PQueue;
  readonly #opts: WorkQueueOptions<E>;
  readonly #entries = new Map<string, Entry<E>>();
  #closed = false;

  constructor(opts: WorkQueueOptions<E>) {
    this.#opts = opts;
    this.#pq = new PQueue({ concurrency: Math.max(1, opts.concurrency) });
  }

  /** Keys queued or running. */
  get depth(): number {
    return this.#entries.size;
  }

  /** Ask for a run of `key`, with `event` among its inputs; merges with a queued run. False once closed. */
  submit(key: string, event?: E): boolean {
    if (this.#closed) return false;
    let e = this.#entries.get(key);
    if (!e) {
      e = { running: false, again: false, queued: false, events: [] };
      this.#entries.set(key, e);
      this.#opts.onDepth?.(this.#entries.size);
    }
    if (event !== undefined) e.events = this.#opts.merge ? this.#opts.merge(e.events, event) : [...e.events, event];
    if (e.queued) return true;
    if (e.running) {
      e.again = true;
      return true;
    }
    this.#enqueue(key, e);
    return true;
  }

  #enqueue(key: string, e: Entry<E>): void {
    e.queued = true;
    void this.#pq.add(async () => {
      e.queued = false;
      e.running = true;
      const events = e.events;
      e.events = [];
      try {
        await this.#opts.run(key, events);
      } catch (err) {
        this.#opts.onError?.(key, err);
      } finally {
        e.running = false;
        if (e.again && !this.#closed) {
          e.again = false;
          this.#enqueue(key, e);
        } else {
          if (e.events.length) this.#opts.onDropped?.(key, e.events);
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
    for (const [k, e] of this.#entries) {
      if (e.events.length) this.#opts.onDropped?.(k, e.events);
      e.events = [];
      if (!e.running) this.#entries.delete(k);
    }
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
