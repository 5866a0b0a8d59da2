/**
 * The dispatch payload hook on real dirs, played by an attacker: the task owns local/ and may
 * plant links anywhere in it between two starts; the agent (root) must never write through one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { dispatchPayloadHook, writePayload } from '../../../src/reconcile/hooks/dispatch-payload.js';
import { ensureTaskDirs } from '../../../src/drivers/alloc-dir.js';
import { expandJobs } from '../../../src/reconcile/expand.js';
import { dispatchedJob } from '../../../src/reconcile/dispatch.js';
import { requireLinux, requireRoot } from '../../helpers/gates.js';
import { prestartExtras } from './worker-setup.js';
import { makeJob, makeTask } from '../agent/fixtures.js';

async function setup(t: import('node:test').TestContext) {
  const root = await mkdtemp(path.join(os.tmpdir(), 'tend-payload-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const host = path.join(root, 'host');
  await mkdir(host);
  await writeFile(path.join(host, 'passwd'), 'root:x:0:0\n');
  const dirs = await ensureTaskDirs(path.join(root, 'data'), 'alloc-1', 't');
  return { root, host, dirs };
}

const hostUntouched = async (host: string) => {
  assert.deepEqual((await readdir(host)).sort(), ['passwd']);
  assert.equal(await readFile(path.join(host, 'passwd'), 'utf8'), 'root:x:0:0\n');
};

test('dispatch payload hook: writes local/<file> (sub dirs made) for a dispatched child; nothing without a payload or block', async (t) => {
  if (!requireLinux(t)) return;
  const { dirs } = await setup(t);
  const parent = { ...makeJob('render', { type: 'batch', tasks: [makeTask('t', { dispatchPayload: { file: 'in/config.json' } })] }), parameterized: { payload: 'optional' as const, metaRequired: [], metaOptional: [], pos: { file: '', line: 0, column: 0 } } };
  const child = dispatchedJob(parent, { id: 'render/dispatch-1-0000000a', meta: {}, payload: Buffer.from('{"a":1}').toString('base64') });
  const instance = [...expandJobs([child]).values()][0];
  const ctx = { instance, dirs, logger: pino({ level: 'silent' }), emit: () => {}, signal: new AbortController().signal, ...prestartExtras };
  await dispatchPayloadHook.prestart(ctx);
  const file = path.join(dirs.localDir, 'in', 'config.json');
  assert.equal(await readFile(file, 'utf8'), '{"a":1}');
  assert.equal((await stat(file)).mode & 0o777, 0o755);
  // Idempotent: a restart writes it again, over what the task left there.
  await writeFile(file, 'changed by the task');
  await dispatchPayloadHook.prestart(ctx);
  assert.equal(await readFile(file, 'utf8'), '{"a":1}');
  // No payload given: nothing written.
  await rm(path.join(dirs.localDir, 'in'), { recursive: true });
  const bare = [...expandJobs([dispatchedJob(parent, { id: 'render/dispatch-1-0000000b', meta: {} })]).values()][0];
  await dispatchPayloadHook.prestart({ ...ctx, instance: bare });
  assert.deepEqual(await readdir(dirs.localDir), []);
});

test('dispatch payload hook (attacker): local/ swapped for a link to a host dir is replaced, never written through', async (t) => {
  if (!requireLinux(t)) return;
  const { host, dirs } = await setup(t);
  await rm(dirs.localDir, { recursive: true });
  await symlink(host, dirs.localDir);
  await writePayload(dirs.taskDir, 'passwd', Buffer.from('pwned'));
  await hostUntouched(host);
  assert.ok((await lstat(dirs.localDir)).isDirectory(), 'local/ is a real dir again');
  assert.equal(await readFile(path.join(dirs.localDir, 'passwd'), 'utf8'), 'pwned');
});

test('dispatch payload hook (attacker): a link as a dir of the path or as the file itself is replaced, never followed', async (t) => {
  if (!requireLinux(t)) return;
  const { host, dirs } = await setup(t);
  // A dir of the path is a link to a host dir.
  await symlink(host, path.join(dirs.localDir, 'sub'));
  await writePayload(dirs.taskDir, 'sub/passwd', Buffer.from('one'));
  await hostUntouched(host);
  assert.equal(await readFile(path.join(dirs.localDir, 'sub', 'passwd'), 'utf8'), 'one');
  // The file itself is a link to a host file.
  await symlink(path.join(host, 'passwd'), path.join(dirs.localDir, 'leaf'));
  await writePayload(dirs.taskDir, 'leaf', Buffer.from('two'));
  await hostUntouched(host);
  assert.ok((await lstat(path.join(dirs.localDir, 'leaf'))).isFile());
  assert.equal(await readFile(path.join(dirs.localDir, 'leaf'), 'utf8'), 'two');
  // A dir where the file goes is replaced too.
  await mkdir(path.join(dirs.localDir, 'asdir', 'deep'), { recursive: true });
  await writePayload(dirs.taskDir, 'asdir', Buffer.from('three'));
  assert.equal(await readFile(path.join(dirs.localDir, 'asdir'), 'utf8'), 'three');
  // A name that escapes is refused even if a bad spec got this far.
  await assert.rejects(writePayload(dirs.taskDir, '../../x', Buffer.from('no')), { code: 'E_SPEC_INVALID', message: /"\.\." leaves local\// });
});

test('dispatch payload hook: file and new dirs belong to the task user (root only)', async (t) => {
  if (!requireRoot(t)) return;
  const { dirs } = await setup(t);
  const owner = { uid: 65534, gid: 65534 };
  await writePayload(dirs.taskDir, 'a/b/p.bin', Buffer.from([0, 1, 2]), owner);
  for (const p of ['a', 'a/b', 'a/b/p.bin']) {
    const st = await lstat(path.join(dirs.localDir, p));
    assert.deepEqual([st.uid, st.gid], [65534, 65534], p);
  }
  assert.deepEqual([...(await readFile(path.join(dirs.localDir, 'a/b/p.bin')))], [0, 1, 2]);
});
