/**
 * tend's local service catalog: the registrations of the allocations running on this node and
 * their checks' states, in memory (after an agent restart the services hook registers the tasks
 * recovery adopts again). Nomad's native catalog, for one node:
 *
 *  - `instances(name)` / `summaries()`: what the API and `tendctl services` show, every
 *    registration with the worst status of its checks;
 *  - `forTemplates(namespace)`: what `nomadService` / `nomadServices` read — only instances
 *    whose checks all pass (or that have none), in the task's namespace;
 *  - `watch(name, cb)`: templates re-render when what `forTemplates` answers for a name may have
 *    changed (an instance registered or gone, its address, tags or passing-ness changed);
 *    `onChange(cb)` tells the health tracker which allocation changed.
 */
import type { NomadServiceRegistration, ServiceCatalog as TemplateCatalog } from '../gotemplate/gotemplate.js';
import { initialRecord } from './status.js';
import { worstState, type CheckRecord, type CheckState, type CheckView, type Registration, type ServiceInstanceView, type ServiceSummaryView } from './services.js';

interface Entry {
  reg: Registration;
  checks: Map<string, CheckRecord>;
}

/** What changed: the allocation, and the service names whose template view may differ. */
export interface CatalogChange {
  allocId: string;
  names: string[];
}

const ALL = '*';

/** An instance `nomadService` returns: every check passing, or none. */
function servable(e: Entry): boolean {
  for (const c of e.checks.values()) if (c.status !== 'passing') return false;
  return true;
}

function checkView(e: Entry, c: CheckRecord): CheckView {
  const s = c.spec;
  return {
    id: s.id,
    name: s.name,
    type: s.type,
    service: e.reg.name,
    ...(s.task ?? e.reg.task ? { task: s.task ?? e.reg.task } : {}),
    ...(e.reg.task === undefined ? { group: true } : {}),
    status: c.status,
    ...(c.output !== undefined ? { output: c.output } : {}),
    ...(c.code !== undefined ? { code: c.code } : {}),
    ...(c.at ? { at: c.at } : {}),
    since: c.since,
    mode: s.onUpdate === 'ignore' ? 'readiness' : 'healthiness',
    intervalMs: s.intervalMs,
    timeoutMs: s.timeoutMs,
    ...(s.checkRestart ? { checkRestart: s.checkRestart } : {}),
  };
}

export class ServiceCatalog {
  readonly #entries = new Map<string, Entry>();
  readonly #byName = new Map<string, Set<string>>();
  readonly #byAlloc = new Map<string, Set<string>>();
  readonly #watchers = new Map<string, Set<() => void>>();
  readonly #listeners = new Set<(c: CatalogChange) => void>();
  readonly #counts: Record<CheckState, number> = { passing: 0, warning: 0, critical: 0, pending: 0 };
  readonly #now: () => number;

  constructor(o: { now?: () => number } = {}) {
    this.#now = o.now ?? Date.now;
  }

  /** Registrations in the catalog. */
  get size(): number {
    return this.#entries.size;
  }

  /** Checks by state, now. */
  stateCounts(): Record<CheckState, number> {
    return { ...this.#counts };
  }

  /**
   * Add a registration, or replace the one with its id: a check whose spec is unchanged keeps its
   * state, a new or changed one starts over (`initial_status`, else pending).
   */
  register(reg: Registration): void {
    const old = this.#entries.get(reg.id);
    const checks = new Map<string, CheckRecord>();
    for (const spec of reg.checks) {
      const prev = old?.checks.get(spec.id);
      checks.set(spec.id, prev && JSON.stringify(prev.spec) === JSON.stringify(spec) ? { ...prev, spec } : initialRecord(spec, this.#now()));
    }
    if (old) this.#remove(old);
    const e: Entry = { reg, checks };
    this.#entries.set(reg.id, e);
    for (const [index, key] of [[this.#byName, reg.name], [this.#byAlloc, reg.allocId]] as const) {
      let ids = index.get(key);
      if (!ids) index.set(key, (ids = new Set()));
      ids.add(reg.id);
    }
    for (const c of checks.values()) this.#counts[c.status]++;
    this.#changed(reg.allocId, old && old.reg.name !== reg.name ? [old.reg.name, reg.name] : [reg.name]);
  }

  deregister(id: string): void {
    const e = this.#entries.get(id);
    if (!e) return;
    this.#remove(e);
    this.#changed(e.reg.allocId, [e.reg.name]);
  }

  #remove(e: Entry): void {
    this.#entries.delete(e.reg.id);
    for (const [index, key] of [[this.#byName, e.reg.name], [this.#byAlloc, e.reg.allocId]] as const) {
      const ids = index.get(key);
      ids?.delete(e.reg.id);
      if (ids?.size === 0) index.delete(key);
    }
    for (const c of e.checks.values()) this.#counts[c.status]--;
  }

  get(id: string): Registration | undefined {
    return this.#entries.get(id)?.reg;
  }

  /** Every registration, by id. */
  registrations(): Registration[] {
    return [...this.#entries.values()].map((e) => e.reg);
  }

  /** A check's record (the registration id is the check id's part before `#`). */
  check(checkId: string): CheckRecord | undefined {
    return this.#entries.get(checkId.slice(0, checkId.lastIndexOf('#')))?.checks.get(checkId);
  }

  /** Store a check's new record (from status.ts); watchers hear of it when its status changed. */
  setCheck(checkId: string, next: CheckRecord): void {
    const e = this.#entries.get(checkId.slice(0, checkId.lastIndexOf('#')));
    const prev = e?.checks.get(checkId);
    if (!e || !prev) return;
    const before = servable(e);
    e.checks.set(checkId, next);
    if (prev.status === next.status) return;
    this.#counts[prev.status]--;
    this.#counts[next.status]++;
    // The template view changes only when the instance's passing-ness does; health on any change.
    this.#changed(e.reg.allocId, before === servable(e) ? [] : [e.reg.name]);
  }

  // ---- views ----

  #instance(e: Entry): ServiceInstanceView {
    const r = e.reg;
    const checks = [...e.checks.values()].map((c) => checkView(e, c));
    return {
      id: r.id,
      name: r.name,
      namespace: r.namespace,
      job: r.job,
      group: r.group,
      index: r.index,
      allocId: r.allocId,
      ...(r.task !== undefined ? { task: r.task } : {}),
      tags: [...r.tags],
      meta: { ...r.meta },
      address: r.address,
      port: r.port,
      status: worstState(checks.map((c) => c.status)),
      checks,
      file: r.file,
    };
  }

  /** The instances of a service, by job, group, index and id. */
  instances(name: string, namespace?: string): ServiceInstanceView[] {
    const out: ServiceInstanceView[] = [];
    for (const id of this.#byName.get(name) ?? []) {
      const e = this.#entries.get(id)!;
      if (namespace === undefined || e.reg.namespace === namespace) out.push(this.#instance(e));
    }
    return out.sort((a, b) => a.job.localeCompare(b.job) || a.group.localeCompare(b.group) || a.index - b.index || a.id.localeCompare(b.id));
  }

  /** One line per service name (and namespace), sorted. */
  summaries(): ServiceSummaryView[] {
    const by = new Map<string, ServiceSummaryView>();
    for (const e of this.#entries.values()) {
      const key = `${e.reg.namespace}\0${e.reg.name}`;
      let s = by.get(key);
      if (!s) by.set(key, (s = { name: e.reg.name, namespace: e.reg.namespace, tags: [], instances: 0, passing: 0, warning: 0, critical: 0, pending: 0, jobs: [] }));
      s.instances++;
      s[worstState([...e.checks.values()].map((c) => c.status))]++;
      for (const t of e.reg.tags) if (!s.tags.includes(t)) s.tags.push(t);
      if (!s.jobs.includes(e.reg.job)) s.jobs.push(e.reg.job);
    }
    const out = [...by.values()];
    for (const s of out) {
      s.tags.sort();
      s.jobs.sort();
    }
    return out.sort((a, b) => a.name.localeCompare(b.name) || a.namespace.localeCompare(b.namespace));
  }

  /** The checks of an allocation's registrations (group services' and every task's). */
  checksOfAlloc(allocId: string): CheckView[] {
    return this.#ofAlloc(allocId).flatMap((e) => [...e.checks.values()].map((c) => checkView(e, c)));
  }

  /** The check records of an allocation's registrations. */
  recordsOfAlloc(allocId: string): CheckRecord[] {
    return this.#ofAlloc(allocId).flatMap((e) => [...e.checks.values()]);
  }

  /** The registrations of an allocation. */
  ofAlloc(allocId: string): Registration[] {
    return this.#ofAlloc(allocId).map((e) => e.reg);
  }

  #ofAlloc(allocId: string): Entry[] {
    return [...(this.#byAlloc.get(allocId) ?? [])].map((id) => this.#entries.get(id)!).sort((a, b) => a.reg.id.localeCompare(b.reg.id));
  }

  /** `nomadService` / `nomadServices` for a task in `namespace`: passing instances only. */
  forTemplates(namespace: string): TemplateCatalog {
    const servableIn = (name: string): Entry[] => {
      const out: Entry[] = [];
      for (const id of this.#byName.get(name) ?? []) {
        const e = this.#entries.get(id)!;
        if (e.reg.namespace === namespace && servable(e)) out.push(e);
      }
      return out.sort((a, b) => a.reg.id.localeCompare(b.reg.id));
    };
    const toTemplate = (e: Entry): NomadServiceRegistration => ({
      id: e.reg.id,
      name: e.reg.name,
      namespace: e.reg.namespace,
      jobId: e.reg.job,
      allocId: e.reg.allocId,
      tags: [...e.reg.tags],
      address: e.reg.address,
      port: e.reg.port,
    });
    return {
      service: (name, tag) => servableIn(name).filter((e) => tag === undefined || e.reg.tags.includes(tag)).map(toTemplate),
      services: () => {
        const names = new Map<string, Set<string>>();
        for (const name of [...this.#byName.keys()].sort()) {
          const list = servableIn(name);
          if (!list.length) continue;
          names.set(name, new Set(list.flatMap((e) => e.reg.tags)));
        }
        return [...names].map(([name, tags]) => ({ name, tags: [...tags].sort() }));
      },
    };
  }

  // ---- change notification ----

  /** Call `cb` when what `forTemplates` answers for `name` ("*": any name) may have changed. */
  watch(name: string, cb: () => void): () => void {
    let set = this.#watchers.get(name);
    if (!set) this.#watchers.set(name, (set = new Set()));
    set.add(cb);
    return () => {
      set!.delete(cb);
      if (set!.size === 0 && this.#watchers.get(name) === set) this.#watchers.delete(name);
    };
  }

  /** Call `cb` on every change, with the allocation it concerns. */
  onChange(cb: (c: CatalogChange) => void): () => void {
    this.#listeners.add(cb);
    return () => void this.#listeners.delete(cb);
  }

  #changed(allocId: string, names: string[]): void {
    for (const l of this.#listeners) l({ allocId, names });
    if (!names.length) return;
    const called = new Set<() => void>();
    for (const n of [...names, ALL]) {
      for (const cb of this.#watchers.get(n) ?? []) {
        if (called.has(cb)) continue;
        called.add(cb);
        cb();
      }
    }
  }
}
