import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCgroupMounts, probeCgroupMounts, type CgroupProbe } from '../../src/platform.js';

const CGROUP = 0x27e0eb;
const CGROUP2 = 0x63677270;
const TMPFS = 0x01021994;

/** A probe over a fake /proc/self/cgroup and a map of path → fs type. */
function fake(procCgroup: string, types: Record<string, number>): CgroupProbe & { probed: string[] } {
  const probed: string[] = [];
  return {
    probed,
    procCgroup: () => procCgroup,
    fsType: (p) => (probed.push(p), types[p]),
  };
}

const HYBRID_CGROUP = ['12:pids:/', '4:cpu,cpuacct:/x', '3:net_cls,net_prio:/', '1:name=systemd:/init.scope', '0::/init.scope', ''].join('\n');
const HYBRID_MOUNTINFO = [
  '31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate',
  '33 31 0:30 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd',
  '34 31 0:31 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio',
  '35 31 0:32 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct',
  '36 31 0:33 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids',
].join('\n');

test('platform: cgroup probe finds a hybrid layout at the conventional mount points', () => {
  const probe = fake(HYBRID_CGROUP, {
    '/sys/fs/cgroup': TMPFS,
    '/sys/fs/cgroup/unified': CGROUP2,
    '/sys/fs/cgroup/systemd': CGROUP,
    '/sys/fs/cgroup/net_cls,net_prio': CGROUP,
    '/sys/fs/cgroup/cpu,cpuacct': CGROUP,
    '/sys/fs/cgroup/cpu': CGROUP, // the usual symlinks to the combined mount
    '/sys/fs/cgroup/cpuacct': CGROUP,
    '/sys/fs/cgroup/pids': CGROUP,
  });
  const found = probeCgroupMounts(probe);
  assert.deepEqual(found, {
    mode: 'hybrid',
    unified: '/sys/fs/cgroup/unified',
    v1: {
      'name=systemd': '/sys/fs/cgroup/systemd',
      net_cls: '/sys/fs/cgroup/net_cls,net_prio',
      net_prio: '/sys/fs/cgroup/net_cls,net_prio',
      cpu: '/sys/fs/cgroup/cpu,cpuacct',
      cpuacct: '/sys/fs/cgroup/cpu,cpuacct',
      pids: '/sys/fs/cgroup/pids',
    },
  });
  // The same answer as the mount table gives (its option-only entries aside).
  const table = parseCgroupMounts(HYBRID_MOUNTINFO);
  assert.equal(table.mode, found!.mode);
  assert.equal(table.unified, found!.unified);
  for (const [c, mp] of Object.entries(found!.v1)) assert.equal(table.v1[c], mp, c);
});

test('platform: cgroup probe finds a pure v2 host and a v1 host', () => {
  assert.deepEqual(probeCgroupMounts(fake('0::/user.slice\n', { '/sys/fs/cgroup': CGROUP2 })), { mode: 'v2', unified: '/sys/fs/cgroup', v1: {} });
  assert.deepEqual(probeCgroupMounts(fake('2:memory:/\n1:cpuset:/\n', { '/sys/fs/cgroup/memory': CGROUP, '/sys/fs/cgroup/cpuset': CGROUP })), {
    mode: 'v1',
    unified: undefined,
    v1: { cpuset: '/sys/fs/cgroup/cpuset', memory: '/sys/fs/cgroup/memory' },
  });
});

test('platform: cgroup probe gives up (mount table fallback) when a hierarchy is not where expected', () => {
  // memory mounted elsewhere: /sys/fs/cgroup/memory is a plain dir.
  assert.equal(probeCgroupMounts(fake('2:memory:/\n1:cpuset:/\n', { '/sys/fs/cgroup/memory': TMPFS, '/sys/fs/cgroup/cpuset': CGROUP })), undefined);
  // A unified hierarchy exists but is not mounted at /sys/fs/cgroup or /sys/fs/cgroup/unified.
  assert.equal(probeCgroupMounts(fake('1:cpuset:/\n0::/\n', { '/sys/fs/cgroup': TMPFS, '/sys/fs/cgroup/cpuset': CGROUP })), undefined);
  // No /proc/self/cgroup at all.
  assert.equal(probeCgroupMounts({ procCgroup: () => undefined, fsType: () => undefined }), undefined);
});

test('platform: cgroup probe checks only the paths it needs', () => {
  const probe = fake('1:cpuset:/\n', { '/sys/fs/cgroup/cpuset': CGROUP });
  probeCgroupMounts(probe);
  assert.deepEqual(probe.probed, ['/sys/fs/cgroup/cpuset']);
});
