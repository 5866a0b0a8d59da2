/**
 * Gives the memory of a burst of work back once the agent is quiet again.
 *
 * Converging hundreds of tasks leaves the V8 heap several times its live
 * size: V8 lets the old generation grow to a multiple of what survived the
 * last full GC before it collects again, and its own memory reducer waits
 * for a low allocation rate that an agent with 1,000 tasks (exit watches,
 * rollouts, services) may not reach for minutes. Measured with 1,000 tasks
 * 15–45 s after a converge: 43–118 MiB of heap committed for ~34 MiB live
 * (bench/README.md, "Agent memory").
 *
 * So every `intervalMs` (5 s) this looks at the agent's CPU over the last
 * interval and the heap it has committed: when the agent was quiet (under
 * `quietShare` of a core, 10 %) and the heap grew by more than half, plus
 * 16 MiB, since the last settle, one full GC runs (~10–50 ms for tens of
 * MiB); V8 unmaps the pages it empties a moment later. While the agent is
 * quiet V8 also runs with `--optimize-for-size`: the full GC arms V8's memory
 * reducer, which then shrinks the young generation (grown to 32 MiB by the
 * burst) within ~10–20 s even though a quiet agent with many tasks still
 * allocates a little; and old space grows conservatively. The flag is
 * cleared as soon as the agent is busy again: with it, converging 1,000
 * tasks cost ~1.8× the CPU. A busy agent is never interrupted, and a quiet
 * one whose heap does not grow costs one `cpuUsage()` and one
 * heap-statistics read per interval.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

export interface HeapSettleOptions {
  /** Interval between looks, ms (default 5000). */
  intervalMs?: number;
  /** Below this share of a core over an interval, the agent is quiet (default 0.1; a converge takes 50–100 %). */
  quietShare?: number;
  /** Heap committed now, bytes (default: V8's total_heap_size). */
  heapBytes?: () => number;
  /** CPU time of this process so far, µs (default: process.cpuUsage()). */
  cpuMicros?: () => number;
  /** A full GC (default: V8's, through --expose-gc in a fresh context). */
  gc?: () => void;
  /** Turn V8's --optimize-for-size on or off (default: v8.setFlagsFromString). */
  optimizeForSize?: (on: boolean) => void;
  /** Told of each settle (logs, tests). */
  onSettle?: (before: number, after: number, ms: number) => void;
}

/** Growth since the last settle that is worth a full GC: half of it again, plus this. */
const SLACK_BYTES = 16 * 1048576;

/** V8's full GC, without putting `gc` on the agent's global object. */
export function fullGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

export class HeapSettle {
  readonly #intervalMs: number;
  readonly #quietShare: number;
  readonly #heapBytes: () => number;
  readonly #cpuMicros: () => number;
  readonly #gc: () => void;
  readonly #onSettle?: HeapSettleOptions['onSettle'];
  readonly #optimizeForSize: (on: boolean) => void;
  #forSize = false;
  #timer: NodeJS.Timeout | undefined;
  #lastCpu = 0;
  #baseline = 0;
  /** Full GCs run so far. */
  settles = 0;

  constructor(opts: HeapSettleOptions = {}) {
    this.#intervalMs = opts.intervalMs ?? 5000;
    this.#quietShare = opts.quietShare ?? 0.1;
    this.#heapBytes = opts.heapBytes ?? (() => v8.getHeapStatistics().total_heap_size);
    this.#cpuMicros =
      opts.cpuMicros ??
      (() => {
        const u = process.cpuUsage();
        return u.user + u.system;
      });
    this.#gc = opts.gc ?? fullGc();
    this.#onSettle = opts.onSettle;
    this.#optimizeForSize = opts.optimizeForSize ?? ((on) => v8.setFlagsFromString(on ? '--optimize-for-size' : '--no-optimize-for-size'));
  }

  start(): void {
    if (this.#timer) return;
    this.#lastCpu = this.#cpuMicros();
    this.#baseline = this.#heapBytes();
    this.#timer = setInterval(() => this.check(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#forSize = this.#set(false);
  }

  /** Whether V8 optimizes for size now (the agent was quiet at the last look after a settle). */
  get optimizingForSize(): boolean {
    return this.#forSize;
  }

  #set(on: boolean): boolean {
    if (on !== this.#forSize) this.#optimizeForSize(on);
    return on;
  }

  /** One look (the timer's; tests call it). True when it ran a GC. */
  check(): boolean {
    const cpu = this.#cpuMicros();
    const share = (cpu - this.#lastCpu) / 1000 / this.#intervalMs;
    this.#lastCpu = cpu;
    const heap = this.#heapBytes();
    if (share >= this.#quietShare) {
      this.#forSize = this.#set(false);
      return false;
    }
    if (heap <= this.#baseline * 1.5 + SLACK_BYTES) {
      // A heap that shrank on its own (V8's memory reducer) is the new baseline.
      this.#baseline = Math.min(this.#baseline, heap);
      return false;
    }
    this.#forSize = this.#set(true);
    const t0 = performance.now();
    this.#gc();
    const ms = performance.now() - t0;
    this.#baseline = this.#heapBytes();
    // The GC's own CPU is not the agent being busy.
    this.#lastCpu = this.#cpuMicros();
    this.settles++;
    this.#onSettle?.(heap, this.#baseline, ms);
    return true;
  }
}
