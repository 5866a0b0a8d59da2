/**
 * Job files as node events: a file that fails to load is a "File Error" once per distinct content
 * (with file:line:column), one that loads again is "File Loaded", and a job defined by two files
 * is a "Conflict" once per distinct clash. The source has already resolved both; this only keeps
 * the events from repeating at every relist. A new Git revision of the jobs dir is a "Jobs
 * Revision" (`now at 3f2a9c1 (was 1b2c3d4)`), compared at the agent's start with the last one
 * recorded, so a restart does not repeat it.
 */
import type pino from 'pino';
import type { DesiredSet } from '../source/source.js';
import { TASK_EVENT, type Store } from '../store/store.js';
import { shortCommit } from '../source/revision.js';
import type { AgentMetrics } from './metrics.js';

export class FileEvents {
  readonly #store: Store;
  readonly #log: pino.Logger;
  readonly #metrics: AgentMetrics;
  /** Content hash of each file last reported failing. */
  readonly #fileErrors = new Map<string, string>();
  readonly #conflicts = new Set<string>();
  /** The commit last reported (null: none); undefined until the first set with a revision was seen. */
  #commit: string | null | undefined;

  constructor(store: Store, log: pino.Logger, metrics: AgentMetrics) {
    this.#store = store;
    this.#log = log;
    this.#metrics = metrics;
  }

  /** Record the events a new desired set calls for. */
  seen(set: DesiredSet): void {
    this.#revision(set);
    const present = this.#fileErrors.size ? new Set(set.files.map((f) => f.path)) : undefined;
    for (let i = 0; i < set.files.length; i++) {
      const f = set.files[i];
      if (f.ok) {
        if (this.#fileErrors.has(f.path)) this.#store.addEvent({ file: f.path, type: TASK_EVENT.FileLoaded, message: `${f.path} loads again` });
        this.#fileErrors.delete(f.path);
        continue;
      }
      if (this.#fileErrors.get(f.path) === f.contentHash) continue;
      this.#fileErrors.set(f.path, f.contentHash);
      this.#metrics.fileLoadError();
      const d = f.diagnostics.find((x) => x.severity === 'error') ?? f.diagnostics[0];
      const where = d ? `${d.file}:${d.line}:${d.column}: ${d.message}` : f.path;
      this.#store.addEvent({
        file: f.path,
        type: TASK_EVENT.FileError,
        message: `${where}${f.jobs.length ? ' (last good version in force)' : ''}`,
        details: d ? { line: d.line, column: d.column, path: d.path } : undefined,
      });
      this.#log.warn({ file: f.path, line: d?.line, column: d?.column, err: d?.message }, 'job file failed to load');
    }
    if (present) for (const p of [...this.#fileErrors.keys()]) if (!present.has(p)) this.#fileErrors.delete(p);
    for (const c of set.conflicts) {
      const key = `${c.job}\0${c.winner}\0${c.losers.join('\0')}`;
      if (this.#conflicts.has(key)) continue;
      this.#conflicts.add(key);
      this.#store.addEvent({ job: c.job, file: c.losers[0], type: TASK_EVENT.Conflict, message: `job "${c.job}" is defined in ${c.winner} and ${c.losers.join(', ')}; ${c.winner} wins` });
    }
  }

  #revision(set: DesiredSet): void {
    if (set.revision === undefined) return;
    const rev = set.revision;
    const now = rev?.commit ?? null;
    // At the agent's start: the last revision this data dir recorded.
    if (this.#commit === undefined) {
      const last = this.#store.events().filter((e) => e.type === TASK_EVENT.JobsRevision).at(-1);
      const c = last?.details?.commit;
      this.#commit = typeof c === 'string' ? c : null;
    }
    const was = this.#commit;
    if (now === was) return;
    this.#commit = now;
    const message =
      rev ? `now at ${shortCommit(rev.commit)}${was ? ` (was ${shortCommit(was)})` : ''}${rev.source === 'git' ? ', from the Git checkout' : ''}`
      : `the jobs dir no longer names a revision (was ${shortCommit(was!)})`;
    this.#store.addEvent({ type: TASK_EVENT.JobsRevision, message, details: { commit: now, previous: was, ...(rev ? { source: rev.source } : {}), ...(rev?.appliedAt ? { appliedAt: rev.appliedAt } : {}) } });
    this.#log.info({ commit: now, previous: was, source: rev?.source }, 'jobs revision changed');
  }
}
