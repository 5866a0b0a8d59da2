/**
 * Writing a rendered template into a task's dirs. The destination is resolved inside the task's
 * dirs as artifacts are (`local/app.conf`, `secrets/x`, `alloc/shared.conf`, or an absolute path
 * inside them as the task sees it), opened one component at a time without following links, and
 * the file is replaced atomically: written to a fresh temp file in the same dir (O_EXCL, so a
 * planted name is never opened), given its mode and owner through the fd, then renamed over the
 * destination (rename replaces a link planted there, never follows it). A task that can write
 * `local/` can therefore neither redirect the write nor make the agent chmod or chown a host file.
 */
import { constants as C } from 'node:fs';
import fs from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { resolveTarget, openTarget, targetPath } from '../artifacts/place.js';
import { SourceProblem } from '../artifacts/source.js';
import type { ArtifactDirs } from '../artifacts/artifacts.js';
import { TendError } from '../errors.js';
import type { DirFd, Owner } from '../safe-fs.js';

export interface WriteOptions {
  /** File mode, e.g. 0o644 (the template's `perms`). */
  mode: number;
  /** Owner of the file (the template's uid/gid, else the task's user); undefined: the agent's. */
  owner?: Owner;
}

/** Where a destination lands on the host; throws E_SPEC_INVALID when it is outside the task's dirs. */
export function templateTarget(destination: string, dirs: ArtifactDirs, view?: ArtifactDirs): { path: string; resolve: () => ReturnType<typeof resolveTarget> } {
  try {
    const t = resolveTarget(destination, 'file', dirs, view);
    return { path: targetPath(t), resolve: () => t };
  } catch (err) {
    if (err instanceof SourceProblem) throw new TendError('E_SPEC_INVALID', `template: ${err.message}`, { cause: err });
    throw err;
  }
}

/** The file's current content, read without following a link (undefined when absent or not a regular file). */
async function currentText(dir: DirFd, name: string): Promise<string | undefined> {
  let fh: fs.FileHandle | undefined;
  try {
    fh = await dir.openFile(name, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    const st = await fh.stat();
    if (!st.isFile() || st.size > 16 * 1024 * 1024) return undefined;
    return await fh.readFile('utf8');
  } catch {
    return undefined;
  } finally {
    await fh?.close();
  }
}

/**
 * Write `text` to the destination unless it already holds exactly that (with the same mode).
 * Returns the host path and whether the file changed.
 */
export async function writeRendered(destination: string, text: string, dirs: ArtifactDirs, view: ArtifactDirs | undefined, o: WriteOptions): Promise<{ path: string; changed: boolean }> {
  const target = templateTarget(destination, dirs, view);
  const t = target.resolve();
  const dir = await openTarget(t, o.owner);
  try {
    const name = t.leaf!;
    const st = await dir.lstat(name);
    if (st?.isFile() && (st.mode & 0o7777) === o.mode && (!o.owner || (st.uid === o.owner.uid && st.gid === o.owner.gid)) && (await currentText(dir, name)) === text) {
      return { path: target.path, changed: false };
    }
    const tmp = `.${name.slice(0, 64)}.tend-${randomBytes(6).toString('hex')}`;
    const fh = await dir.openFile(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
    try {
      await fh.writeFile(text);
      if (o.owner) await fh.chown(o.owner.uid, o.owner.gid);
      await fh.chmod(o.mode);
      await fh.sync();
    } catch (err) {
      await fh.close();
      await dir.unlink(tmp).catch(() => {});
      throw err;
    }
    await fh.close();
    try {
      if (st?.isDirectory()) throw new TendError('E_SPEC_INVALID', `template: destination "${destination}" is a directory`);
      await fs.rename(dir.at(tmp), dir.at(name));
    } catch (err) {
      await dir.unlink(tmp).catch(() => {});
      throw err;
    }
    return { path: target.path, changed: true };
  } finally {
    await dir.close();
  }
}

/** Parse a `perms` string ("644", "0600") into a mode; throws on anything else. */
export function parsePerms(perms: string): number {
  if (!/^0?[0-7]{3,4}$/.test(perms)) throw new TendError('E_SPEC_INVALID', `template: perms: expected an octal mode such as "644", got "${perms}"`);
  return Number.parseInt(perms, 8) & 0o7777 & ~0o6000;
}
