/**
 * One task: where it stands, CPU and memory over the last minutes (the
 * agent's sampler), its output live (stdout or stderr), its recent events and
 * its spec as the job file gives it. Follows the task's events: each one
 * reloads the view.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { SampleSeries, TaskView } from '../api/api.js';
import type { Live } from './live.js';
import { ApiError, getJson, streamText, taskPath } from './api.js';
import { Chart } from './chart.js';
import { useNow } from './tick.js';
import { MiB, clockTime, describeExit, formatBytes, formatPercent, formatRelative, formatSince, formatSpec, isLive, parseTime, plain, taskNote, tone } from './format.js';

/** Lines of output kept on the page. */
const LOG_LINES = 1000;

export interface TaskDetailProps {
  id: string;
  /** What the tasks table knows of the task (state, restarts, pid), or "gone": a change reloads the view. */
  seen: string;
  live: Live;
  coreMhz?: number;
  onClose(): void;
}

export function TaskDetail(p: TaskDetailProps) {
  const now = useNow(1000);
  const [view, setView] = useState<TaskView | undefined>();
  const [gone, setGone] = useState<string | undefined>();
  const heading = useRef<HTMLHeadingElement>(null);

  const reload = useRef<() => void>(() => {});
  useEffect(() => {
    setView(undefined);
    setGone(undefined);
    heading.current?.focus();
    const ac = new AbortController();
    let again = false;
    let loading = false;
    const load = async () => {
      if (loading) {
        again = true;
        return;
      }
      loading = true;
      try {
        setView(await getJson<TaskView>(taskPath('/v1/task', p.id), ac.signal));
        setGone(undefined);
      } catch (err) {
        if (ac.signal.aborted) return;
        if (err instanceof ApiError && err.status === 404) setGone(err.message);
      } finally {
        loading = false;
        if (again && !ac.signal.aborted) {
          again = false;
          void load();
        }
      }
    };
    void load();
    reload.current = () => void load();
    const off = p.live.onEvent((e) => {
      if (e.task === p.id) void load();
    });
    return () => {
      ac.abort();
      off();
    };
  }, [p.id]);
  // The table saw the task change (or go) without an event of it: look again.
  const lastSeen = useRef(p.seen);
  useEffect(() => {
    if (lastSeen.current === p.seen) return;
    lastSeen.current = p.seen;
    reload.current();
  }, [p.seen]);

  return (
    <section class="detail" aria-labelledby="detail-title">
      <header class="detail-head">
        <h2 id="detail-title" tabIndex={-1} ref={heading}>
          {p.id}
        </h2>
        <button type="button" class="close" onClick={p.onClose} aria-label="Close the task view">
          ✕
        </button>
      </header>
      {gone ? <p class="notice">This task is not on the node any more. {gone}</p> : null}
      {!view && !gone ? <p class="muted">Loading…</p> : null}
      {view ? <Summary t={view} now={now} /> : null}
      {view ? <Charts t={view} now={now} coreMhz={p.coreMhz} /> : null}
      <Logs id={p.id} />
      {view ? <Events t={view} now={now} /> : null}
      {view?.spec ? (
        <details class="spec">
          <summary>Spec, as the job file gives it</summary>
          <pre>{formatSpec(view.spec)}</pre>
        </details>
      ) : null}
    </section>
  );
}

function Summary({ t, now }: { t: TaskView; now: number }) {
  const live = isLive(t);
  const note = taskNote(t, now, plain);
  const exitAt = parseTime(t.lastExit?.at);
  return (
    <dl class="facts">
      <dt>State</dt>
      <dd>
        <span class={`badge ${tone(t.state)}`} data-field="detail-state">
          {t.state}
        </span>
        {note !== '-' ? <span class="note"> {note}</span> : null}
      </dd>
      {live && t.pid ? (
        <>
          <dt>PID</dt>
          <dd>{t.pid}</dd>
          <dt>Uptime</dt>
          <dd>{formatSince(t.startedAt, now)}</dd>
        </>
      ) : null}
      <dt>Restarts</dt>
      <dd data-field="detail-restarts">{t.restarts}</dd>
      {t.lastExit ? (
        <>
          <dt>Last exit</dt>
          <dd>
            {describeExit(t.lastExit)}
            {exitAt !== undefined ? ` ${formatRelative(exitAt, now)}` : ''}
          </dd>
        </>
      ) : null}
      <dt>Driver</dt>
      <dd>{t.driver}</dd>
      <dt>Resources</dt>
      <dd>
        cpu {t.resources.cpu} MHz, memory {t.resources.memoryMB} MiB{t.resources.memoryMaxMB ? ` (max ${t.resources.memoryMaxMB} MiB)` : ''}
        {t.resources.cores?.length ? `, cores ${t.resources.cores.join(',')}` : ''}
      </dd>
      <dt>File</dt>
      <dd class="path">{t.file}</dd>
      {t.dirs ? (
        <>
          <dt>Task dir</dt>
          <dd class="path">{t.dirs.task}</dd>
        </>
      ) : null}
    </dl>
  );
}

function Charts({ t, now, coreMhz }: { t: TaskView; now: number; coreMhz?: number }) {
  const [series, setSeries] = useState<SampleSeries | undefined>();
  useEffect(() => {
    const ac = new AbortController();
    let timer: number | undefined;
    const poll = async () => {
      let next = 10_000;
      try {
        const s = await getJson<SampleSeries>(taskPath('/v1/samples', t.id), ac.signal);
        setSeries(s);
        next = Math.max(2000, s.intervalMs);
      } catch (err) {
        if (ac.signal.aborted || (err instanceof ApiError && err.status === 404)) return;
      }
      if (!ac.signal.aborted && document.visibilityState === 'visible') timer = window.setTimeout(poll, next);
    };
    void poll();
    const onVisible = () => {
      window.clearTimeout(timer);
      if (document.visibilityState === 'visible') void poll();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      ac.abort();
      window.clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [t.id]);
  const samples = series?.samples ?? [];
  const windowMs = Math.max(60_000, (series?.intervalMs ?? 10_000) * 60);
  const limitMb = t.resources.memoryMaxMB ?? t.resources.memoryMB;
  const memLimit = series?.memoryLimitBytes ?? (limitMb ? limitMb * MiB : undefined);
  const enforced = series?.memoryLimitBytes !== undefined;
  const empty = !isLive(t) ? 'not running' : series ? `first sample within ${Math.round(series.intervalMs / 1000)} s` : 'loading…';
  return (
    <div class="charts">
      <Chart
        title="CPU"
        points={samples.map((s) => [s.at, s.cpuPercent])}
        limit={coreMhz ? (t.resources.cpu / coreMhz) * 100 : undefined}
        limitLabel="reserved"
        format={(v) => formatPercent(v)}
        windowMs={windowMs}
        now={now}
        empty={empty}
      />
      <Chart
        title="Memory"
        points={samples.map((s) => [s.at, s.memoryBytes])}
        limit={memLimit}
        limitLabel={enforced ? 'limit' : 'limit (not enforced)'}
        format={formatBytes}
        windowMs={windowMs}
        now={now}
        empty={empty}
      />
    </div>
  );
}

function Logs({ id }: { id: string }) {
  const [stream, setStream] = useState<'stdout' | 'stderr'>('stdout');
  const [lines, setLines] = useState<string[]>([]);
  const [status, setStatus] = useState('connecting…');
  const box = useRef<HTMLPreElement>(null);
  const stick = useRef(true);

  useEffect(() => {
    const ac = new AbortController();
    let pending: string[] = [];
    let partial = '';
    let timer: number | undefined;
    setLines([]);
    setStatus('connecting…');
    stick.current = true;
    const flush = () => {
      window.clearTimeout(timer);
      timer = undefined;
      const add = pending;
      pending = [];
      setLines((prev) => {
        const next = prev.concat(add);
        return next.length > LOG_LINES ? next.slice(next.length - LOG_LINES) : next;
      });
    };
    const follow = async () => {
      while (!ac.signal.aborted) {
        try {
          const path = `${taskPath('/v1/logs', id)}?stream=${stream}&n=200&follow=1`;
          for await (const chunk of streamText(path, ac.signal, () => setStatus('live'))) {
            const parts = (partial + chunk).split('\n');
            partial = parts.pop() ?? '';
            pending.push(...parts);
            // At most one render per 100 ms, however chatty the task.
            timer ??= window.setTimeout(flush, 100);
          }
          if (partial) pending.push(partial);
          partial = '';
          flush();
          setStatus('ended');
        } catch (err) {
          if (ac.signal.aborted) return;
          setStatus(err instanceof Error ? err.message : String(err));
        }
        // No output yet (the task has not started), or the stream dropped: try again shortly.
        await new Promise((r) => window.setTimeout(r, 3000));
      }
    };
    void follow();
    return () => {
      ac.abort();
      window.clearTimeout(timer);
    };
  }, [id, stream]);

  useLayoutEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [lines]);

  return (
    <section class="logs" aria-labelledby="logs-title">
      <div class="logs-head">
        <h3 id="logs-title">Output</h3>
        <div role="group" aria-label="Output stream" class="segmented">
          {(['stdout', 'stderr'] as const).map((s) => (
            <button type="button" aria-pressed={stream === s} onClick={() => setStream(s)}>
              {s}
            </button>
          ))}
        </div>
        <span class="muted logs-status" aria-live="polite">
          {status}
        </span>
      </div>
      <pre
        class="log"
        ref={box}
        tabIndex={0}
        role="log"
        aria-live="off"
        aria-label={`${stream} of ${id}`}
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 8;
        }}
      >
        {lines.length ? lines.join('\n') : <span class="muted">No {stream} output yet.</span>}
      </pre>
    </section>
  );
}

function Events({ t, now }: { t: TaskView; now: number }) {
  const events = (t.events ?? []).slice().reverse();
  return (
    <section class="events" aria-labelledby="events-title">
      <h3 id="events-title">Recent events</h3>
      {events.length ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Type</th>
              <th scope="col">Message</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={e.seq}>
                <td class="nowrap" title={e.time}>
                  {clockTime(e.time)} <span class="muted">({formatRelative(Date.parse(e.time), now)})</span>
                </td>
                <td class="nowrap">{e.type}</td>
                <td>{e.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">No events.</p>
      )}
    </section>
  );
}
