/**
 * Loading a job file: parse (HCL2 / TOML / JSON) → variables and locals →
 * schema walk with evaluation → typed model with defaults → constraints
 * against the node. Every problem is a diagnostic; nothing here throws for
 * bad content. A file with any error yields no jobs (its last good version,
 * kept by the caller, stays in force). Jobs whose constraints exclude the
 * given node are listed in `excluded`, not in `jobs`.
 */
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import type { Diagnostic, Job, LoadOptions, LoadResult } from './model.js';
import { formatOf } from './files.js';
import { parseSource } from './parse.js';
import { JobFileError, readJobFile } from './read.js';
import { SourceLocator } from './locate.js';
import { Reporter } from './diagnostics.js';
import { Checker } from './check.js';
import { Builder } from './build.js';
import { buildScope } from './variables.js';
import { exclusionReason } from './constraints.js';
import { suggest } from './expr/index.js';
import { file as fileSchema } from './schema.js';
import { notJobFileReason } from './job-file.js';
import { reportUnsupported } from './unsupported.js';
import type { FileAccess } from './expr/fn-file.js';

export { currentReadHash } from './expr/fn-file.js';

/** What the file functions of `file` may read: `readDirs` (default: the file's dir), as real paths. */
function fileAccess(file: string, text: string, readDirs: string[] | undefined): FileAccess {
  const baseDir = path.dirname(path.resolve(file));
  const roots: string[] = [];
  for (const d of readDirs ?? [baseDir]) {
    try {
      roots.push(realpathSync(d));
    } catch {
      // a dir that does not exist allows nothing
    }
  }
  return { baseDir, roots, reads: [], seed: createHash('sha256').update(text).digest('hex') };
}

/** The result plus the jobs as built even when the file has errors (for tooling and conformance checks). */
export interface Analysis extends LoadResult {
  built: Job[];
}

/** Load, normalise and validate one job file (HCL2 / TOML / JSON by extension). Never throws for bad content. */
export async function loadFile(file: string, opts: LoadOptions = {}): Promise<LoadResult> {
  return strip(await analyseFile(file, opts));
}

/** Same, from text already read (`file` names it in diagnostics and picks the format by extension). */
export async function loadText(file: string, text: string, opts: LoadOptions = {}): Promise<LoadResult> {
  return strip(await analyseText(file, text, opts));
}

function strip(a: Analysis): LoadResult {
  const { built: _built, ...rest } = a;
  return rest;
}

const varFileCache = new Map<string, Promise<{ values: Record<string, unknown>; diagnostics: Diagnostic[] }>>();

/** Read a -var-file (HCL `name = value` or JSON). */
async function readVarFile(file: string): Promise<{ values: Record<string, unknown>; diagnostics: Diagnostic[] }> {
  let text: string;
  try {
    text = (await readJobFile(file)).bytes.toString('utf8');
  } catch (err) {
    return { values: {}, diagnostics: [{ severity: 'error', kind: 'syntax', file, line: 0, column: 0, path: '', message: `failed to read variable file: ${(err as Error).message}` }] };
  }
  const parsed = await parseSource(file, text, file.endsWith('.json') ? 'json' : 'hcl');
  return { values: parsed.value ?? {}, diagnostics: parsed.diagnostics.map((d) => ({ ...d, file })) };
}

export async function analyseFile(file: string, opts: LoadOptions = {}): Promise<Analysis> {
  let text: string;
  try {
    text = (await readJobFile(file)).bytes.toString('utf8');
  } catch (err) {
    const message = err instanceof JobFileError ? err.message : `failed to read job file: ${(err as Error).message}`;
    const d: Diagnostic = { severity: 'error', kind: 'syntax', file, line: 0, column: 0, path: '', message };
    return { file, jobs: [], built: [], diagnostics: [d], ok: false, excluded: [] };
  }
  return analyseText(file, text, opts);
}

export async function analyseText(file: string, text: string, opts: LoadOptions = {}): Promise<Analysis> {
  const format = formatOf(file) ?? 'hcl';
  const locator = new SourceLocator(text, format === 'hcl');
  const r = new Reporter(file, locator);
  const done = (built: Job[], excluded: LoadResult['excluded'] = []): Analysis => {
    const ok = !r.hasErrors;
    r.diagnostics.sort((x, y) => x.line - y.line || x.column - y.column);
    const out = excluded.map((e) => e.job);
    const reads = uniqueReads(files.reads);
    return { file, jobs: ok ? built.filter((j) => !out.includes(j.id)) : [], built, diagnostics: r.diagnostics, ok, excluded: ok ? excluded : [], ...(reads.length ? { reads } : {}) };
  };
  const files = fileAccess(file, text, opts.readDirs);

  const parsed = await parseSource(file, text, format);
  for (const d of parsed.diagnostics) r.at(d);
  if (!parsed.value) return done([]);
  const notJob = notJobFileReason(parsed.value);
  if (notJob) return { ...done([]), skipped: notJob };

  const fileValues: Record<string, unknown> = {};
  for (const vf of opts.varFiles ?? []) {
    const key = path.resolve(vf);
    let p = varFileCache.get(key);
    if (!p) varFileCache.set(key, (p = readVarFile(vf)));
    const got = await p;
    for (const d of got.diagnostics) r.at(d);
    Object.assign(fileValues, got.values);
  }
  const raw = parsed.value;
  const { scope, unset } = buildScope(raw, { fileValues, flagValues: opts.vars ?? {} }, r, files);

  const checker = new Checker(r, scope, unset);
  const { variable: _v, locals: _l, ...rest } = raw;
  const top = checker.body(rest, { blocks: { job: fileSchema.blocks!.job } }, [], []);
  reportUnsupported(top, r);
  const jobBodies = top.blocks.job ?? [];
  if (jobBodies.length === 0 && !r.hasErrors) r.error('schema', [], undefined, 'expected a "job" block, got none');
  const builder = new Builder(file, r, locator);
  const built = jobBodies.map((b) => builder.job(b));
  const ids = new Set<string>();
  for (const j of built) {
    if (ids.has(j.id)) r.error('schema', [{ type: 'job', labels: [j.id] }], undefined, `job "${j.id}" is defined twice in this file`);
    ids.add(j.id);
  }
  const excluded: LoadResult['excluded'] = [];
  if (opts.node) {
    for (const j of built) {
      const reason = exclusionReason(j, opts.node);
      if (reason) excluded.push({ job: j.id, reason });
    }
  }
  return done(built, excluded);
}

/** Each thing read once (a value evaluated twice reads twice), in the order first read. */
function uniqueReads(reads: FileAccess['reads']): FileAccess['reads'] {
  const seen = new Set<string>();
  return reads.filter((x) => {
    const key = `${x.kind}\0${x.path}\0${x.pattern ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The bare parser, in this thread, for benchmarks: hcl2json only (imported here only: importing it starts its wasm). */
export async function parseOnly(file: string, text: string): Promise<unknown> {
  const { parse } = await import('@cdktn/hcl2json');
  return parse(file, text);
}

