/**
 * Nomad's file-system functions: `file`, `filebase64`, `fileescaped`,
 * `fileexists`, `fileset`, `abspath`, `basename`, `dirname`, `pathexpand`.
 * Relative paths are taken from the job file's dir (Nomad's CLI does the
 * same: its base dir is the job file's). A read must stay inside the
 * allowed dirs (the jobs dir tree, or dirs the agent config names), checked
 * on the real path, so a link cannot lead out; it goes through the loader's
 * safe reader (a regular file only, never a FIFO or a device; size cap).
 * Every read is recorded, with what it saw, so the source can reload the job
 * when a referenced file changes.
 */
import { createHash } from 'node:crypto';
import { readdirSync, realpathSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExprError, type EvalScope, type Value } from './index.js';
import type { FunctionTable } from './functions.js';
import { toStr } from './values.js';
import { JobFileError, readJobFileSync } from '../read.js';
import type { FileRead } from '../model.js';

/** What the file functions of one job file may do, and what they did. */
export interface FileAccess {
  /** Relative paths start here: the job file's dir. */
  baseDir: string;
  /** Real paths of the dirs whose trees may be read. */
  roots: string[];
  /** Appended to by every read. */
  reads: FileRead[];
  /** The job file's content hash: seeds `uuidv4` and `bcrypt`'s salt, so an unchanged file gives the same job. */
  seed?: string;
  /** Values drawn from the seed so far. */
  draws?: number;
}

/** The agent config key that allows reading outside the jobs dir (named in the refusal's hint). */
export const READ_DIRS_KEY = 'job_file_dirs';

/** Most files `fileset` returns or walks through: far above a real job's needs, bounded for a hostile one. */
const FILESET_MAX = 10_000;

const fn = (min: number, max: number, call: (args: Value[], scope?: EvalScope) => Value) => ({ min, max, call });

function access(scope: EvalScope | undefined, name: string): FileAccess {
  if (!scope?.files) throw new ExprError(`function "${name}" reads files, which is not available here`);
  return scope.files;
}

function isInside(real: string, root: string): boolean {
  return real === root || real.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/** The absolute path of `p` after checking that it (links resolved) stays inside an allowed dir. */
function allowed(fa: FileAccess, p: string): string {
  const abs = path.resolve(fa.baseDir, p);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch {
    // Missing: check the nearest existing parent, so "absent" is only said about allowed places.
    let dir = path.dirname(abs);
    for (;;) {
      try {
        real = path.join(realpathSync(dir), path.relative(dir, abs));
        break;
      } catch {
        const up = path.dirname(dir);
        if (up === dir) {
          real = abs;
          break;
        }
        dir = up;
      }
    }
  }
  if (!fa.roots.some((r) => isInside(real, r))) {
    throw new ExprError(
      `expected a path inside ${fa.roots.length === 1 ? `the jobs dir ${fa.roots[0]}` : `one of ${fa.roots.join(', ')}`}, got ${JSON.stringify(p)} (${real}); not read`,
      undefined,
      `to let job files read there, add its dir to client { ${READ_DIRS_KEY} = [...] } in the agent config`,
    );
  }
  return abs;
}

function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}

function readBytes(fa: FileAccess, p: string): Buffer {
  const abs = allowed(fa, p);
  try {
    const bytes = readJobFileSync(abs);
    fa.reads.push({ kind: 'file', path: abs, hash: sha256(bytes) });
    return bytes;
  } catch (err) {
    fa.reads.push({ kind: 'file', path: abs, hash: 'absent' });
    if (err instanceof JobFileError) throw new ExprError(`${JSON.stringify(p)}: ${err.message}`);
    if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') throw new ExprError(`no file exists at ${JSON.stringify(p)} (${abs})`);
    throw new ExprError(`failed to read ${JSON.stringify(p)}: ${(err as Error).message}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function readText(fa: FileAccess, p: string): string {
  const bytes = readBytes(fa, p);
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ExprError(`expected UTF-8 text in ${JSON.stringify(p)}, got invalid bytes`, undefined, 'use filebase64() for binary files');
  }
}

/** `${` → `$${` and `%{` → `%%{` unless already escaped (Nomad's fileescaped). */
export function escapeTemplate(text: string): string {
  return text.replace(/(\$+|%+)\{/g, (m, run: string) => (run.length === 1 ? run + m : m));
}

function exists(fa: FileAccess, p: string): boolean {
  const abs = allowed(fa, p);
  let hash = 'absent';
  try {
    const st = statSync(abs);
    if (!st.isFile()) throw new ExprError(`expected a regular file or nothing at ${JSON.stringify(p)}, got something else`);
    hash = 'present';
  } catch (err) {
    if (err instanceof ExprError) throw err;
    if (code(err) !== 'ENOENT' && code(err) !== 'ENOTDIR') throw new ExprError(`failed to stat ${JSON.stringify(p)}: ${(err as Error).message}`);
  }
  fa.reads.push({ kind: 'exists', path: abs, hash });
  return hash === 'present';
}

/** A glob (`*`, `**`, `?`, `[…]`, `{a,b}`) as a regular expression over `/`-separated relative paths. */
export function globRegExp(pattern: string): RegExp {
  let re = '';
  let depth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        const slash = pattern[i + 2] === '/';
        re += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw new ExprError(`expected "]" to close "[" in the pattern ${JSON.stringify(pattern)}`);
      let cls = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
      if (cls.startsWith('!') || cls.startsWith('^')) cls = '^' + cls.slice(1);
      re += `[${cls}]`;
      i = end;
    } else if (c === '{') {
      depth++;
      re += '(?:';
    } else if (c === '}' && depth > 0) {
      depth--;
      re += ')';
    } else if (c === ',' && depth > 0) re += '|';
    else if (c === '\\' && i + 1 < pattern.length) re += '\\' + pattern[++i];
    else re += c.replace(/[.+^$()|\\]/g, '\\$&');
  }
  if (depth > 0) throw new ExprError(`expected "}" to close "{" in the pattern ${JSON.stringify(pattern)}`);
  return new RegExp(`^${re}$`);
}

/** Regular files under `base` (relative, `/`-separated, sorted) matching `pattern`. */
export function globFiles(base: string, pattern: string): string[] {
  const re = globRegExp(pattern.replace(/^\.\//, ''));
  const out: string[] = [];
  let seen = 0;
  const walk = (dir: string, rel: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (++seen > FILESET_MAX) throw new ExprError(`expected at most ${FILESET_MAX} entries under ${base} for fileset, got more`);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(dir, e.name), r);
      else if (e.isFile() && re.test(r)) out.push(r);
    }
  };
  walk(base, '');
  return out.sort();
}

function fileset(fa: FileAccess, p: string, pattern: string): string[] {
  const base = allowed(fa, p);
  const found = globFiles(base, pattern);
  fa.reads.push({ kind: 'glob', path: base, pattern, hash: sha256(found.join('\0')) });
  return found;
}

/** What a recorded read sees now: equal to its `hash` while nothing it depends on changed. */
export function currentReadHash(read: FileRead): string {
  try {
    if (read.kind === 'glob') return sha256(globFiles(read.path, read.pattern ?? '').join('\0'));
    if (read.kind === 'exists') return statSync(read.path).isFile() ? 'present' : 'other';
    return sha256(readJobFileSync(read.path));
  } catch (err) {
    return code(err) === 'ENOENT' || code(err) === 'ENOTDIR' ? 'absent' : `error:${code(err) ?? (err as Error).message}`;
  }
}

/** Go's filepath.Base: the last element, trailing slashes dropped; "." for "", "/" for "/". */
function basename(p: string): string {
  if (p === '') return '.';
  const trimmed = p.replace(/\/+$/, '');
  if (trimmed === '') return '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** Go's filepath.Dir: all but the last element, cleaned; "." when there is no dir. */
function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  const dir = i < 0 ? '' : p.slice(0, i + 1);
  if (dir === '') return '.';
  const clean = path.posix.normalize(dir);
  return clean.length > 1 ? clean.replace(/\/+$/, '') : clean;
}

export const FILE_FUNCTIONS: FunctionTable = {
  file: fn(1, 1, ([p], s) => readText(access(s, 'file'), toStr(p))),
  filebase64: fn(1, 1, ([p], s) => readBytes(access(s, 'filebase64'), toStr(p)).toString('base64')),
  fileescaped: fn(1, 1, ([p], s) => escapeTemplate(readText(access(s, 'fileescaped'), toStr(p)))),
  fileexists: fn(1, 1, ([p], s) => exists(access(s, 'fileexists'), toStr(p))),
  fileset: fn(2, 2, ([p, pattern], s) => fileset(access(s, 'fileset'), toStr(p), toStr(pattern))),
  abspath: fn(1, 1, ([p], s) => path.resolve(s?.files?.baseDir ?? process.cwd(), toStr(p))),
  basename: fn(1, 1, ([p]) => basename(toStr(p))),
  dirname: fn(1, 1, ([p]) => dirname(toStr(p))),
  pathexpand: fn(1, 1, ([p]) => {
    const s = toStr(p);
    return s === '~' || s.startsWith('~/') ? os.homedir() + s.slice(1) : s;
  }),
};
