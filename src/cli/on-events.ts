/**
 * The loop of `status -w`, `wait` and `restart -wait`: follow the agent's
 * event stream and look again (`refresh`) when something happens, not on a
 * timer. The stream is open (the agent subscribed) before the first look, so
 * nothing between the two is missed. A burst of events is one refresh: at
 * most one per `minIntervalMs` (default 200 ms, so at most 5 a second), and
 * events that come during a refresh cause one more after it.
 *
 * A refresh may ask to look again after `settleMs` (default 1 s) without an
 * event: the agent removes a stopped task's record without one (see
 * mayChangeSilently in src/api/converge.ts).
 */
import type { EventQuery, TaskEvent } from '../api/api.js';
import type { TendClient } from '../api/client.js';
import { isTendError } from '../errors.js';

export interface RefreshResult {
  /** Stop: the caller has what it waited for. */
  done?: boolean;
  /** Look again after settleMs even without an event. */
  settle?: boolean;
}

export interface OnEventsOptions {
  client: Pick<TendClient, 'followEvents'>;
  /** Which events the agent sends (job, task); only live ones are followed. */
  query?: Omit<EventQuery, 'after' | 'limit'>;
  /** Of those, which call for a refresh (default: all). */
  relevant?(e: TaskEvent): boolean;
  refresh(events: TaskEvent[]): Promise<RefreshResult | void>;
  /** Ends the loop: `aborted`. */
  signal?: AbortSignal;
  minIntervalMs?: number;
  settleMs?: number;
}

/**
 * `done`: a refresh said so; `aborted`: the signal; `agent-gone`: the stream ended or broke
 * (`error` says how). A refresh's own error is thrown.
 */
export type OnEventsEnd = { end: 'done' } | { end: 'aborted' } | { end: 'agent-gone'; error?: unknown };

export function runOnEvents(o: OnEventsOptions): Promise<OnEventsEnd> {
  const minInterval = o.minIntervalMs ?? 200;
  const settleMs = o.settleMs ?? 1000;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  return new Promise<OnEventsEnd>((resolve, reject) => {
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    let inFlight = false;
    let dirty = false;
    let last = 0;
    let pending: TaskEvent[] = [];
    const finish = (r: OnEventsEnd | Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      stop.abort();
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    const schedule = (delay?: number) => {
      if (finished) return;
      if (inFlight) {
        dirty = true;
        return;
      }
      const at = delay === undefined ? Math.max(0, last + minInterval - Date.now()) : delay;
      if (timer) {
        // An earlier refresh wins over a later one.
        if (delay !== undefined) return;
        clearTimeout(timer);
      }
      timer = setTimeout(run, at);
    };
    const run = async () => {
      timer = undefined;
      if (finished) return;
      inFlight = true;
      dirty = false;
      last = Date.now();
      const events = pending;
      pending = [];
      let r: RefreshResult | void;
      try {
        r = await o.refresh(events);
      } catch (err) {
        inFlight = false;
        if (stop.signal.aborted && !finished) return finish({ end: 'aborted' });
        // The agent went away between the event and the look.
        if (isTendError(err) && err.code === 'E_AGENT_UNREACHABLE') return finish({ end: 'agent-gone', error: err });
        return finish(err instanceof Error ? err : new Error(String(err)));
      }
      inFlight = false;
      if (r?.done) return finish({ end: 'done' });
      if (dirty) schedule();
      else if (r?.settle) schedule(settleMs);
    };
    stop.signal.addEventListener('abort', () => finish({ end: 'aborted' }), { once: true });
    let opened = false;
    (async () => {
      try {
        for await (const e of o.client.followEvents({ ...o.query, limit: 0 }, {
          signal: stop.signal,
          onOpen: () => {
            opened = true;
            schedule(0);
          },
        })) {
          if (o.relevant && !o.relevant(e)) continue;
          pending.push(e);
          schedule();
        }
        if (!stop.signal.aborted) finish({ end: 'agent-gone' });
      } catch (err) {
        if (stop.signal.aborted) return;
        // Not reachable at all: the command's error, as for any other command.
        if (!opened) return finish(err instanceof Error ? err : new Error(String(err)));
        finish({ end: 'agent-gone', error: err });
      }
    })();
  });
}
