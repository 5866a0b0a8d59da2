/**
 * Resolves a task's `user` (name or numeric uid) through /etc/passwd and
 * /etc/group, as the executor needs uid, gid, home and supplementary groups.
 */
import { readFile } from 'node:fs/promises';
import { TendError, errnoCode } from '../errors.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  name: string;
  home?: string;
  groups?: number[];
}

async function readLines(p: string): Promise<string[][]> {
  try {
    return (await readFile(p, 'utf8'))
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}

export async function lookupUser(user: string, files = { passwd: '/etc/passwd', group: '/etc/group' }): Promise<ResolvedUser> {
  const passwd = await readLines(files.passwd);
  const numeric = /^\d+$/.test(user);
  const row = passwd.find((f) => (numeric ? f[2] === user : f[0] === user));
  if (!row) {
    if (numeric) return { uid: Number(user), gid: Number(user), name: user };
    throw new TendError('E_USER_DENIED', `failed to look up user "${user}": no such user in ${files.passwd}`);
  }
  const name = row[0];
  const gid = Number(row[3]);
  const groups = (await readLines(files.group))
    .filter((g) => g[3]?.split(',').includes(name))
    .map((g) => Number(g[2]))
    .filter((g) => g !== gid);
  return { uid: Number(row[2]), gid, name, home: row[5] || undefined, groups: [gid, ...groups] };
}
