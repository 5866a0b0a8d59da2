/**
 * One scheduler for every check on the node: a min-heap of due times under a single timer, so
 * 1,000 checks cost one pending timeout, not 1,000. The timer fires on a TICK_MS grid (a timer
 * wheel's slots): checks due within one tick run together, so 1,000 checks at a 10 s interval
 * wake the process at most 10 times a second, not 100 (each check runs at most one tick late;
 * its period stays exact).
 *
 *  - A new check first runs after a random delay within its interval (at most FIRST_SPREAD_MS),
 *    so checks registered together (an agent restart, a `count = 50` group) do not all fire at
 *    once; then every `interval` after its previous due time (a missed slot is skipped, never
 *    made up). A check never overlaps itself: its next run is scheduled when the last one ends.
 *  - At most `concurrency` checks run at once; due checks beyond that wait their turn in order.
 *  - `remove` takes effect at once for anything not yet started; a run in flight finishes and is
 *    not scheduled again.
 * Time and timers are injected (tests drive a fake clock).
 */

/** What the scheduler needs of time (the defaults are the real ones). */
export interface SchedulerTime {
  now(): number;
  /** In [0, 1): the first run's jitter. */
  random(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTime: SchedulerTime = {
  now: () => Date.now(),
  random: Math.random,
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** The first run of a new check comes within this much (or its interval, when shorter). */
export const FIRST_SPREAD_MS = 5000;

/** The timer's grid: due checks are run together at the next multiple of this. */
export const TICK_MS = 100;

interface Entry {
  id: string;
  intervalMs: number;
  run: () => Promise<void>;
  due: number;
  seq: number;
  removed: boolean;
}

export interface SchedulerOptions {
  /** Checks running at once (default 128). */
  concurrency?: number;
  time?: SchedulerTime;
}

export class CheckScheduler {
  readonly #time: SchedulerTime;
  readonly #concurrency: number;
  readonly #heap: Entry[] = [];
  readonly #entries = new Map<string, Entry>();
  readonly #ready: Entry[] = [];
  #running = 0;
  #seq = 0;
  #timer: unknown;
  #timerAt = Infinity;
  #closed = false;

  constructor(o: SchedulerOptions = {}) {
    this.#time = o.time ?? realTime;
    this.#concurrency = o.concurrency ?? 128;
  }

  /** Checks scheduled. */
  get size(): number {
    return this.#entries.size;
  }

  /** Checks running now. */
  get running(): number {
    return this.#running;
  }

  /**
   * Schedule `run` every `intervalMs` under `id` (replacing any entry with that id). The first run
   * comes after `firstDelayMs`, default a random part of the interval (at most FIRST_SPREAD_MS).
   */
  add(id: string, intervalMs: number, run: () => Promise<void>, firstDelayMs?: number): void {
    if (this.#closed) return;
    this.remove(id);
    const delay = firstDelayMs ?? Math.floor(this.#time.random() * Math.min(intervalMs, FIRST_SPREAD_MS));
    const e: Entry = { id, intervalMs: Math.max(1, intervalMs), run, due: this.#time.now() + delay, seq: this.#seq++, removed: false };
    this.#entries.set(id, e);
    this.#push(e);
    this.#arm();
  }

  remove(id: string): void {
    const e = this.#entries.get(id);
    if (!e) return;
    e.removed = true;
    this.#entries.delete(id);
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  close(): void {
    this.#closed = true;
    for (const e of this.#entries.values()) e.removed = true;
    this.#entries.clear();
    this.#heap.length = 0;
    this.#ready.length = 0;
    if (this.#timer !== undefined) this.#time.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  // ---- timer ----

  #arm(): void {
    while (this.#heap.length && this.#heap[0].removed) this.#pop();
    const next = this.#heap[0]?.due;
    if (next === undefined) {
      if (this.#timer !== undefined) this.#time.clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerAt = Infinity;
      return;
    }
    const at = Math.ceil(next / TICK_MS) * TICK_MS;
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    if (this.#timer !== undefined) this.#time.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = this.#time.setTimeout(() => this.#fire(), Math.max(0, at - this.#time.now()));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    if (this.#closed) return;
    // A timer may fire a little early: take what is due within this tick.
    const now = this.#time.now();
    while (this.#heap.length && this.#heap[0].due <= now + TICK_MS / 2) {
      const e = this.#pop()!;
      if (!e.removed) this.#ready.push(e);
    }
    this.#pump();
    this.#arm();
  }

  #pump(): void {
    while (this.#running < this.#concurrency && this.#ready.length) {
      const e = this.#ready.shift()!;
      if (e.removed) continue;
      this.#running++;
      let p: Promise<void>;
      try {
        p = e.run();
      } catch {
        p = Promise.resolve();
      }
      p.catch(() => {}).finally(() => this.#done(e));
    }
  }

  #done(e: Entry): void {
    this.#running--;
    if (!e.removed && !this.#closed) {
      const now = this.#time.now();
      let due = e.due + e.intervalMs;
      // A run that ended late (slow check, backlog) skips the slots it missed.
      if (due <= now) due += Math.ceil((now - due + 1) / e.intervalMs) * e.intervalMs;
      e.due = due;
      e.seq = this.#seq++;
      this.#push(e);
    }
    this.#pump();
    this.#arm();
  }

  // ---- heap (by due, then seq) ----

  #less(a: Entry, b: Entry): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  #push(e: Entry): void {
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  #pop(): Entry | undefined {
    const h = this.#heap;
    if (!h.length) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l], h[m])) m = l;
        if (r < h.length && this.#less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
