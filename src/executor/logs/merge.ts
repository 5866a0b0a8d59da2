/**
 * Several instances' lines as one stream (`tendctl logs JOB`): what exists is
 * merged in time order (`mergeByTime`, lines without a time first, ties in
 * source order); a follow then gives each line as it comes (`interleave`).
 */
import type { LogLine } from './lines.js';

export interface Sourced<T> {
  /** Index of the source it came from. */
  source: number;
  line: T;
}

/** A k-way merge of sources each already in time order. */
export async function* mergeByTime(sources: AsyncIterator<LogLine>[]): AsyncGenerator<Sourced<LogLine>> {
  const heads = await Promise.all(sources.map((s) => s.next()));
  const key = (r: IteratorResult<LogLine>) => (r.done ? Infinity : (r.value.time ?? -Infinity));
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      if (heads[i].done) continue;
      if (best < 0 || key(heads[i]) < key(heads[best])) best = i;
    }
    if (best < 0) return;
    yield { source: best, line: heads[best].value as LogLine };
    heads[best] = await sources[best].next();
  }
}

/**
 * Lines of every source as they come, until every source ends or `signal`
 * aborts. At most `highWater` lines wait for the consumer; beyond that the
 * sources pause.
 */
export async function* interleave<T>(sources: AsyncIterator<T>[], signal?: AbortSignal, highWater = 1024): AsyncGenerator<Sourced<T>> {
  const queue: Sourced<T>[] = [];
  let wake: (() => void) | undefined;
  let paused: (() => void)[] = [];
  let failure: { err: unknown } | undefined;
  let running = sources.length;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const pump = async (source: number) => {
    try {
      for (;;) {
        if (signal?.aborted) return;
        const r = await sources[source].next();
        if (r.done) return;
        queue.push({ source, line: r.value });
        poke();
        while (queue.length >= highWater && !signal?.aborted) await new Promise<void>((res) => paused.push(res));
      }
    } catch (err) {
      failure ??= { err };
    } finally {
      running--;
      poke();
    }
  };
  const release = () => {
    const p = paused;
    paused = [];
    for (const r of p) r();
  };
  const onAbort = () => {
    poke();
    release();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  sources.forEach((_, i) => void pump(i));
  try {
    for (;;) {
      while (queue.length) {
        yield queue.shift()!;
        if (queue.length < highWater / 2) release();
      }
      if (failure) throw failure.err;
      if (running === 0 || signal?.aborted) return;
      await new Promise<void>((res) => (wake = res));
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    release();
    // Not awaited: a source waiting for output ends once the caller's signal aborts.
    for (const s of sources) void s.return?.(undefined)?.catch(() => undefined);
  }
}
