/**
 * The order the OCI executor uses, proven with a real runc: the manager
 * creates the task's cgroup with its limits, runc joins it through
 * `linux.cgroupsPath` with no `linux.resources` of its own and keeps those
 * limits, and destroy removes everything runc added in other hierarchies.
 *
 * tend-test: exclusive (counts the host's mount table before and after: run alone, scripts/test.mjs)
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { platform } from '../../../src/platform.js';
import { hostMounts, hostRootEntries, writeBundle } from '../../../src/executor/oci/bundle.js';
import { requireCgroupV1, requireRoot, requireRunc } from '../../helpers/gates.js';
import { waitFor } from '../../helpers/wait.js';
import { cgroupOf, hostManager, isDead, killOnEnd, leftovers, read, taskDirsEverywhere } from './host.js';

const MiB = 1 << 20;

/**
 * A host-mode bundle as the oci executor writes for raw_exec (the host's
 * top-level entries bound into an empty root, in a mount namespace of its
 * own), running `sleep 30`. Not root "/" without a mount namespace: runc
 * would bind "/" onto itself in the host's table, doubling it on every run.
 */
async function hostBundle(dir: string, cgroupsPath: string): Promise<void> {
  const runc = platform().which('runc') as string;
  execFileSync(runc, ['spec', '--bundle', dir]);
  const spec = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const entries = hostRootEntries();
  spec.root = { path: path.join(dir, 'rootfs'), readonly: false };
  spec.process.terminal = false;
  spec.process.args = ['sleep', '30'];
  delete spec.hostname;
  spec.mounts = hostMounts(entries);
  spec.linux = { namespaces: [{ type: 'mount' }], cgroupsPath, resources: {} };
  await writeBundle(dir, spec, entries);
}

/** Lines of the host's mount table (the agent's own namespace). */
const hostMountCount = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').length;

test('runc join: runc 1.1 joins a cgroup the manager made, keeps its limits, and destroy removes every hierarchy', async (t) => {
  if (!requireRoot(t) || !requireRunc(t) || !requireCgroupV1(t)) return;
  const runc = platform().which('runc') as string;
  const mgr = hostManager(t);
  const id = 'task';
  const container = `tend-test-${process.pid}-${randomBytes(3).toString('hex')}`;
  const bundle = mkdtempSync(path.join(os.tmpdir(), 'tend-runc-join-'));
  let pid = 0;
  killOnEnd(t, () => (pid ? [pid] : []));
  t.after(() => {
    spawnSync(runc, ['delete', '-f', container], { stdio: 'ignore' });
    rmSync(bundle, { recursive: true, force: true });
  });

  await mgr.create(id, { cpuShares: 300, memoryMaxBytes: 64 * MiB, pidsMax: 20 });
  const mountsBefore = hostMountCount();
  await hostBundle(bundle, mgr.cgroupsPath(id));
  execFileSync(runc, ['run', '-d', '--pid-file', path.join(bundle, 'pid'), '--bundle', bundle, container], { stdio: 'ignore', timeout: 10000 });
  pid = Number(readFileSync(path.join(bundle, 'pid'), 'utf8'));

  // runc joined every hierarchy at the manager's path, and wrote no limit of its own.
  assert.deepEqual(await mgr.pids(id), [pid]);
  for (const c of Object.keys(platform().cgroups.v1)) assert.equal(cgroupOf(pid, c), `/${mgr.parent}/${id}`, `hierarchy ${c}`);
  const dir = (c: string) => path.join(platform().cgroups.v1[c], mgr.parent, id);
  assert.equal(read(dir('cpu'), 'cpu.shares'), '300');
  assert.equal(read(dir('memory'), 'memory.limit_in_bytes'), String(64 * MiB));
  assert.equal(read(dir('pids'), 'pids.max'), '20');
  const everywhere = taskDirsEverywhere(mgr, id);
  assert.deepEqual(leftovers(everywhere), everywhere, 'runc made the dirs the manager does not (devices, blkio, name=systemd, unified)');

  // Updates go through the manager, in place.
  await mgr.update(id, { memoryMaxBytes: 128 * MiB });
  assert.equal(read(dir('memory'), 'memory.limit_in_bytes'), String(128 * MiB));
  assert.deepEqual(await mgr.pids(id), [pid]);

  await mgr.destroy(id);
  await waitFor(() => isDead(pid), { what: 'the container process to die' });
  assert.deepEqual(leftovers(everywhere), []);
  const state = JSON.parse(execFileSync(runc, ['state', container], { encoding: 'utf8' }));
  assert.equal(state.status, 'stopped');
  // runc delete still works after the manager removed the cgroup (it only warns about missing files).
  assert.equal(spawnSync(runc, ['delete', container], { stdio: 'ignore' }).status, 0);
  assert.notEqual(spawnSync(runc, ['state', container], { stdio: 'ignore' }).status, 0);
  assert.equal(hostMountCount(), mountsBefore, "expected the host's mount table unchanged by the run");
});
