/**
 * When the jobs dir watcher relists. Two kinds of event:
 *
 *  - a leading event (a file added or changed) runs `fn` at once, on the next
 *    turn of the event loop (events of the same tick share the run), unless a
 *    run began less than `gapMs` ago: then one run follows at the end of that
 *    gap. So a file dropped into an idle (or briefly busy) jobs dir is acted
 *    on within a few ms, and a burst (a `cp -r` of a thousand files) costs at
 *    most one run per `gapMs`;
 *  - a trailing event (a removal; the watcher's own "look again once the file
 *    settled") waits until the events of its kind have been quiet for
 *    `waitMs`, but never longer than `maxWaitMs` after the first of them, so
 *    a constant stream still converges. A removal waits so that `rm -r` of
 *    the dir is seen as a vanished dir (which stops nothing), not as its
 *    files leaving one by one.
 *
 * A run covers everything that happened before it (the watcher relists the
 * whole dir), so a timer that fires after another run did the work only
 * costs a relist of unchanged files.
 */
export class Debouncer {
  readonly #fn: () => void;
  readonly #waitMs: number;
  readonly #maxWaitMs: number;
  readonly #gapMs: number;
  #trailing: NodeJS.Timeout | undefined;
  #lead: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #firstAt = 0;
  #lastRunAt = -Infinity;

  constructor(fn: () => void, waitMs: number, maxWaitMs: number, gapMs = Math.min(20, waitMs)) {
    this.#fn = fn;
    this.#waitMs = waitMs;
    this.#maxWaitMs = Math.max(maxWaitMs, waitMs);
    this.#gapMs = gapMs;
  }

  /** Note one event: leading (default) runs at once or at the end of the gap; trailing after its burst settles. */
  trigger(leading = true): void {
    if (leading) this.#leading();
    else this.#trail();
  }

  #leading(): void {
    if (this.#immediate !== undefined || this.#lead !== undefined) return; // a run is on its way
    const wait = this.#lastRunAt + this.#gapMs - Date.now();
    if (wait <= 0) {
      this.#immediate = setImmediate(() => {
        this.#immediate = undefined;
        this.#run();
      });
      return;
    }
    this.#lead = setTimeout(() => {
      this.#lead = undefined;
      this.#run();
    }, wait);
  }

  #trail(): void {
    const now = Date.now();
    if (this.#trailing === undefined) this.#firstAt = now;
    else clearTimeout(this.#trailing);
    const delay = Math.max(0, Math.min(this.#waitMs, this.#firstAt + this.#maxWaitMs - now));
    this.#trailing = setTimeout(() => {
      this.#trailing = undefined;
      this.#run();
    }, delay);
  }

  #run(): void {
    this.#lastRunAt = Date.now();
    this.#fn();
  }

  get isPending(): boolean {
    return this.#trailing !== undefined || this.#lead !== undefined || this.#immediate !== undefined;
  }

  cancel(): void {
    clearTimeout(this.#trailing);
    clearTimeout(this.#lead);
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#trailing = undefined;
    this.#lead = undefined;
    this.#immediate = undefined;
  }
}
