/**
 * The page's live model. One event stream (`/v1/events?follow=1`, resumed
 * after the last seq it saw) drives everything: an event schedules a refresh
 * of the jobs (`/v1/jobs` and `/v1/files`, coalesced: at most one request in flight and one
 * every REFRESH_GAP_MS) and of the plan. A slow timer refreshes anyway (the
 * node's disk figures, uptimes of a quiet node). CPU and memory come from the
 * agent's sampler (`/v1/samples`), polled at its own interval while the tab
 * is visible.
 */
import type { FileView, JobView, NodeView, Plan, SamplesView, TaskEvent, TaskView } from '../api/api.js';
import type { Snapshot } from './ui.js';
import { ApiError, Unauthorized, getJson, streamLines } from './api.js';

/** Between two refreshes of the jobs, however many events arrive. */
const REFRESH_GAP_MS = 400;
/** Between two plans: diffing every task is the costlier request. */
const PLAN_GAP_MS = 2000;
/** A refresh of everything even when no event came. */
const SLOW_REFRESH_MS = 30_000;
/** After the last event (and while something stops), one more look: what follows an event may come without one. */
const SETTLE_MS = 1000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = window.setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      window.clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

/** One request at a time; asked again meanwhile, it runs once more after, no sooner than `gapMs` after the last. */
class Coalesced {
  #running = false;
  #again = false;
  #last = 0;
  #timer: number | undefined;
  constructor(
    readonly gapMs: number,
    readonly run: () => Promise<void>,
  ) {}
  ask(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer !== undefined) return;
    const wait = Math.max(0, this.#last + this.gapMs - Date.now());
    this.#timer = window.setTimeout(() => {
      this.#timer = undefined;
      this.#running = true;
      this.#again = false;
      this.#last = Date.now();
      this.run().finally(() => {
        this.#running = false;
        if (this.#again) this.ask();
      });
    }, wait);
  }
  cancel(): void {
    window.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

export class Live {
  #snap: Snapshot = { connection: 'connecting', jobs: [], files: [], loaded: false };
  /** The tasks as last received, by id, with their JSON: an unchanged task keeps its object (the table skips its row). */
  #known = new Map<string, { json: string; task: TaskView }>();
  readonly #listeners = new Set<(s: Snapshot) => void>();
  readonly #taskListeners = new Set<(e: TaskEvent) => void>();
  #stop = new AbortController();
  #lastSeq = 0;
  readonly #jobs = new Coalesced(REFRESH_GAP_MS, () =>
    Promise.all([
      this.#load('/v1/files', (files: FileView[]) => ({ files })),
      this.#load('/v1/jobs', (jobs: JobView[]) => {
        // Stopping ends with no event of its own (the record goes once torn down): look again shortly.
        if (jobs.some((j) => j.status === 'stopping' || j.tasks.some((t) => t.state === 'stopping'))) this.#again(SETTLE_MS);
        return { jobs: this.#reuse(jobs), loaded: true };
      }),
    ]).then(() => undefined),
  );
  #settleTimer: number | undefined;
  readonly #plan = new Coalesced(PLAN_GAP_MS, () => this.#load('/v1/plan', (plan: Plan) => ({ plan })));
  #slowTimer: number | undefined;
  #samplesTimer: number | undefined;
  readonly #onVisible = () => {
    if (document.visibilityState === 'visible') void this.#pollSamples();
  };

  get snapshot(): Snapshot {
    return this.#snap;
  }

  subscribe(fn: (s: Snapshot) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Every event as it arrives (task views follow their own). */
  onEvent(fn: (e: TaskEvent) => void): () => void {
    this.#taskListeners.add(fn);
    return () => this.#taskListeners.delete(fn);
  }

  start(): void {
    this.#stop = new AbortController();
    this.#set({ connection: 'connecting', error: undefined });
    void this.#load('/v1/node', (node: NodeView) => ({ node }));
    // The rows first: the figures (a sample of every task) and the plan (a diff of every task) cost the agent more.
    this.#jobs.ask();
    const first = this.subscribe((snap) => {
      if (!snap.loaded) return;
      first();
      this.#plan.ask();
      void this.#pollSamples();
    });
    void this.#follow(this.#stop.signal);
    this.#slowTimer = window.setInterval(() => this.#refreshAll(), SLOW_REFRESH_MS);
    document.addEventListener('visibilitychange', this.#onVisible);
  }

  /** One refresh of the jobs `ms` from now (re-armed by each call). */
  #again(ms: number): void {
    window.clearTimeout(this.#settleTimer);
    this.#settleTimer = window.setTimeout(() => this.#jobs.ask(), ms);
  }

  stop(): void {
    this.#stop.abort();
    window.clearTimeout(this.#settleTimer);
    this.#jobs.cancel();
    this.#plan.cancel();
    window.clearInterval(this.#slowTimer);
    window.clearTimeout(this.#samplesTimer);
    document.removeEventListener('visibilitychange', this.#onVisible);
  }

  /** The jobs with each task that did not change since the last refresh as the same object. */
  #reuse(jobs: JobView[]): JobView[] {
    const known = new Map<string, { json: string; task: TaskView }>();
    for (const j of jobs) {
      j.tasks = j.tasks.map((t) => {
        const json = JSON.stringify(t);
        const before = this.#known.get(t.id);
        const task = before?.json === json ? before.task : t;
        known.set(t.id, { json, task });
        return task;
      });
    }
    this.#known = known;
    return jobs;
  }

  #set(patch: Partial<Snapshot>): void {
    this.#snap = { ...this.#snap, ...patch };
    for (const fn of this.#listeners) fn(this.#snap);
  }

  #failed(err: unknown): void {
    if (this.#stop.signal.aborted) return;
    if (err instanceof Unauthorized) {
      this.stop();
      this.#set({ connection: 'unauthorized', error: err.message });
      return;
    }
    this.#set({ error: err instanceof Error ? err.message : String(err) });
  }

  async #load<T>(path: string, patch: (v: T) => Partial<Snapshot>): Promise<void> {
    try {
      const v = await getJson<T>(path, this.#stop.signal);
      if (!this.#stop.signal.aborted) this.#set(patch(v));
    } catch (err) {
      this.#failed(err);
    }
  }

  #refreshAll(): void {
    void this.#load('/v1/node', (node: NodeView) => ({ node }));
    this.#jobs.ask();
    this.#plan.ask();
  }

  /** The event stream, resumed after the last event seen whenever it drops. */
  async #follow(signal: AbortSignal): Promise<void> {
    let backoff = 500;
    let opened = false;
    while (!signal.aborted) {
      // The first time, only the newest event (where to resume from): the rest is in the jobs already.
      const after = this.#lastSeq ? `after=${this.#lastSeq}` : 'limit=1';
      try {
        const open = () => {
          backoff = 500;
          this.#set({ connection: 'live', error: undefined });
          // What changed while the stream was down.
          if (opened) this.#refreshAll();
          opened = true;
        };
        for await (const line of streamLines(`/v1/events?follow=1&${after}`, signal, open)) {
          if (!line.trim()) continue;
          const v = JSON.parse(line) as TaskEvent | { heartbeat: string };
          if ('heartbeat' in v) continue;
          this.#event(v);
        }
      } catch (err) {
        if (signal.aborted) return;
        this.#failed(err);
        if (err instanceof Unauthorized) return;
      }
      if (signal.aborted) return;
      this.#set({ connection: 'reconnecting' });
      await sleep(backoff, signal);
      backoff = Math.min(backoff * 2, 5000);
    }
  }

  #event(e: TaskEvent): void {
    if (e.seq <= this.#lastSeq) return;
    this.#lastSeq = e.seq;
    for (const fn of this.#taskListeners) fn(e);
    this.#jobs.ask();
    this.#plan.ask();
    this.#again(SETTLE_MS);
  }

  /** The sampler's newest figures, at its interval, while the tab is visible. */
  async #pollSamples(): Promise<void> {
    window.clearTimeout(this.#samplesTimer);
    if (this.#stop.signal.aborted || document.visibilityState !== 'visible') return;
    let next = 10_000;
    try {
      const samples = await getJson<SamplesView>('/v1/samples', this.#stop.signal);
      this.#set({ samples });
      next = Math.max(2000, samples.intervalMs);
    } catch (err) {
      // An agent without a sampler: the table shows no figures.
      if (err instanceof ApiError && err.status === 404) return;
      this.#failed(err);
    }
    if (this.#stop.signal.aborted) return;
    this.#samplesTimer = window.setTimeout(() => void this.#pollSamples(), next);
  }
}
