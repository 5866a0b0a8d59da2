/**
 * Job files as node events: a file that fails to load is a "File Error" once per distinct content
 * (with file:line:column), one that loads again is "File Loaded", and a job defined by two files
 * is a "Conflict" once per distinct clash. The source has already resolved both; this only keeps
 * the events from repeating at every relist.
 */
import type pino from 'pino';
import type { DesiredSet } from '../source/source.js';
import { TASK_EVENT, type Store } from '../store/store.js';
import type { AgentMetrics } from './metrics.js';

export class FileEvents {
  readonly #store: Store;
  readonly #log: pino.Logger;
  readonly #metrics: AgentMetrics;
  /** Content hash of each file last reported failing. */
  readonly #fileErrors = new Map<string, string>();
  readonly #conflicts = new Set<string>();

  constructor(store: Store, log: pino.Logger, metrics: AgentMetrics) {
    this.#store = store;
    this.#log = log;
    this.#metrics = metrics;
  }

  /** Record the events a new desired set calls for. */
  seen(set: DesiredSet): void {
    const present = new Set<string>();
    for (const f of set.files) {
      present.add(f.path);
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
    for (const p of [...this.#fileErrors.keys()]) if (!present.has(p)) this.#fileErrors.delete(p);
    for (const c of set.conflicts) {
      const key = `${c.job}\0${c.winner}\0${c.losers.join('\0')}`;
      if (this.#conflicts.has(key)) continue;
      this.#conflicts.add(key);
      this.#store.addEvent({ job: c.job, file: c.losers[0], type: TASK_EVENT.Conflict, message: `job "${c.job}" is defined in ${c.winner} and ${c.losers.join(', ')}; ${c.winner} wins` });
    }
  }
}
