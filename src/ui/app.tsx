/**
 * The page: a header (node, counts, the link's state), the node and the
 * pending plan, the tasks table, and the selected task (`#task=<id>`, so the
 * back button and a shared link work). Escape closes the task. When the agent
 * refuses the token (401), the token form instead.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { TaskView } from '../api/api.js';
import type { SortKey, SortOrder, Snapshot } from './ui.js';
import { Live } from './live.js';
import { hasToken, setToken } from './api.js';
import { NodePanel } from './node.js';
import { PlanPanel } from './plan.js';
import { STATE_FILTERS, TasksTable, type OptionalColumn, type StateFilter } from './tasks.js';
import { TaskDetail } from './task-detail.js';
import { taskOfHash } from './format.js';

/** Columns whose first click sorts the largest first. */
const LARGEST_FIRST = new Set<SortKey>(['restarts', 'cpu', 'memory']);

const NONE: ReadonlySet<OptionalColumn> = new Set();
const NO_PORTS: ReadonlySet<OptionalColumn> = new Set(['ports']);
const NARROW: ReadonlySet<OptionalColumn> = new Set(['pid', 'ports']);

/** Whether a media query matches, kept current. */
function useMedia(query: string): boolean {
  const [matches, setMatches] = useState(() => window.matchMedia(query).matches);
  useEffect(() => {
    const m = window.matchMedia(query);
    const on = () => setMatches(m.matches);
    m.addEventListener('change', on);
    return () => m.removeEventListener('change', on);
  }, [query]);
  return matches;
}

export function App() {
  const live = useMemo(() => new Live(), []);
  const [snap, setSnap] = useState<Snapshot>(live.snapshot);
  const [selected, setSelected] = useState(taskOfHash(location.hash));
  const [filter, setFilter] = useState('');
  const [state, setState] = useState<StateFilter>('all');
  const [sort, setSort] = useState<SortOrder>({ key: 'task', descending: false });
  const tasks = useMemo(() => snap.jobs.flatMap((j) => j.tasks), [snap.jobs]);
  // The same breakpoint as style.css: below it, the open task goes above the table.
  const narrow = useMedia('(max-width: 900px)');

  useEffect(() => {
    const off = live.subscribe(setSnap);
    live.start();
    return () => {
      off();
      live.stop();
    };
  }, [live]);

  useEffect(() => {
    const onHash = () => setSelected(taskOfHash(location.hash));
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && taskOfHash(location.hash)) close();
    };
    window.addEventListener('hashchange', onHash);
    window.addEventListener('keydown', onKey);
    return () => {
      window.removeEventListener('hashchange', onHash);
      window.removeEventListener('keydown', onKey);
    };
  }, []);

  if (snap.connection === 'unauthorized') {
    return (
      <TokenForm
        error={hasToken() ? 'The agent refused this token (401).' : 'This agent needs its API token (401).'}
        onToken={(t) => {
          setToken(t);
          live.start();
        }}
      />
    );
  }

  const running = tasks.filter((t) => t.state === 'running').length;
  const troubled = tasks.filter((t) => t.state === 'failed' || t.state === 'restarting').length;
  const coreMhz = Number(snap.node?.attributes['cpu.frequency']) || undefined;
  const onSort = (key: SortKey) =>
    setSort((s) => (s.key === key ? { key, descending: !s.descending } : { key, descending: LARGEST_FIRST.has(key) }));

  return (
    <>
      <header class="top">
        <h1>
          tend <span class="muted">{snap.node?.name ?? ''}</span>
        </h1>
        <p class="counts" data-field="counts">
          {snap.loaded ? `${running} of ${tasks.length} tasks running${troubled ? `, ${troubled} failing` : ''}` : 'Loading…'}
        </p>
        <p class={`pill ${snap.connection}`} role="status">
          {snap.connection === 'live' ? 'live' : snap.connection === 'connecting' ? 'connecting…' : 'reconnecting…'}
        </p>
      </header>
      {snap.error && snap.connection !== 'live' ? (
        <p class="notice" role="alert">
          {snap.error}
        </p>
      ) : null}
      <main>
        <div class="overview">
          {snap.node ? <NodePanel node={snap.node} /> : null}
          <PlanPanel plan={snap.plan} />
        </div>
        <section class="tasks-section" aria-labelledby="tasks-title">
          <div class="tasks-head">
            <h2 id="tasks-title">Tasks</h2>
            <div class="controls">
              <label>
                Filter{' '}
                <input type="search" value={filter} placeholder="job, task, state…" onInput={(e) => setFilter(e.currentTarget.value)} />
              </label>
              <label>
                State{' '}
                <select value={state} onChange={(e) => setState(e.currentTarget.value as StateFilter)}>
                  {STATE_FILTERS.map(([v, label]) => (
                    <option value={v}>{label}</option>
                  ))}
                </select>
              </label>
            </div>
          </div>
          <div class={selected ? 'split' : undefined}>
            <TasksTable jobs={snap.jobs} files={snap.files} samples={snap.samples} coreMhz={coreMhz} filter={filter} state={state} sort={sort} onSort={onSort} selected={selected} without={narrow ? NARROW : selected ? NO_PORTS : NONE} />
            {selected ? <TaskDetail key={selected} id={selected} seen={seenOf(tasks, selected)} live={live} coreMhz={coreMhz} onClose={close} /> : null}
          </div>
        </section>
      </main>
    </>
  );
}

/** What the table shows of a task, as one string: when it changes, the task's view reloads. */
function seenOf(tasks: TaskView[], id: string): string {
  const t = tasks.find((x) => x.id === id);
  return t ? `${t.state} ${t.restarts} ${t.pid ?? ''} ${t.startedAt ?? ''}` : 'gone';
}

/** Back to the table: the fragment goes, the history entry stays. */
function close(): void {
  history.pushState(null, '', `${location.pathname}${location.search}`);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

function TokenForm({ error, onToken }: { error: string; onToken(token: string): void }) {
  const [value, setValue] = useState('');
  return (
    <main class="login">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) onToken(value);
        }}
      >
        <h1>tend</h1>
        <p class="notice" role="alert">
          {error}
        </p>
        <label for="token">API token</label>
        <input id="token" type="password" autocomplete="off" required value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        <button type="submit">Open</button>
        <p class="muted">
          <code>tendctl ui</code> prints a link that carries the token. The token is <code>api.token</code> in the agent's config.
        </p>
      </form>
    </main>
  );
}
