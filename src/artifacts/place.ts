/**
 * Where an artifact lands and how it gets there. The destination is resolved
 * inside the task's dirs and opened from the (agent-owned) task or alloc dir
 * one component at a time without following links: a link or file a task
 * planted where a dir of the path should be is removed and a real dir made
 * (unlink never follows). The staged tree (agent-only) is then checked
 * (links stay inside, no setuid/setgid bits, chowned when asked) and moved
 * in with rename(2) through dir fds, merging into existing dirs and
 * replacing other entries, as Nomad's merge does; across filesystems it is
 * copied the same way.
 */
import { constants as C } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DirFd, assertSegment, type Owner } from '../safe-fs.js';
import { errnoCode } from '../errors.js';
import { ArtifactError, type ArtifactDirs } from './artifacts.js';
import { parseDestination, SourceProblem } from './source.js';

/** Where an artifact goes: a base dir the agent owns, the dirs under it, and the file name in mode "file". */
export interface Target {
  base: string;
  dirs: string[];
  /** Mode "file": the file's name in the last dir. */
  leaf?: string;
  /** Names in the base dir itself that an artifact may not replace (the alloc dir's `logs`). */
  protect: string[];
}

const MAX_DEPTH = 256;

/** Resolve a destination (as written or interpolated) inside the task's dirs. Throws SourceProblem. */
export function resolveTarget(destination: string, mode: 'any' | 'file' | 'dir', dirs: ArtifactDirs, view?: ArtifactDirs): Target {
  const spec = parseDestination(destination, { allowAbsolute: true });
  let base: 'task' | 'alloc';
  let segs = spec.segments;
  if (spec.base === 'absolute') {
    const abs = `/${segs.join('/')}`;
    const roots: [string, 'task' | 'alloc'][] = [
      [dirs.taskDir, 'task'], [dirs.allocDir, 'alloc'],
      ...(view ? ([[view.taskDir, 'task'], [view.allocDir, 'alloc']] as [string, 'task' | 'alloc'][]) : []),
    ];
    roots.sort((a, b) => b[0].length - a[0].length);
    const hit = roots.find(([r]) => {
      const root = path.posix.resolve(r);
      return abs === root || abs.startsWith(root === '/' ? '/' : `${root}/`);
    });
    if (!hit) throw new SourceProblem('invalid', `destination: expected a path inside the task's dirs, got "${destination}"`);
    base = hit[1];
    const root = path.posix.resolve(hit[0]);
    segs = abs.slice(root.length).split('/').filter(Boolean);
  } else {
    base = spec.base;
  }
  if (base === 'alloc' && segs[0] === 'logs') {
    throw new SourceProblem('invalid', `destination: expected a path in the alloc dir other than logs/ (the agent's), got "${destination}"`);
  }
  for (const s of segs) assertSegment(s);
  const out: Target = { base: base === 'task' ? dirs.taskDir : dirs.allocDir, dirs: segs, protect: base === 'alloc' ? ['logs'] : [] };
  if (mode === 'file') {
    const reserved = base === 'task' ? ['local', 'secrets', 'tmp'] : ['logs', 'data', 'tmp'];
    if (!segs.length || destination.endsWith('/') || (segs.length === 1 && reserved.includes(segs[0]))) {
      throw new SourceProblem('invalid', `destination: mode "file" expects a file path such as "local/app.bin", got "${destination}"`);
    }
    out.dirs = segs.slice(0, -1);
    out.leaf = segs.at(-1)!;
  }
  return out;
}

/** Host path of a target, for results and messages. */
export function targetPath(t: Target): string {
  return path.join(t.base, ...t.dirs, ...(t.leaf ? [t.leaf] : []));
}

/** Open the target's dir, making the missing dirs (0755, owned by `owner` when given) and replacing non-dirs. */
export async function openTarget(t: Target, owner?: Owner): Promise<DirFd> {
  let dir = await DirFd.openTrusted(t.base);
  try {
    for (const seg of t.dirs) {
      const next = await ensureRealDir(dir, seg, owner);
      await dir.close();
      dir = next;
    }
    if (owner && t.dirs.length) await dir.chown(owner);
    return dir;
  } catch (err) {
    await dir.close();
    throw err;
  }
}

async function ensureRealDir(parent: DirFd, name: string, owner?: Owner): Promise<DirFd> {
  for (let attempt = 0; ; attempt++) {
    let made = false;
    try {
      await fs.mkdir(parent.at(name), { mode: 0o755 });
      made = true;
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
    try {
      const d = await parent.openDir(name);
      if (made && owner) await d.chown(owner);
      return d;
    } catch (err) {
      const code = errnoCode(err);
      if ((code !== 'ELOOP' && code !== 'ENOTDIR') || attempt >= 3) throw err;
      const st = await parent.lstat(name);
      if (st && !st.isDirectory()) await parent.unlink(name); // a planted link or file: replaced, never followed
    }
  }
}

export interface TreeStats {
  entries: number;
  bytes: number;
}

/**
 * Check and finish the staged tree: every symlink's target stays inside the
 * tree, regular files lose setuid/setgid/sticky bits, and with `owner` every
 * entry is chowned (fchown / lchown, no link followed).
 */
export async function finishStaged(root: DirFd, what: string, owner?: Owner): Promise<TreeStats> {
  const stats: TreeStats = { entries: 0, bytes: 0 };
  if (owner) await root.chown(owner);
  await walk(root, [], 0);
  return stats;

  async function walk(dir: DirFd, rel: string[], depth: number): Promise<void> {
    if (depth > MAX_DEPTH) throw new ArtifactError(`failed to unpack ${what}: deeper than ${MAX_DEPTH} dirs`, { recoverable: false });
    for (const name of await dir.list()) {
      const st = await dir.lstat(name);
      if (!st) continue;
      stats.entries++;
      if (st.isDirectory()) {
        const sub = await dir.openDir(name);
        try {
          if (owner) await sub.chown(owner);
          await walk(sub, [...rel, name], depth + 1);
        } finally {
          await sub.close();
        }
      } else if (st.isSymbolicLink()) {
        const target = await fs.readlink(dir.at(name));
        const resolved = path.posix.normalize(path.posix.join(...rel, target));
        if (path.posix.isAbsolute(target) || resolved === '..' || resolved.startsWith('../')) {
          throw new ArtifactError(`failed to unpack ${what}: ${[...rel, name].join('/')} is a link that points outside the artifact (${JSON.stringify(target)})`, { recoverable: false });
        }
        if (owner) await fs.lchown(dir.at(name), owner.uid, owner.gid);
      } else if (st.isFile()) {
        stats.bytes += st.size;
        if (st.mode & 0o7000 || owner) {
          const fh = await dir.openFile(name, C.O_RDONLY);
          try {
            if (st.mode & 0o7000) await fh.chmod(st.mode & 0o777);
            if (owner) await fh.chown(owner.uid, owner.gid);
          } finally {
            await fh.close();
          }
        }
      } else {
        await dir.unlink(name); // a FIFO or socket from a local copy: never placed
        stats.entries--;
      }
    }
  }
}

/** Move everything in `staged` into `dest`: dirs merge, anything else replaces what is there. */
export async function mergeInto(staged: DirFd, dest: DirFd, what: string, owner?: Owner, depth = 0, protect: string[] = []): Promise<void> {
  if (depth > MAX_DEPTH) throw new ArtifactError(`failed to place ${what}: deeper than ${MAX_DEPTH} dirs`, { recoverable: false });
  for (const name of await staged.list()) {
    if (protect.includes(name)) throw new ArtifactError(`failed to place ${what}: it would replace ${name}/ of the alloc dir`, { recoverable: false });
    const s = await staged.lstat(name);
    if (!s) continue;
    const d = await dest.lstat(name);
    if (s.isDirectory() && d?.isDirectory()) {
      let into: DirFd | undefined;
      try {
        into = await dest.openDir(name);
      } catch (err) {
        const code = errnoCode(err);
        if (code !== 'ELOOP' && code !== 'ENOTDIR') throw err; // swapped for a link meanwhile: replace it below
      }
      if (into) {
        const from = await staged.openDir(name);
        try {
          await mergeInto(from, into, what, owner, depth + 1);
        } finally {
          await Promise.all([from.close(), into.close()]);
        }
        continue;
      }
    }
    await removeEntry(dest, name, what);
    try {
      await fs.rename(staged.at(name), dest.at(name));
    } catch (err) {
      if (errnoCode(err) !== 'EXDEV') throw err;
      await copyEntry(staged, dest, name, owner, depth);
    }
  }
}

async function removeEntry(dest: DirFd, name: string, what: string): Promise<void> {
  const st = await dest.lstat(name);
  if (!st) return;
  if (!st.isDirectory()) return dest.unlink(name);
  const left = await dest.removeTree(name);
  if (left.length) throw new ArtifactError(`failed to place ${what}: cannot replace ${path.join(dest.path, name)} (a mount point is below it)`, { recoverable: false });
}

/** rename(2) across filesystems: copy the entry (O_EXCL|O_NOFOLLOW files, links as links). */
async function copyEntry(from: DirFd, to: DirFd, name: string, owner: Owner | undefined, depth: number): Promise<void> {
  if (depth > MAX_DEPTH) throw new Error(`deeper than ${MAX_DEPTH} dirs`);
  const st = (await from.lstat(name))!;
  if (st.isSymbolicLink()) {
    await fs.symlink(await fs.readlink(from.at(name)), to.at(name));
    if (owner) await fs.lchown(to.at(name), owner.uid, owner.gid);
  } else if (st.isDirectory()) {
    await fs.mkdir(to.at(name), { mode: st.mode & 0o777 });
    const [a, b] = [await from.openDir(name), await to.openDir(name)];
    try {
      if (owner) await b.chown(owner);
      for (const child of await a.list()) await copyEntry(a, b, child, owner, depth + 1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  } else {
    const src = await from.openFile(name, C.O_RDONLY);
    try {
      const dst = await to.openFile(name, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600);
      try {
        for await (const chunk of src.createReadStream({ autoClose: false, start: 0 })) await dst.write(chunk as Buffer);
        await dst.chmod(st.mode & 0o777);
        if (owner) await dst.chown(owner.uid, owner.gid);
      } finally {
        await dst.close();
      }
    } finally {
      await src.close();
    }
  }
}
