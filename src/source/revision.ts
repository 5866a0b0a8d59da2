/**
 * Which revision of a Git repository the jobs dir holds, read at every relist
 * of the source (a few small reads; git is never run):
 *
 *  1. a `REVISION` file at the top of the jobs dir, as deploy/tend-git-sync
 *     writes it (format below), else
 *  2. a Git checkout: `.git` (a dir, or a `gitdir:` file of a worktree or
 *     submodule) → `HEAD` → the ref it names, as a loose ref file or a line of
 *     `packed-refs` (in the common dir of a worktree); a detached HEAD is the
 *     commit itself.
 *
 * REVISION format (text, at most 4 KiB): the first non-empty line is the
 * commit, 4 to 64 hex digits (a full SHA-1 or SHA-256, or an abbreviation);
 * later lines are `key=value` (or `key: value`); `applied_at` is the ISO 8601
 * time the revision was put in place. Other keys (`branch`, …) are ignored;
 * `#` starts a comment line.
 *
 *     3f2a9c1e0d5b8a7f6e4c3b2a1908f7e6d5c4b3a2
 *     applied_at=2026-11-30T12:00:00Z
 *     branch=main
 *
 * Files are opened without following a link as their last component, as
 * regular files only (never a FIFO), and read up to a bound: a repository's
 * content can plant a `REVISION`; what is read is never echoed unless it is a
 * commit id. For a Git checkout, `appliedAt` is the mtime of the file the
 * commit was read from (the loose ref, or HEAD when detached: what `git
 * pull`/`checkout` rewrites), absent when it came from `packed-refs`.
 */
import { constants as C, promises as fs } from 'node:fs';
import path from 'node:path';
import { errnoCode } from '../errors.js';
import type { JobsRevision } from './source.js';

/** What a look at the dir found: the revision (or null) and, when something there is unreadable or malformed, why. */
export interface RevisionLook {
  revision: JobsRevision | null;
  problem?: string;
}

export const REVISION_FILE = 'REVISION';
const MAX_REVISION_BYTES = 4096;
const MAX_GIT_FILE_BYTES = 4096;
/** packed-refs of a big repository can be large; beyond this the ref is not resolved. */
const MAX_PACKED_REFS_BYTES = 16 * 1024 * 1024;
const MAX_REF_DEPTH = 5;

const COMMIT = /^[0-9a-f]{4,64}$/;
const FULL_OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** Short form of a commit for display (git's default abbreviation). */
export function shortCommit(commit: string): string {
  return commit.slice(0, 7);
}

export function sameRevision(a: JobsRevision | null | undefined, b: JobsRevision | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.commit === b.commit && a.source === b.source && a.appliedAt === b.appliedAt;
}

/** Reads a regular file (no link as last component, no FIFO) of at most `max` bytes; undefined when absent. */
async function readSmall(file: string, max: number): Promise<{ text: string; mtimeMs: number } | undefined> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'ELOOP') throw new Error(`${file} is a symbolic link; not followed`);
    throw new Error(`failed to open ${file}: ${code ?? String(err)}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`${file} is not a regular file`);
    if (st.size > max) throw new Error(`${file} is larger than ${max} bytes`);
    const buf = Buffer.alloc(Math.min(st.size, max) + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead > max) throw new Error(`${file} is larger than ${max} bytes`);
    return { text: buf.subarray(0, bytesRead).toString('utf8'), mtimeMs: st.mtimeMs };
  } finally {
    await fh.close();
  }
}

/** Parses REVISION's text; throws with what is wrong (the content is not quoted). */
export function parseRevisionFile(text: string, file = REVISION_FILE): Omit<JobsRevision, 'source'> {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const first = lines.findIndex((l) => l !== '' && !l.startsWith('#'));
  if (first < 0) throw new Error(`${file}: expected a commit id on its first line, got an empty file`);
  const commit = lines[first].toLowerCase();
  if (!COMMIT.test(commit)) throw new Error(`${file}:${first + 1}: expected a commit id (4 to 64 hex digits), got ${lines[first].length} characters that are not one`);
  const out: Omit<JobsRevision, 'source'> = { commit };
  for (const [i, line] of lines.entries()) {
    if (i <= first || line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_][\w-]*)\s*[=:]\s*(.*)$/.exec(line);
    if (!m) continue;
    if (m[1].toLowerCase() !== 'applied_at') continue;
    const at = Date.parse(m[2]);
    if (!Number.isFinite(at)) throw new Error(`${file}:${i + 1}: applied_at: expected an ISO 8601 time (2026-11-30T12:00:00Z)`);
    out.appliedAt = new Date(at).toISOString();
  }
  return out;
}

/** packed-refs parsed once per (mtime, size). */
const packedCache = new Map<string, { key: string; refs: Map<string, string> }>();

async function packedRef(commonDir: string, ref: string): Promise<string | undefined> {
  const file = path.join(commonDir, 'packed-refs');
  let st;
  try {
    st = await fs.lstat(file);
  } catch {
    packedCache.delete(file);
    return undefined;
  }
  const key = `${st.mtimeMs}:${st.size}:${st.ino}`;
  let hit = packedCache.get(file);
  if (!hit || hit.key !== key) {
    const read = await readSmall(file, MAX_PACKED_REFS_BYTES);
    if (!read) return undefined;
    const refs = new Map<string, string>();
    for (const line of read.text.split('\n')) {
      if (line === '' || line.startsWith('#') || line.startsWith('^')) continue;
      const sp = line.indexOf(' ');
      if (sp > 0) refs.set(line.slice(sp + 1).trim(), line.slice(0, sp));
    }
    hit = { key, refs };
    packedCache.set(file, hit);
  }
  return hit.refs.get(ref);
}

/** The git dir of a checkout at `dir`: `.git` itself, or where a `.git` file's `gitdir:` points. Undefined: not a checkout. */
async function gitDirOf(dir: string): Promise<string | undefined> {
  const dotGit = path.join(dir, '.git');
  let st;
  try {
    st = await fs.lstat(dotGit);
  } catch {
    return undefined;
  }
  if (st.isDirectory()) return dotGit;
  if (!st.isFile()) return undefined;
  const read = await readSmall(dotGit, MAX_GIT_FILE_BYTES);
  const m = read && /^gitdir:\s*(.+)$/m.exec(read.text);
  if (!m) throw new Error(`${dotGit}: expected "gitdir: <path>"`);
  return path.resolve(dir, m[1].trim());
}

/** Refs under refs/ (and HEAD-like names) only: a ref name never leaves the git dir. */
function checkRefName(ref: string, where: string): string {
  if (!/^refs\/[^\0]+$/.test(ref) || ref.split('/').some((s) => s === '' || s === '.' || s === '..' || s.startsWith('.'))) {
    throw new Error(`${where}: expected a ref under refs/, got an invalid ref name`);
  }
  return ref;
}

/** The commit HEAD of the checkout at `dir` names; null when `dir` is not a Git checkout. Throws with what is wrong. */
export async function readGitRevision(dir: string): Promise<JobsRevision | null> {
  const gitDir = await gitDirOf(dir);
  if (!gitDir) return null;
  const head = await readSmall(path.join(gitDir, 'HEAD'), MAX_GIT_FILE_BYTES);
  if (!head) return null;
  let commonDir = gitDir;
  const common = await readSmall(path.join(gitDir, 'commondir'), MAX_GIT_FILE_BYTES).catch(() => undefined);
  if (common?.text.trim()) commonDir = path.resolve(gitDir, common.text.trim());
  let text = head.text.trim();
  let mtimeMs: number | undefined = head.mtimeMs;
  let where = path.join(gitDir, 'HEAD');
  for (let depth = 0; text.startsWith('ref:'); depth++) {
    if (depth >= MAX_REF_DEPTH) throw new Error(`${where}: symbolic refs nested deeper than ${MAX_REF_DEPTH}`);
    const ref = checkRefName(text.slice(4).trim(), where);
    // A worktree's own refs first (refs/bisect, …), then the shared ones, then packed-refs.
    const loose = (await readSmall(path.join(gitDir, ref), MAX_GIT_FILE_BYTES)) ?? (commonDir !== gitDir ? await readSmall(path.join(commonDir, ref), MAX_GIT_FILE_BYTES) : undefined);
    if (loose) {
      text = loose.text.trim();
      mtimeMs = loose.mtimeMs;
      where = ref;
      continue;
    }
    const packed = await packedRef(commonDir, ref);
    // An unborn branch (a fresh `git init`): no commit yet.
    if (!packed) return null;
    text = packed;
    mtimeMs = undefined;
    where = `packed-refs ${ref}`;
  }
  const commit = text.toLowerCase();
  if (!FULL_OID.test(commit)) throw new Error(`${where}: expected a commit id, got something else (reftable or a damaged ref?)`);
  return { commit, source: 'git', ...(mtimeMs !== undefined ? { appliedAt: new Date(mtimeMs).toISOString() } : {}) };
}

/** The revision of the jobs dir: its REVISION file, else its Git checkout, else null. Never throws. */
export async function readJobsRevision(dir: string): Promise<RevisionLook> {
  try {
    const file = path.join(dir, REVISION_FILE);
    const read = await readSmall(file, MAX_REVISION_BYTES);
    if (read) return { revision: { ...parseRevisionFile(read.text, file), source: 'REVISION' } };
  } catch (err) {
    return { revision: null, problem: (err as Error).message };
  }
  try {
    return { revision: await readGitRevision(dir) };
  } catch (err) {
    return { revision: null, problem: (err as Error).message };
  }
}
