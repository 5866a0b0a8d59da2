import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureTaskDirs, removeAllocDir } from '../../../src/drivers/alloc-dir.js';
import { lookupUser } from '../../../src/drivers/user.js';
import { hostEnv } from '../../../src/drivers/host-env.js';
import { ExecDriver, hostVolumeMounts } from '../../../src/drivers/exec.js';
import { makeJob } from '../agent/fixtures.js';
import { RawExecDriver } from '../../../src/drivers/raw-exec.js';
import { nodeInfo } from '../../../src/drivers/fingerprint.js';
import { platform } from '../../../src/platform.js';
import type { ExecPluginConfig } from '../../../src/agent/config-model.js';
import { makeTask } from '../agent/fixtures.js';

test('alloc dir: Nomad layout is made and removed with the allocation', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-alloc-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const d = await ensureTaskDirs(dir, 'A1', 'web');
  for (const p of ['alloc/logs', 'alloc/data', 'alloc/tmp', 'web/local', 'web/secrets', 'web/tmp']) {
    assert.ok((await stat(path.join(dir, 'alloc', 'A1', p))).isDirectory(), p);
  }
  assert.equal((await stat(d.secretsDir)).mode & 0o777, 0o700);
  assert.equal((await stat(d.tmpDir)).mode & 0o7777, 0o1777);
  await removeAllocDir(dir, 'A1');
  await assert.rejects(stat(path.join(dir, 'alloc', 'A1')), { code: 'ENOENT' });
});

test('user lookup: by name and uid from passwd/group files; unknown name is E_USER_DENIED', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-user-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const files = { passwd: path.join(dir, 'passwd'), group: path.join(dir, 'group') };
  await writeFile(files.passwd, 'root:x:0:0:root:/root:/bin/sh\nalice:x:1001:1001::/home/alice:/bin/sh\n');
  await writeFile(files.group, 'alice:x:1001:\nops:x:2000:alice,bob\n');
  assert.deepEqual(await lookupUser('alice', files), { uid: 1001, gid: 1001, name: 'alice', home: '/home/alice', groups: [1001, 2000] });
  assert.equal((await lookupUser('1001', files)).name, 'alice');
  await assert.rejects(lookupUser('mallory', files), { code: 'E_USER_DENIED' });
});

test('raw_exec: disabled by default with the reason; host env drops the denylist', () => {
  const d = new RawExecDriver({ config: { enabled: false, noCgroups: false }, dataDir: '/tmp', isRoot: false, fingerprint: { ok: true } });
  assert.equal(d.availability().ok, false);
  assert.match(d.availability().reason!, /disabled/);
  const env = hostEnv({ PATH: '/bin', VAULT_TOKEN: 's', AWS_SECRET_ACCESS_KEY: 'k', NOMAD_ALLOC_ID: 'x', HOME: '/root', U: undefined });
  assert.deepEqual(env, { PATH: '/bin', HOME: '/root' });
  const agent = { PATH: '/bin', HOME: '/root', DB_PASSWORD: 'p', AWS_REGION: 'eu', TEND_TOKEN: 't', NOMAD_TOKEN: 'n', VAULT_TOKEN: 'v' };
  // env.denylist replaces Nomad's default list (as in Nomad); a trailing * is a prefix
  assert.deepEqual(hostEnv(agent, { denylist: ['DB_*', 'HOME'] }), { PATH: '/bin', AWS_REGION: 'eu', VAULT_TOKEN: 'v' });
  // env.allowlist: only those pass, the denylist still applies; TEND_* and NOMAD_* never pass
  assert.deepEqual(hostEnv(agent, { denylist: ['AWS_REGION'], allowlist: ['PATH', 'AWS_*', 'TEND_*', 'NOMAD_*'] }), { PATH: '/bin' });
});

test('exec driver: host volumes resolve through group volume and agent host_volume; a denied user never starts', async () => {
  const task = makeTask('t', { driver: 'exec', volumeMounts: [{ volume: 'data', destination: '/data', readOnly: false }] });
  const group = { ...makeJob('j').groups[0], volumes: [{ name: 'data', type: 'host' as const, source: 'shared', readOnly: false }] };
  assert.deepEqual(hostVolumeMounts(group, task, [{ name: 'shared', path: '/srv/shared', readOnly: true }]), [{ source: '/srv/shared', destination: '/data', readOnly: true }]);
  assert.throws(() => hostVolumeMounts(group, task, []), { code: 'E_SPEC_INVALID', message: /host_volume "shared"/ });
  const cfg: ExecPluginConfig = {
    enabled: true,
    defaultPidMode: 'private',
    defaultIpcMode: 'private',
    noPivotRoot: false,
    allowCaps: ['chown'],
    deniedHostUids: [[0, 0]],
    deniedHostGids: [],
  };
  const driver = new ExecDriver({ config: cfg, dataDir: '/nonexistent-tend', chrootEnv: [], hostVolumes: [], isRoot: true, fingerprint: { ok: true } });
  const job = makeJob('j', { tasks: [makeTask('t', { driver: 'exec', user: 'root' })] });
  await assert.rejects(
    driver.prepare({ job, group: job.groups[0], task: job.groups[0].tasks[0], index: 0, allocId: 'a', execId: 'a-t' }, { node: { name: 'n', id: 'i', class: '', datacenter: 'dc1', attributes: {}, meta: {} }, agentEnv: {} }),
    { code: 'E_USER_DENIED' },
  );
});

test('fingerprint: Nomad attribute names, driver.X only when available', () => {
  const config = {
    dataDir: '/d',
    client: { nodeName: 'n1', nodeClass: 'edge', datacenter: 'dc1', meta: { rack: 'r1' }, reserved: { cores: [0], memoryMB: 0, cpu: 0 } },
  } as unknown as Parameters<typeof nodeInfo>[0]['config'];
  const n = nodeInfo({ platform: platform(), config, nodeId: 'id1', version: '0.1.0', drivers: { raw_exec: { ok: true }, exec: { ok: false, reason: 'requires root' } } });
  assert.equal(n.name, 'n1');
  assert.equal(n.attributes['driver.raw_exec'], '1');
  assert.equal(n.attributes['driver.exec'], undefined);
  assert.equal(n.attributes['kernel.name'], platform().kernelName);
  assert.equal(n.attributes['cpu.numcores'], String(platform().numCores));
  assert.equal(n.meta.rack, 'r1');
});

test('raw_exec prepare: task dirs, NOMAD_* and task env over the host env, relative command in the task dir, reserved cores', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-prep-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const d = new RawExecDriver({ config: { enabled: true, noCgroups: false }, dataDir: dir, isRoot: false, fingerprint: { ok: true } });
  const task = makeTask('t', { env: { FOO: '${NOMAD_ALLOC_INDEX}-x', PATH: '/opt/bin' }, resources: { cpu: 100, memoryMB: 64, cores: 2 } }, { command: 'local/run.sh', args: ['${NOMAD_TASK_DIR}'] });
  const job = makeJob('j', { tasks: [task] });
  const reserved: [string, number][] = [];
  const spec = await d.prepare(
    { job, group: job.groups[0], task, index: 3, allocId: 'A1', execId: 'A1-t' },
    {
      node: { name: 'n', id: 'i', class: '', datacenter: 'dc1', attributes: {}, meta: {} },
      agentEnv: { PATH: '/usr/bin', HOME: '/root', VAULT_TOKEN: 'secret' },
      reserveCores: (id, n) => (reserved.push([id, n]), [2, 3]),
    },
  );
  const taskDir = path.join(dir, 'alloc', 'A1', 't');
  assert.equal(spec.command, path.join(taskDir, 'local/run.sh'));
  assert.deepEqual(spec.args, [path.join(taskDir, 'local')]);
  assert.equal(spec.cwd, taskDir);
  assert.equal(spec.logDir, path.join(dir, 'logs', 'A1'));
  assert.equal(spec.env.FOO, '3-x');
  assert.equal(spec.env.PATH, '/opt/bin', 'task env wins over the host env');
  assert.equal(spec.env.HOME, '/root');
  assert.equal(spec.env.VAULT_TOKEN, undefined);
  assert.equal(spec.env.NOMAD_ALLOC_ID, 'A1');
  assert.equal(spec.env.NOMAD_CPU_CORES, '2,3');
  assert.deepEqual(spec.resources.cores, [2, 3]);
  assert.deepEqual(reserved, [['A1-t', 2]]);
  assert.equal(spec.resources.memoryMaxBytes, 64 * 1048576);
  assert.ok((await stat(path.join(taskDir, 'secrets'))).isDirectory());
});
