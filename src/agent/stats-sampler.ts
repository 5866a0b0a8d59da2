/**
 * CPU and memory of every running task over the last minutes, for the web
 * page's charts and its table (`GET /v1/samples`, `/v1/samples/<id>`).
 *
 * Sampling costs what one `/v1/stats` costs (one walk of /proc with the plain
 * executor, a few cgroup files per task with oci), so it runs only while
 * someone looks: the first read starts it, a sample is taken every
 * `intervalMs` (10 s), and it stops `idleMs` (10 min) after the last read.
 * A sample that takes long (thousands of tasks on a busy host) spaces the
 * next ones out, so that sampling never takes more than MAX_SHARE of a core.
 * Kept in memory, bounded: `keep` samples per task (60: ten minutes), in
 * typed arrays (about 1 KB per task); a task not seen for `keep` samples is
 * forgotten.
 */
import type pino from 'pino';
import type { TaskStats } from '../executor/executor.js';
import type { SampleSeries, SamplesView } from '../api/api.js';
import { describeError } from '../errors.js';
import { systemClock, type Clock } from '../clock.js';

/** At most this share of a core goes to sampling: the interval grows to 50 times a sample's duration. */
const MAX_SHARE = 0.02;

export interface StatsSamplerOptions {
  /** Stats of every running task, by instance id (ApiFacade.stats). */
  read(): Promise<Record<string, TaskStats>>;
  /** Between samples (default 10 s). */
  intervalMs?: number;
  /** Samples kept per task (default 60). */
  keep?: number;
  /** Sampling stops this long after the last read (default 10 min). */
  idleMs?: number;
  /** An extra sample for a task that has none yet (`touch(id)`) comes no sooner than this after the last (default 2 s). */
  minGapMs?: number;
  clock?: Clock;
  logger?: pino.Logger;
}

interface Series {
  cpu: Float64Array;
  mem: Float64Array;
  /** The last tick that had a value. */
  last: number;
  limit?: number;
}

export class StatsSampler {
  readonly #baseMs: number;
  /** The interval now: the base one, or longer after a slow sample. */
  #intervalMs: number;
  readonly #keep: number;
  readonly #idleMs: number;
  readonly #minGapMs: number;
  readonly #read: StatsSamplerOptions['read'];
  readonly #clock: Clock;
  readonly #log?: pino.Logger;
  /** Epoch ms of each tick, by slot (tick % keep). */
  readonly #times: Float64Array;
  readonly #series = new Map<string, Series>();
  /** Ticks taken so far; the newest is `#tick - 1`. */
  #tick = 0;
  #lastRead = 0;
  #timer: NodeJS.Timeout | undefined;
  #sampling: Promise<void> | undefined;
  #closed = false;

  constructor(o: StatsSamplerOptions) {
    this.#baseMs = o.intervalMs ?? 10_000;
    this.#intervalMs = this.#baseMs;
    this.#keep = o.keep ?? 60;
    this.#idleMs = o.idleMs ?? 10 * 60_000;
    this.#minGapMs = o.minGapMs ?? 2000;
    this.#read = o.read;
    this.#clock = o.clock ?? systemClock;
    this.#log = o.logger?.child({ component: 'stats-sampler' });
    this.#times = new Float64Array(this.#keep);
  }

  /** Is a sample taken every interval now? */
  get isSampling(): boolean {
    return this.#timer !== undefined;
  }

  /** Between samples now (the base interval unless samples are slow). */
  get intervalMs(): number {
    return this.#intervalMs;
  }

  /**
   * Someone reads: sampling starts (the first sample at once) or stays on. Resolves once a first
   * sample exists, so the first reader gets figures. `wanted`: a running task the reader looks at;
   * when it has no sample yet (it just started), one is taken now unless the last is younger than
   * minGapMs.
   */
  async touch(wanted?: string): Promise<void> {
    if (this.#closed) return;
    this.#lastRead = this.#clock.now();
    const age = this.#tick ? this.#clock.now() - this.#times[(this.#tick - 1) % this.#keep] : Infinity;
    if (this.#timer) {
      if (!this.#tick) return this.#sampling;
      if (wanted !== undefined && !this.#series.has(wanted) && age >= this.#minGapMs) await this.sample();
      return;
    }
    this.#schedule();
    // A sample still fresh (sampling stopped a moment ago) is not taken again.
    if (age >= this.#intervalMs) await this.sample();
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      void this.sample().then(() => {
        if (this.#timer && !this.#closed) this.#schedule();
      });
    }, this.#intervalMs);
    this.#timer.unref?.();
  }

  /** Takes one sample (the timer's tick; tests call it). Stops sampling once nobody read for idleMs. */
  sample(): Promise<void> {
    if (this.#clock.now() - this.#lastRead > this.#idleMs) {
      this.#stopTimer();
      return Promise.resolve();
    }
    // One at a time: a slow read skips the ticks that fall inside it.
    this.#sampling ??= this.#take().finally(() => (this.#sampling = undefined));
    return this.#sampling;
  }

  async #take(): Promise<void> {
    let stats: Record<string, TaskStats>;
    const started = performance.now();
    try {
      stats = await this.#read();
    } catch (err) {
      this.#log?.warn({ err: describeError(err) }, 'failed to sample task stats');
      return;
    }
    this.#intervalMs = Math.max(this.#baseMs, Math.round((performance.now() - started) / MAX_SHARE));
    if (this.#closed) return;
    const tick = this.#tick++;
    const slot = tick % this.#keep;
    this.#times[slot] = this.#clock.now();
    for (const [id, s] of Object.entries(stats)) {
      let series = this.#series.get(id);
      if (!series) {
        series = { cpu: new Float64Array(this.#keep).fill(NaN), mem: new Float64Array(this.#keep).fill(NaN), last: tick };
        this.#series.set(id, series);
      }
      series.cpu[slot] = s.cpuPercent;
      series.mem[slot] = s.memoryBytes;
      series.last = tick;
      series.limit = s.memoryLimitBytes;
    }
    for (const [id, series] of this.#series) {
      if (series.last === tick) continue;
      series.cpu[slot] = NaN;
      series.mem[slot] = NaN;
      if (tick - series.last >= this.#keep) this.#series.delete(id);
    }
  }

  /** The newest sample of every task that had one in the newest tick. */
  latest(): SamplesView {
    const view: SamplesView = { intervalMs: this.intervalMs, sampling: this.isSampling, tasks: {} };
    if (!this.#tick) return view;
    const tick = this.#tick - 1;
    const slot = tick % this.#keep;
    view.at = new Date(this.#times[slot]).toISOString();
    for (const [id, s] of this.#series) {
      if (s.last !== tick) continue;
      view.tasks[id] = { cpuPercent: s.cpu[slot], memoryBytes: s.mem[slot], ...(s.limit !== undefined ? { memoryLimitBytes: s.limit } : {}) };
    }
    return view;
  }

  /** A task's samples, oldest first (gaps while it did not run are left out). */
  series(id: string): SampleSeries {
    const out: SampleSeries = { task: id, intervalMs: this.intervalMs, sampling: this.isSampling, samples: [] };
    const s = this.#series.get(id);
    if (!s) return out;
    for (let tick = Math.max(0, this.#tick - this.#keep); tick < this.#tick; tick++) {
      const slot = tick % this.#keep;
      if (Number.isNaN(s.cpu[slot])) continue;
      out.samples.push({ at: this.#times[slot], cpuPercent: s.cpu[slot], memoryBytes: s.mem[slot] });
    }
    if (s.limit !== undefined) out.memoryLimitBytes = s.limit;
    return out;
  }

  #stopTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  close(): void {
    this.#closed = true;
    this.#stopTimer();
  }
}
