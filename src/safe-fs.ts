/**
 * Link-safe file handling for dirs a task can write.
 *
 * The agent runs as root; a task (or a job file) must never make it open,
 * chmod, chown or delete something outside the task's own tree by planting a
 * symlink, swapping a dir for a link between two calls, or nesting a tree
 * deeper than the agent can walk. Node has no openat(2), so every operation
 * here goes through a directory fd the agent opened itself and names exactly
 * one component below it: `/proc/self/fd/<fd>/<name>`. The kernel jumps to
 * the open dir (wherever it now is) and looks `name` up in it, so nothing
 * above that dir is resolved again, and:
 *  - open uses O_NOFOLLOW (a link as the last component fails with ELOOP),
 *    dirs also O_DIRECTORY;
 *  - mkdir, rmdir, unlink, rename and lstat never follow the last component;
 *  - chmod and chown are fchmod/fchown on the fd that was opened, never paths.
 *
 * `DirFd.openTrusted` is the only entry taking a path: one the agent alone can
 * write up to its last component (the data dir and what it made there).
 */
import { createHash } from 'node:crypto';
import { closeSync, constants as C, fchmodSync, fchownSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, type Dirent, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from './errors.js';

const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
/** Below this depth a tree being removed is moved up instead of walked further (bounded fds). */
const MAX_REMOVE_DEPTH = 32;
/** A dir this small (st_size: ext4 holds ~100 entries in its first 4 KiB) is listed without the thread pool. */
const SYNC_LIST_MAX_BYTES = 16384;

/**
 * One name inside a dir: a single path component, never "", ".", "..", and
 * with no "/" or NUL. Anything else is a bug or an attack: throws.
 */
export function assertSegment(name: string): string {
  if (!name || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new Error(`unsafe path segment ${JSON.stringify(name)}: expected one path component`);
  }
  return name;
}

/**
 * `root/seg/seg…`, each segment checked with assertSegment, and the result
 * asserted to lie strictly under `root` (the single place host paths are
 * joined from ids).
 */
export function pathUnder(root: string, ...segments: string[]): string {
  const base = path.resolve(root);
  const out = path.join(base, ...segments.map(assertSegment));
  if (out !== base && !out.startsWith(`${base}${path.sep}`)) throw new Error(`path ${out} escapes ${base}`);
  return out;
}

export interface Owner {
  uid: number;
  gid: number;
}

export interface EnsureDirOptions {
  /** Exact mode (incl. sticky bit) applied with fchmod. */
  mode: number;
  /** Owner applied with fchown when given. */
  owner?: Owner;
  /** Called when a non-dir (link, file, FIFO…) sat at the name and was replaced. */
  onReplaced?(name: string, kind: string): void;
}

/** "a FIFO", "a symbolic link", …: what an lstat says an entry is, for messages. */
export function fileKind(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * An open directory; every method acts on one name in it without following links.
 *
 * The fd is a plain one and the metadata calls on it (open, fstat, fchmod, fchown, mkdir, lstat,
 * close) are synchronous behind the async methods: each is a few µs on a local disk, where a
 * FileHandle and the thread pool cost ~20–30 µs of the agent's CPU and a round trip each, and a
 * task's start makes ~40 of them (issue 14: the dirs were most of a restart's preparation and ~1 ms
 * of CPU per task in a converge). What can take long (listings, file opens, unlinks on a busy
 * journal) still goes through the thread pool.
 */
export class DirFd {
  #fd: number;
  /** For messages only: where the dir was when it was opened. */
  readonly path: string;

  private constructor(fd: number, p: string) {
    this.#fd = fd;
    this.path = p;
  }

  /**
   * Open a dir the agent alone controls (its parents are not writable by a
   * task). The last component is not followed either.
   */
  static async openTrusted(p: string): Promise<DirFd> {
    return DirFd.openTrustedSync(p);
  }

  /** openTrusted, synchronously (the removal walk). */
  static openTrustedSync(p: string): DirFd {
    return new DirFd(openSync(p, DIR_FLAGS), p);
  }

  /** Like openTrusted, creating the dir (and its parents) with `mode` when missing. */
  static async ensureTrusted(p: string, mode: number): Promise<DirFd> {
    await fs.mkdir(p, { recursive: true, mode });
    return DirFd.openTrusted(p);
  }

  get fd(): number {
    if (this.#fd < 0) throw Object.assign(new Error(`directory ${this.path} is closed`), { code: 'EBADF' });
    return this.#fd;
  }

  /** `/proc/self/fd/<fd>/<name>`: `name` looked up in this dir, nothing else resolved. */
  at(name: string): string {
    return `/proc/self/fd/${this.fd}/${assertSegment(name)}`;
  }

  /** Idempotent (the fd is closed once, never a number the process reuses meanwhile). */
  async close(): Promise<void> {
    this.closeNow();
  }

  /** close, synchronously. */
  closeNow(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
  }

  async stat(): Promise<Stats> {
    return fstatSync(this.fd);
  }

  async chmod(mode: number): Promise<void> {
    fchmodSync(this.fd, mode);
  }

  async chown(owner: Owner): Promise<void> {
    fchownSync(this.fd, owner.uid, owner.gid);
  }

  /** lstat of one entry; undefined when it does not exist. */
  async lstat(name: string): Promise<Stats | undefined> {
    return lstatSync(this.at(name), { throwIfNoEntry: false });
  }

  async list(): Promise<string[]> {
    return fs.readdir(`/proc/self/fd/${this.fd}`);
  }

  /**
   * The entries with the type the listing gives (d_type; an lstat where the filesystem gives none).
   * Given the dir's st_size (it grows with the entries), a small dir is listed at once, a big one
   * through the thread pool.
   */
  async entries(size = Infinity): Promise<Dirent[]> {
    const me = `/proc/self/fd/${this.fd}`;
    return size <= SYNC_LIST_MAX_BYTES ? readdirSync(me, { withFileTypes: true }) : fs.readdir(me, { withFileTypes: true });
  }

  /** Open a subdir (O_NOFOLLOW): fails with ELOOP on a link, ENOTDIR on anything else. */
  async openDir(name: string): Promise<DirFd> {
    return this.openDirSync(name);
  }

  /** openDir, synchronously (the removal walk). */
  openDirSync(name: string): DirFd {
    return new DirFd(openSync(this.at(name), DIR_FLAGS), path.join(this.path, name));
  }

  /**
   * Make sure `name` is a real directory with exactly `mode` and `owner`, and
   * open it. A link, file or other non-dir planted there is removed first
   * (unlink never follows), so a chmod or chown can only ever reach this dir.
   */
  async ensureDir(name: string, o: EnsureDirOptions): Promise<DirFd> {
    for (let attempt = 0; ; attempt++) {
      try {
        mkdirSync(this.at(name), { mode: o.mode & 0o777 });
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
      let dir: DirFd;
      try {
        dir = await this.openDir(name);
      } catch (err) {
        const code = errnoCode(err);
        if ((code !== 'ELOOP' && code !== 'ENOTDIR') || attempt >= 3) throw err;
        const st = await this.lstat(name);
        if (st && !st.isDirectory()) {
          o.onReplaced?.(name, fileKind(st));
          await this.unlink(name);
        }
        continue;
      }
      try {
        const st = await dir.stat();
        if ((st.mode & 0o7777) !== o.mode) await dir.chmod(o.mode);
        if (o.owner && (st.uid !== o.owner.uid || st.gid !== o.owner.gid)) await dir.chown(o.owner);
        return dir;
      } catch (err) {
        await dir.close();
        throw err;
      }
    }
  }

  /** Open (and maybe create) a regular file; a link at `name` fails with ELOOP. */
  async openFile(name: string, flags: number, mode = 0o644): Promise<fs.FileHandle> {
    return fs.open(this.at(name), flags | C.O_NOFOLLOW, mode);
  }

  /** Remove a non-dir entry (a link itself, never its target). Missing is fine. */
  async unlink(name: string): Promise<void> {
    try {
      await fs.unlink(this.at(name));
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }

  /**
   * Remove `name` and everything under it without following a link and
   * without leaving this filesystem (a mount point below is left alone and
   * reported). Safe against a task that keeps changing the tree meanwhile:
   * each dir is opened O_NOFOLLOW from its parent's fd, and a tree deeper
   * than MAX_REMOVE_DEPTH is moved up to this dir and removed from there, so
   * the walk never holds more than that many fds. Returns what could not be
   * removed (mount points, EBUSY; not the dirs that hold them).
   */
  async removeTree(name: string): Promise<string[]> {
    return removeTreeIn(this, fstatSync(this.fd).dev, name);
  }
}

/**
 * `removeTree` of `name` in `parent`, a dir the agent alone controls (as
 * openTrusted); a missing parent or name is nothing to remove.
 */
export async function removeTreeUnder(parent: string, name: string): Promise<string[]> {
  let dir: DirFd;
  try {
    dir = DirFd.openTrustedSync(parent);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
  try {
    return await removeTreeIn(dir, fstatSync(dir.fd).dev, name);
  } finally {
    dir.closeNow();
  }
}

async function removeTreeIn(top: DirFd, dev: number, name: string): Promise<string[]> {
  const left: string[] = [];
  const pending = [name];
  let moved = 0;
  while (pending.length) {
    await removeEntry(top, pending.shift()!, dev, 0, left, async (parent, child) => {
      const spill = `.tend-remove-${process.pid}-${moved++}`;
      await fs.rename(parent.at(child), top.at(spill));
      pending.push(spill);
    });
  }
  return left;
}

/**
 * What a listing said an entry is: 'dir' (a directory, or unknown: opened to find out) or 'other'
 * (unlinked straight away). Only a hint, the entry may be swapped after the listing: an unlink of
 * what became a dir fails (EISDIR) and an open of what is no longer a dir fails (ENOTDIR, ELOOP),
 * and either way the other is tried.
 */
type EntryKind = 'dir' | 'other';

async function removeEntry(
  parent: DirFd,
  name: string,
  dev: number,
  depth: number,
  left: string[],
  spill: (parent: DirFd, name: string) => Promise<void>,
  kind: EntryKind = 'dir',
): Promise<void> {
  for (let attempt = 0; attempt < 4; attempt++) {
    if (kind === 'other') {
      try {
        await fs.unlink(parent.at(name));
        return;
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'ENOENT') return;
        if (code !== 'EISDIR') throw err;
        kind = 'dir';
      }
    }
    // Most of a task's dirs are empty: an rmdir removes them without a walk. It never follows a
    // link (ENOTDIR), and refuses a mount point of this namespace whatever it holds (EBUSY comes
    // before ENOTEMPTY): that is left alone, never walked into, a bind mount of this filesystem too.
    try {
      await fs.rmdir(parent.at(name));
      return;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return;
      if (code === 'EBUSY') {
        left.push(path.join(parent.path, name));
        return;
      }
      if (code === 'ENOTDIR') {
        kind = 'other'; // a link or a file: unlinked
        continue;
      }
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    }
    if (depth >= MAX_REMOVE_DEPTH) {
      await spill(parent, name);
      return;
    }
    let dir: DirFd;
    try {
      dir = parent.openDirSync(name);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return;
      if (code === 'ELOOP' || code === 'ENOTDIR') {
        kind = 'other'; // swapped for a link or a file meanwhile
        continue;
      }
      throw err;
    }
    const leftBefore = left.length;
    try {
      // A dir of another filesystem swapped in (or mounted since the rmdir) is left alone, as is what it holds.
      const st = fstatSync(dir.fd);
      if (st.dev !== dev) {
        left.push(dir.path);
        return;
      }
      for (const child of await dir.entries(st.size)) await removeEntry(dir, child.name, dev, depth + 1, left, spill, child.isDirectory() ? 'dir' : 'other');
    } finally {
      dir.closeNow();
    }
    // What holds a mount point stays (reported once, by the mount point): walking it again would not help.
    if (left.length > leftBefore) return;
    // Emptied: the next attempt's rmdir removes it, or walks what was added meanwhile.
  }
  left.push(path.join(parent.path, name));
}

/**
 * A name from a job file made into one safe path segment (and container id
 * part): kept as is when it is plain (`[A-Za-z0-9_.-]`, at most 64 bytes,
 * not "." or ".."), else the unsafe characters become "_" and a short hash
 * of the original name is appended, so two different names never share a
 * segment.
 */
export function segmentOf(name: string): string {
  if (/^[A-Za-z0-9_.-]{1,64}$/.test(name) && name !== '.' && name !== '..') return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  const readable = name.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_').slice(0, 48);
  return `${readable}-${hash}`;
}
