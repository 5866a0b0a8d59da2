import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { ExecPluginConfig } from '../../../src/agent/config-model.js';
import {
  capsFromMask, checkUser, computeCapabilities, DEFAULT_CHROOT_ENV, existingChrootEnv, inIdRanges,
  NOMAD_DEFAULT_CAPS, normalizeCap, ociCap, parseIdRanges, resolveIsolation, supportedCaps,
} from '../../../src/drivers/exec-isolation.js';
import { isTendError } from '../../../src/errors.js';
import { lookupUser } from '../../../src/drivers/user.js';
import type { Task } from '../../../src/jobspec/model.js';

const SUPPORTED = supportedCaps(path.join(mkdtempSync(path.join(os.tmpdir(), 'caps-')), 'missing'));

function capLastCap(n: number): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'caps-'));
  writeFileSync(path.join(dir, 'cap_last_cap'), `${n}\n`);
  return path.join(dir, 'cap_last_cap');
}

const plugin: ExecPluginConfig = {
  enabled: true,
  defaultPidMode: 'private',
  defaultIpcMode: 'private',
  noPivotRoot: false,
  allowCaps: [...NOMAD_DEFAULT_CAPS],
  deniedHostUids: [],
  deniedHostGids: [],
};

function task(config: Partial<Task['config']> = {}): Task {
  return { name: 't', config: { command: '/bin/true', args: [], capAdd: [], capDrop: [], raw: {}, ...config } } as unknown as Task;
}

test('capabilities: the default set is Nomad\'s default allow_caps', () => {
  assert.deepEqual(computeCapabilities(NOMAD_DEFAULT_CAPS, [], [], SUPPORTED), [...NOMAD_DEFAULT_CAPS].sort());
});

test('capabilities: a narrower allow_caps narrows the default set', () => {
  assert.deepEqual(computeCapabilities(['chown', 'kill'], [], [], SUPPORTED), ['chown', 'kill']);
});

test('capabilities: cap_add within allow_caps is added, in any spelling', () => {
  const caps = computeCapabilities([...NOMAD_DEFAULT_CAPS, 'net_raw', 'sys_time'], ['CAP_NET_RAW', 'Sys_Time'], [], SUPPORTED);
  assert.ok(caps.includes('net_raw') && caps.includes('sys_time'));
});

test('capabilities: cap_add beyond allow_caps is refused naming every cap', () => {
  assert.throws(
    () => computeCapabilities(NOMAD_DEFAULT_CAPS, ['net_raw', 'sys_admin', 'chown'], [], SUPPORTED),
    (err: unknown) => isTendError(err, 'E_CAPABILITY_DENIED') && /cap_add net_raw, sys_admin not allowed/.test((err as Error).message),
  );
});

test('capabilities: cap_drop removes, and "all" drops everything but cap_add', () => {
  assert.ok(!computeCapabilities(NOMAD_DEFAULT_CAPS, [], ['chown', 'CAP_KILL'], SUPPORTED).some((c) => c === 'chown' || c === 'kill'));
  assert.deepEqual(computeCapabilities(NOMAD_DEFAULT_CAPS, ['kill'], ['all'], SUPPORTED), ['kill']);
  assert.deepEqual(computeCapabilities(NOMAD_DEFAULT_CAPS, [], ['all'], SUPPORTED), []);
});

test('capabilities: allow_caps "all" permits any supported cap; cap_add "all" adds every one', () => {
  assert.ok(computeCapabilities(['all'], ['sys_admin'], [], SUPPORTED).includes('sys_admin'));
  assert.deepEqual(computeCapabilities(['all'], ['all'], [], SUPPORTED), [...SUPPORTED].sort());
  assert.throws(() => computeCapabilities(NOMAD_DEFAULT_CAPS, ['all'], [], SUPPORTED), (err: unknown) => isTendError(err, 'E_CAPABILITY_DENIED'));
});

test('capabilities: "all" is what the kernel supports (cap_last_cap)', () => {
  const supported = supportedCaps(capLastCap(37));
  assert.equal(supported.length, 38);
  assert.equal(supported.at(-1), 'audit_read');
  assert.deepEqual(computeCapabilities(['all'], ['all'], [], supported).length, 38);
});

test('capabilities: an unknown name is refused', () => {
  assert.throws(() => computeCapabilities(['all'], ['net_rwa'], [], SUPPORTED), /expected capabilities this kernel supports, got net_rwa/);
});

test('capabilities: names convert between Nomad and OCI spellings and from a status mask', () => {
  assert.equal(normalizeCap('CAP_NET_RAW'), 'net_raw');
  assert.equal(ociCap('net_raw'), 'CAP_NET_RAW');
  assert.deepEqual(capsFromMask('0000000000000021'), ['chown', 'kill']);
  assert.equal(capsFromMask('000001ffffffffff').length, 41);
});

test('id ranges: "0,10-15" parses and matches', () => {
  const r = parseIdRanges('0, 10-15');
  assert.deepEqual(r, [[0, 0], [10, 15]]);
  assert.ok(inIdRanges(0, r) && inIdRanges(10, r) && inIdRanges(15, r));
  assert.ok(!inIdRanges(1, r) && !inIdRanges(16, r));
  assert.deepEqual(parseIdRanges(''), []);
});

test('id ranges: malformed ranges are refused with what was expected', () => {
  assert.throws(() => parseIdRanges('5-2'), /expected start ≤ end, got "5-2"/);
  assert.throws(() => parseIdRanges('a-b'), /expected "N" or "N-M", got "a-b"/);
});

function userFiles() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'users-'));
  writeFileSync(path.join(dir, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\napp:x:1000:1000::/home/app:/bin/sh\n');
  writeFileSync(path.join(dir, 'group'), 'root:x:0:\nnogroup:x:65534:\napp:x:1000:\ndocker:x:999:app\nwheel:x:10:app\n');
  return { passwd: path.join(dir, 'passwd'), group: path.join(dir, 'group') };
}

test('users: names resolve through passwd and group, with supplementary groups', async () => {
  const files = userFiles();
  assert.deepEqual(await lookupUser('app', files), { uid: 1000, gid: 1000, name: 'app', home: '/home/app', groups: [1000, 999, 10] });
  assert.equal((await lookupUser('nobody', files)).uid, 65534);
  assert.equal((await lookupUser('4242', files)).uid, 4242);
  await assert.rejects(lookupUser('ghost', files), (err: unknown) => isTendError(err, 'E_USER_DENIED') && /no such user/.test((err as Error).message));
});

test('users: a denied uid or gid is refused before start', async () => {
  const files = userFiles();
  const cfg = { deniedHostUids: parseIdRanges('0'), deniedHostGids: parseIdRanges('10-12') };
  const [root, app, nobody] = await Promise.all(['root', 'app', 'nobody'].map((n) => lookupUser(n, files)));
  assert.throws(() => checkUser(root, cfg), (err: unknown) => isTendError(err, 'E_USER_DENIED') && /uid 0 is in denied_host_uids/.test((err as Error).message));
  assert.throws(() => checkUser(app, cfg), /gid 10 is in denied_host_gids/);
  assert.doesNotThrow(() => checkUser(nobody, cfg));
  assert.doesNotThrow(() => checkUser({ uid: 5, gid: 5, name: 'x' }, cfg));
});

test('isolation: task pid/ipc modes override the plugin defaults', () => {
  const iso = resolveIsolation(task({ pidMode: 'host' }), { ...plugin, defaultIpcMode: 'host' }, ['/usr']);
  assert.equal(iso.pidMode, 'host');
  assert.equal(iso.ipcMode, 'host');
  const def = resolveIsolation(task(), plugin, ['/usr']);
  assert.equal(def.pidMode, 'private');
  assert.equal(def.ipcMode, 'private');
});

test('isolation: chroot_env skips missing dirs; capabilities come out in OCI spelling', () => {
  const iso = resolveIsolation(task({ capDrop: ['chown'] }), { ...plugin, noPivotRoot: true }, ['/usr', '/definitely/missing'], [{ source: '/srv', destination: '/data', readOnly: true }]);
  assert.deepEqual(iso.chrootEnv, ['/usr']);
  assert.equal(iso.noPivotRoot, true);
  assert.ok(iso.capabilities.includes('CAP_KILL') && !iso.capabilities.includes('CAP_CHOWN'));
  assert.deepEqual(iso.mounts, [{ source: '/srv', destination: '/data', readOnly: true }]);
  assert.deepEqual(existingChrootEnv(DEFAULT_CHROOT_ENV, (p) => p === '/bin'), ['/bin']);
});

test('isolation: chroot_env\'s map form moves a host dir inside the root; identity entries and missing dirs add nothing', () => {
  const iso = resolveIsolation(task(), plugin, ['/usr', '/etc', '/definitely/missing'], [], { '/usr': '/usr', '/etc': '/host-etc', '/definitely/missing': '/x' });
  assert.deepEqual(iso.chrootEnv, ['/usr', '/etc']);
  assert.deepEqual(iso.chrootTargets, { '/etc': '/host-etc' });
  assert.equal(resolveIsolation(task(), plugin, ['/usr'], [], { '/usr': '/usr' }).chrootTargets, undefined);
});

test('isolation: cap_add beyond allow_caps fails the resolve', () => {
  assert.throws(() => resolveIsolation(task({ capAdd: ['sys_admin'] }), plugin, ['/usr']), (err: unknown) => isTendError(err, 'E_CAPABILITY_DENIED'));
});
