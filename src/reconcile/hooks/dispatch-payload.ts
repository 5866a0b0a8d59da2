/**
 * Prestart: a dispatched child's payload is written to `local/<dispatch_payload.file>` of every
 * task that has the block, before the driver prepares the launch (Nomad's dispatch_payload hook).
 * Written at every start, so a restart (and a start after an agent restart, from the payload the
 * dispatch record keeps) finds it again as dispatched.
 *
 * local/ is the task's: the path is opened from the task dir (the agent's) one component at a
 * time without following links; a link or file the task planted where a dir of the path should
 * be is replaced by a real dir, and the file itself is created O_EXCL|O_NOFOLLOW after whatever
 * sat at its name is unlinked (never followed). File and new dirs belong to the task's user.
 * Mode 0755 for the file, as Nomad's 0777 under the usual umask.
 */
import { constants as C } from 'node:fs';
import { TendError, errnoCode } from '../../errors.js';
import { payloadFileSegments } from '../../jobspec/dispatch-payload.js';
import { openTarget } from '../../artifacts/place.js';
import type { DirFd, Owner } from '../../safe-fs.js';
import type { PrestartHook } from '../hooks.js';

const FILE_MODE = 0o755;

/** Write `data` to `local/<file>` under `taskDir`, link-safe (see above). Returns the host path written. */
export async function writePayload(taskDir: string, file: string, data: Buffer, owner?: Owner): Promise<string> {
  const r = payloadFileSegments(file);
  if ('problem' in r) throw new TendError('E_SPEC_INVALID', `failed to write the dispatch payload: dispatch_payload.file: ${r.problem}`);
  const dirs = ['local', ...r.segments.slice(0, -1)];
  const leaf = r.segments.at(-1)!;
  const dir = await openTarget({ base: taskDir, dirs, leaf, protect: [] }, owner);
  try {
    await writeLeaf(dir, leaf, data, owner);
    return `${dir.path}/${leaf}`;
  } finally {
    await dir.close();
  }
}

async function writeLeaf(dir: DirFd, name: string, data: Buffer, owner?: Owner): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const st = await dir.lstat(name);
    if (st?.isDirectory()) {
      const left = await dir.removeTree(name);
      if (left.length) throw new Error(`cannot replace ${dir.path}/${name}: a mount point is below it`);
    } else if (st) {
      await dir.unlink(name);
    }
    let fh;
    try {
      fh = await dir.openFile(name, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600);
    } catch (err) {
      // The task put something back at the name meanwhile: look again (never follow it).
      if ((errnoCode(err) === 'EEXIST' || errnoCode(err) === 'ELOOP') && attempt < 3) continue;
      throw err;
    }
    try {
      await fh.writeFile(data);
      await fh.chmod(FILE_MODE);
      if (owner) await fh.chown(owner.uid, owner.gid);
    } finally {
      await fh.close();
    }
    return;
  }
}

export const dispatchPayloadHook: PrestartHook = {
  name: 'dispatch-payload',
  async prestart({ instance, dirs, user, logger }) {
    const file = instance.task.dispatchPayload?.file;
    const payload = instance.job.payload;
    if (!file || payload === undefined) return;
    const data = Buffer.from(payload, 'base64');
    const where = await writePayload(dirs.taskDir, file, data, user ? { uid: user.uid, gid: user.gid } : undefined);
    logger.debug({ path: where, bytes: data.length }, 'dispatch payload written');
  },
};
