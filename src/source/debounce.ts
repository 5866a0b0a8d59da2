/**
 * Acts on the first event at once and coalesces only bursts. On an idle debouncer a call runs
 * `fn` on the next turn of the event loop (events of the same tick share it); calls within
 * `waitMs` of that run are a burst: they run `fn` once more, `waitMs` after the last call, but
 * never later than `maxWaitMs` after the first call of the burst, so a constant stream of fs
 * events still converges. The leading run is what makes a file dropped into an idle jobs dir
 * start its task without waiting out the debounce; the trailing one catches what the burst
 * wrote after the leading run looked.
 */
export class Debouncer {
  readonly #fn: () => void;
  readonly #waitMs: number;
  readonly #maxWaitMs: number;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #firstAt = 0;
  /** When `fn` last ran (ms since the epoch): calls within `waitMs` of it belong to its burst. */
  #lastRunAt = -Infinity;

  constructor(fn: () => void, waitMs: number, maxWaitMs: number) {
    this.#fn = fn;
    this.#waitMs = waitMs;
    this.#maxWaitMs = Math.max(maxWaitMs, waitMs);
  }

  /**
   * Note one event: `fn` runs at once when idle, else after the burst settles (or the max wait).
   * `leading = false`: this event never runs `fn` at once (it waits for its burst to settle).
   */
  trigger(leading = true): void {
    if (this.#immediate !== undefined) return; // the leading run of this tick will see it
    const now = Date.now();
    if (leading && this.#timer === undefined && now - this.#lastRunAt >= this.#waitMs) {
      this.#immediate = setImmediate(() => {
        this.#immediate = undefined;
        this.#run();
      });
      return;
    }
    if (this.#timer === undefined) this.#firstAt = now;
    else clearTimeout(this.#timer);
    const delay = Math.max(0, Math.min(this.#waitMs, this.#firstAt + this.#maxWaitMs - now));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#run();
    }, delay);
  }

  #run(): void {
    this.#lastRunAt = Date.now();
    this.#fn();
  }

  get isPending(): boolean {
    return this.#timer !== undefined || this.#immediate !== undefined;
  }

  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
  }
}
