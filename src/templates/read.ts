/**
 * Reading a file for a template (`source`, and the `file` function) without following links:
 * the path is mapped onto one of the allowed roots (the task's dirs, as the host or as the task
 * sees them, and the host dirs the agent config allows) and opened from that root one component
 * at a time with O_NOFOLLOW, so a link a task planted in `local/` cannot make the root agent read
 * a host file into a template. Synchronous: the template engine's `file` is.
 */
import { closeSync, constants as C, fstatSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { TendError, errnoCode } from '../errors.js';
import { assertSegment } from '../safe-fs.js';

/** Largest file a template reads. */
export const MAX_TEMPLATE_FILE_BYTES = 4 * 1024 * 1024;

/** A host root and how a path names it (the same dir, or the task's view of it). */
export interface FileRoot {
  /** The prefix a path starts with (absolute). */
  prefix: string;
  /** The host dir it stands for (trusted: made by the agent or the operator). */
  host: string;
}

/** Where `p` lands: the root's host dir and the components under it; relative paths are under `relativeTo`. */
export function locateFile(p: string, roots: readonly FileRoot[], relativeTo: string): { host: string; segs: string[] } {
  const abs = path.posix.resolve('/', p.startsWith('/') ? p : path.posix.join(relativeTo, p));
  if (!p.startsWith('/') && abs !== relativeTo && !abs.startsWith(`${relativeTo}/`)) {
    throw new TendError('E_TEMPLATE', `file "${p}": expected a path inside the task dir`);
  }
  const hit = [...roots].sort((a, b) => b.prefix.length - a.prefix.length).find((r) => abs === r.prefix || abs.startsWith(r.prefix === '/' ? '/' : `${r.prefix}/`));
  if (!hit) throw new TendError('E_TEMPLATE', `file "${p}": expected a path inside the task's dirs (templates read no other host file)`);
  const segs = abs.slice(hit.prefix.length).split('/').filter(Boolean);
  for (const s of segs) assertSegment(s);
  return { host: hit.host, segs };
}

/** Read a located file: every component opened without following links; ENOENT passes through. */
export function readLocated(at: { host: string; segs: string[] }, shown: string): string {
  if (!at.segs.length) throw new TendError('E_TEMPLATE', `file "${shown}": is a directory`);
  const fds: number[] = [];
  try {
    fds.push(openSync(at.host, C.O_RDONLY | C.O_DIRECTORY));
    for (const seg of at.segs.slice(0, -1)) fds.push(openSync(`/proc/self/fd/${fds.at(-1)}/${seg}`, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW));
    const fd = openSync(`/proc/self/fd/${fds.at(-1)}/${at.segs.at(-1)}`, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    fds.push(fd);
    const st = fstatSync(fd);
    if (!st.isFile()) throw new TendError('E_TEMPLATE', `file "${shown}": expected a regular file`);
    if (st.size > MAX_TEMPLATE_FILE_BYTES) throw new TendError('E_TEMPLATE', `file "${shown}": ${st.size} bytes, more than the ${MAX_TEMPLATE_FILE_BYTES} a template reads`);
    return readFileSync(fd, 'utf8');
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ELOOP' || code === 'ENOTDIR') throw new TendError('E_TEMPLATE', `file "${shown}": a link or non-directory in the path (links are not followed)`);
    throw err;
  } finally {
    for (const fd of fds.reverse()) closeSync(fd);
  }
}
