/**
 * Mounts left under a bundle (a crashed runc can leave the rootfs bind behind
 * in the host namespace). Found through /proc/self/mountinfo and detached
 * lazily, deepest first, before the bundle is removed.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Decode mountinfo's octal escapes (\040 for a space). */
function unescape(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points at or under `dir`, deepest first. */
export function mountsUnder(mountinfo: string, dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const p = unescape(mp);
    if (p === dir || p.startsWith(prefix)) out.push(p);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Read from kernel memory at once: cheaper than a thread-pool round trip, on every cleanup. */
export async function readMountinfo(): Promise<string> {
  return readFileSync('/proc/self/mountinfo', 'utf8');
}

/** Detach every mount under `dir`; returns what was unmounted. */
export async function unmountUnder(dir: string): Promise<string[]> {
  const found = mountsUnder(await readMountinfo(), dir);
  for (const mp of found) await run('umount', ['-l', mp]).catch(() => undefined);
  return found;
}
