/**
 * A trailing debounce with a max wait: bursts of calls run `fn` once, `waitMs`
 * after the last call, but never later than `maxWaitMs` after the first call
 * of the burst, so a constant stream of fs events still converges.
 */
export class Debouncer {
  readonly #fn: () => void;
  readonly #waitMs: number;
  readonly #maxWaitMs: number;
  #timer: NodeJS.Timeout | undefined;
  #firstAt = 0;

  constructor(fn: () => void, waitMs: number, maxWaitMs: number) {
    this.#fn = fn;
    this.#waitMs = waitMs;
    this.#maxWaitMs = Math.max(maxWaitMs, waitMs);
  }

  /** Note one event; `fn` runs after the burst settles (or the max wait). */
  trigger(): void {
    const now = Date.now();
    if (this.#timer === undefined) this.#firstAt = now;
    else clearTimeout(this.#timer);
    const delay = Math.max(0, Math.min(this.#waitMs, this.#firstAt + this.#maxWaitMs - now));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#fn();
    }, delay);
  }

  get isPending(): boolean {
    return this.#timer !== undefined;
  }

  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
