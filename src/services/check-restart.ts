/**
 * `check_restart { limit, grace, ignore_warnings }` for one check (Nomad's check watcher):
 *  - results during `grace` after the task (re)started are not counted;
 *  - an unhealthy status (critical; warning too unless `ignore_warnings`) counts one; a healthy
 *    one (passing, a warning ignored, or pending) resets the count: failures must be consecutive;
 *  - at `limit` the task is to be restarted, once: nothing more is counted until the task has
 *    started again (`started`), when grace begins anew.
 * Pure apart from its own state; time comes in.
 */
import type { CheckRestart, CheckState } from './services.js';

export class CheckRestartTracker {
  readonly #cfg: CheckRestart;
  #graceUntil: number;
  #unhealthy = 0;
  #restarting = false;

  /** `startedAt`: when the task the check restarts started (grace runs from there). */
  constructor(cfg: CheckRestart, startedAt: number) {
    this.#cfg = cfg;
    this.#graceUntil = startedAt + cfg.graceMs;
  }

  /** The task (re)started at `at`: grace again, nothing counted. */
  started(at: number): void {
    this.#graceUntil = at + this.#cfg.graceMs;
    this.#unhealthy = 0;
    this.#restarting = false;
  }

  /** Consecutive unhealthy statuses counted so far. */
  get count(): number {
    return this.#unhealthy;
  }

  /** A status the check reached at `now`: true when the task must be restarted now. */
  observe(status: CheckState, now: number): boolean {
    const unhealthy = status === 'critical' || (status === 'warning' && !this.#cfg.ignoreWarnings);
    if (!unhealthy) {
      this.#unhealthy = 0;
      return false;
    }
    if (this.#restarting || now < this.#graceUntil || this.#cfg.limit <= 0) return false;
    this.#unhealthy++;
    if (this.#unhealthy < this.#cfg.limit) return false;
    this.#unhealthy = 0;
    this.#restarting = true;
    return true;
  }
}
