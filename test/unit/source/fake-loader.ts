/**
 * A stand-in for the jobspec loader in source tests: a file holds one
 * `job <id>` line per job; a line `error <text>` makes the file invalid.
 * Counts loads per file so tests can assert "loaded once".
 */
import path from 'node:path';
import type { Diagnostic, Job, LoadResult } from '../../../src/jobspec/model.js';

export class FakeLoader {
  readonly loads = new Map<string, number>();
  readonly texts: { file: string; text: string }[] = [];

  load = async (file: string, text: string): Promise<LoadResult> => {
    this.loads.set(file, (this.loads.get(file) ?? 0) + 1);
    this.texts.push({ file, text });
    const jobs: Job[] = [];
    const diagnostics: Diagnostic[] = [];
    text.split('\n').forEach((line, i) => {
      const [word, rest] = [line.split(' ')[0], line.slice(line.indexOf(' ') + 1)];
      if (word === 'job') jobs.push(fakeJob(rest.trim(), file, i + 1));
      if (word === 'error')
        diagnostics.push({ severity: 'error', kind: 'syntax', file, line: i + 1, column: 1, path: '', message: rest.trim() });
    });
    const ok = diagnostics.length === 0;
    return { file, jobs: ok ? jobs : [], diagnostics, ok, excluded: [] };
  };

  loadsOf(file: string): number {
    return this.loads.get(file) ?? 0;
  }

  get total(): number {
    return [...this.loads.values()].reduce((a, b) => a + b, 0);
  }
}

export function fakeJob(id: string, file: string, line = 1): Job {
  return {
    id,
    name: id,
    type: 'service',
    datacenters: [],
    priority: 50,
    meta: {},
    constraints: [],
    groups: [],
    file,
    pos: { file, line, column: 1 },
  };
}

/** The file-name rule the loader documents, for tests that run before it lands. */
export function fakeIsJobFile(name: string): boolean {
  const base = path.basename(name);
  if (base.startsWith('.') || base.endsWith('~') || base.endsWith('.tmp') || base.endsWith('.swp')) return false;
  return /\.(hcl|nomad|toml|json)$/.test(base);
}
