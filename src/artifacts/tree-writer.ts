/**
 * Writes an unpacked tree under a root dir fd, one entry at a time, without
 * ever following a link: each entry's parent is reached by opening one
 * component after another with O_NOFOLLOW (an entry reached through a
 * symlink fails), files are created O_EXCL|O_NOFOLLOW (an existing file or
 * link at the name is unlinked first, never opened), symlinks must point
 * inside the tree, hard links may only repeat an earlier file of the same
 * tree (written as a copy). The decompression limits are counted here.
 */
import { constants as C } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DirFd } from '../safe-fs.js';
import { errnoCode } from '../errors.js';
import { ArtifactError } from './artifacts.js';

/** Entries deeper than this are refused (each write opens every dir on the way). */
const MAX_SEGMENTS = 256;

export interface TreeLimits {
  /** 0 = no limit. */
  maxBytes: number;
  maxEntries: number;
}

/** `a/./b/` → ['a','b']; refuses absolute paths, `..`, NUL. Empty = the root itself. */
export function entrySegments(name: string, what: string): string[] {
  if (name.includes('\0')) throw refused(what, name, 'contains a NUL character');
  if (name.startsWith('/')) throw refused(what, name, 'is an absolute path');
  if (/^[A-Za-z]:[\\/]/.test(name)) throw refused(what, name, 'is an absolute path');
  const segs = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segs.includes('..')) throw refused(what, name, 'contains ".."');
  if (segs.length > MAX_SEGMENTS) throw refused(what, name.slice(0, 80), `is deeper than ${MAX_SEGMENTS} dirs`);
  return segs;
}

export function refused(what: string, name: string, why: string): ArtifactError {
  return new ArtifactError(`failed to unpack ${what}: entry ${JSON.stringify(name)} ${why}`, { recoverable: true, details: { entry: name } });
}

export class TreeWriter {
  readonly #root: DirFd;
  readonly #limits: TreeLimits;
  readonly #what: string;
  readonly #files = new Set<string>();
  entries = 0;
  bytes = 0;

  constructor(root: DirFd, limits: TreeLimits, what: string) {
    this.#root = root;
    this.#limits = limits;
    this.#what = what;
  }

  /** Count one archive entry against decompression_file_count_limit. */
  count(): void {
    this.entries++;
    if (this.#limits.maxEntries > 0 && this.entries > this.#limits.maxEntries) {
      throw new ArtifactError(`failed to unpack ${this.#what}: more than decompression_file_count_limit (${this.#limits.maxEntries}) entries`, {
        recoverable: true,
        details: { limit: 'decompression_file_count_limit' },
      });
    }
  }

  /** Count bytes about to be written (a declared size up front, then each chunk). */
  #addBytes(n: number): void {
    this.bytes += n;
    if (this.#limits.maxBytes > 0 && this.bytes > this.#limits.maxBytes) {
      throw new ArtifactError(`failed to unpack ${this.#what}: more than decompression_size_limit (${this.#limits.maxBytes} bytes)`, {
        recoverable: true,
        details: { limit: 'decompression_size_limit' },
      });
    }
  }

  /** Open the dir at `segs` (creating missing dirs 0755), never through a link. */
  async #open(segs: string[], name: string): Promise<DirFd> {
    let dir = await DirFd.openTrusted(`/proc/self/fd/${this.#root.fd}/.`);
    for (const seg of segs) {
      let next: DirFd;
      try {
        try {
          await fs.mkdir(dir.at(seg), { mode: 0o755 });
        } catch (err) {
          if (errnoCode(err) !== 'EEXIST') throw err;
        }
        next = await dir.openDir(seg);
      } catch (err) {
        await dir.close();
        const code = errnoCode(err);
        if (code === 'ELOOP' || code === 'ENOTDIR') throw refused(this.#what, name, 'goes through a link or a file');
        throw err;
      }
      await dir.close();
      dir = next;
    }
    return dir;
  }

  async dir(name: string, mode: number): Promise<void> {
    const segs = entrySegments(name, this.#what);
    if (!segs.length) return;
    const d = await this.#open(segs, name);
    try {
      await d.chmod(mode & 0o777 | 0o700);
    } finally {
      await d.close();
    }
  }

  /** A regular file from a stream of bytes; the mode keeps only the permission bits. */
  async file(name: string, data: AsyncIterable<Uint8Array>, mode: number): Promise<void> {
    const segs = entrySegments(name, this.#what);
    if (!segs.length) throw refused(this.#what, name, 'names the root as a file');
    const parent = await this.#open(segs.slice(0, -1), name);
    try {
      const fh = await this.#create(parent, segs.at(-1)!, name, segs.join('/'));
      try {
        for await (const chunk of data) {
          this.#addBytes(chunk.byteLength);
          await fh.write(chunk);
        }
        await fh.chmod(mode & 0o777);
      } finally {
        await fh.close();
      }
      this.#files.add(segs.join('/'));
    } finally {
      await parent.close();
    }
  }

  /** A symlink whose target, read from the link's own dir, stays inside the tree. */
  async symlink(name: string, target: string): Promise<void> {
    const segs = entrySegments(name, this.#what);
    if (!segs.length) throw refused(this.#what, name, 'names the root as a link');
    if (!target || target.includes('\0')) throw refused(this.#what, name, 'is a link with an empty target');
    if (path.posix.isAbsolute(target)) throw refused(this.#what, name, `is a link to an absolute path (${JSON.stringify(target)})`);
    const resolved = path.posix.normalize(path.posix.join(...segs.slice(0, -1), target));
    if (resolved === '..' || resolved.startsWith('../')) throw refused(this.#what, name, `is a link that points outside the artifact (${JSON.stringify(target)})`);
    const parent = await this.#open(segs.slice(0, -1), name);
    try {
      const leaf = segs.at(-1)!;
      await this.#clear(parent, leaf, name, segs.join('/'));
      await fs.symlink(target, parent.at(leaf));
    } finally {
      await parent.close();
    }
  }

  /** A hard link: only to a file this tree already holds; written as a copy. */
  async hardlink(name: string, target: string): Promise<void> {
    const to = entrySegments(target, this.#what).join('/');
    if (!this.#files.has(to)) throw refused(this.#what, name, `is a hard link to ${JSON.stringify(target)}, which is not an earlier file of the artifact`);
    const tsegs = to.split('/');
    const src = await this.#open(tsegs.slice(0, -1), name);
    let fh: fs.FileHandle;
    try {
      fh = await src.openFile(tsegs.at(-1)!, C.O_RDONLY);
    } finally {
      await src.close();
    }
    try {
      const st = await fh.stat();
      await this.file(name, fh.createReadStream({ autoClose: false, start: 0 }), st.mode);
    } finally {
      await fh.close();
    }
  }

  /** Create `leaf` O_EXCL; a file or link already there (a later tar entry wins) is unlinked first. */
  async #create(parent: DirFd, leaf: string, name: string, key: string): Promise<fs.FileHandle> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await parent.openFile(leaf, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600);
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST' || attempt >= 2) throw err;
        await this.#clear(parent, leaf, name, key);
      }
    }
  }

  async #clear(parent: DirFd, leaf: string, name: string, key: string): Promise<void> {
    const st = await parent.lstat(leaf);
    if (!st) return;
    if (st.isDirectory()) throw refused(this.#what, name, 'replaces a directory');
    await parent.unlink(leaf);
    this.#files.delete(key);
  }
}
