import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpec } from '../../../src/executor/oci/bundle.js';
import { WRAPPER_SCRIPT } from '../../../src/executor/plain-wrapper.js';
import type { LaunchSpec } from '../../../src/executor/executor.js';

test('oom_score_adj: an oci task, isolated or not, runs with 0, never the agent\'s own (runc sets process.oomScoreAdj)', () => {
  const spec: LaunchSpec = {
    id: 'a1-web',
    identity: { job: 'j', group: 'g', index: 0, task: 'web', allocId: 'a1' },
    driver: 'raw_exec',
    command: '/bin/app',
    args: [],
    env: {},
    allocDir: '/data/alloc/a1/alloc',
    taskDir: '/data/alloc/a1/web',
    cwd: '/',
    logDir: '/data/logs/a1',
    logs: { maxFiles: 2, maxFileSizeBytes: 1 },
    resources: { cpuShares: 100, memoryBytes: 100, memoryMaxBytes: 0, cores: [], pidsLimit: 0 },
  } as LaunchSpec;
  assert.equal(buildSpec(spec, '/b/rootfs', { pidsLimit: 0 }).process.oomScoreAdj, 0);
  const isolated: LaunchSpec = { ...spec, driver: 'exec', isolation: { chrootEnv: ['/usr'], pidMode: 'private', ipcMode: 'private', noPivotRoot: false, capabilities: [], mounts: [] } } as LaunchSpec;
  assert.equal(buildSpec(isolated, '/b/rootfs', { pidsLimit: 0 }).process.oomScoreAdj, 0);
});

test('oom_score_adj: the plain wrapper resets it in the task\'s own shell, before exec, errors silenced', () => {
  assert.match(WRAPPER_SCRIPT, /echo \$\$ >&3; echo 0 2>\/dev\/null >\/proc\/self\/oom_score_adj; exec "\$@"/);
});
