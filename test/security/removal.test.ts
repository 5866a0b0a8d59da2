/**
 * Removing a task's dirs never reaches what is mounted inside them: a mount
 * point left in an allocation (a tmpfs, or a bind mount of a dir of the same
 * filesystem, which st_dev cannot tell from the tree) is reported and left
 * with what it shows. It mounts, so it runs as root, and unmounts before it
 * ends.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ensureTaskDirs, removeAllocDir, taskDirs } from '../../src/drivers/alloc-dir.js';
import { requireRoot } from '../helpers/gates.js';

test('security: removing an allocation leaves its mount points (a tmpfs, a bind mount of the same filesystem) and what they show', async (t) => {
  if (!requireRoot(t)) return;
  const data = mkdtempSync(path.join(os.tmpdir(), 'tend-removal-'));
  const victim = mkdtempSync(path.join(os.tmpdir(), 'tend-removal-victim-'));
  writeFileSync(path.join(victim, 'shadow'), 'secret\n');
  const d = await ensureTaskDirs(data, 'A1', 'web', { logsView: 'link' });
  const tmpfs = path.join(d.localDir, 'mnt');
  const bound = path.join(d.allocDir, 'data', 'bound');
  mkdirSync(tmpfs);
  mkdirSync(bound);
  const mounted: string[] = [];
  try {
    assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tend-test', tmpfs]).status, 0, 'mount a tmpfs');
    mounted.push(tmpfs);
    writeFileSync(path.join(tmpfs, 'kept'), 'x');
    // The victim is on the same filesystem as the data dir: only the mount itself says where the tree ends.
    assert.equal(spawnSync('mount', ['--bind', victim, bound]).status, 0, 'bind mount the victim');
    mounted.push(bound);
    const left = await removeAllocDir(data, 'A1');
    assert.deepEqual(left.sort(), [bound, tmpfs].sort(), 'each mount point, once (not the dirs that hold them)');
    assert.equal(readFileSync(path.join(victim, 'shadow'), 'utf8'), 'secret\n', 'what the bind mount shows is untouched');
    assert.equal(readFileSync(path.join(tmpfs, 'kept'), 'utf8'), 'x', 'what the tmpfs holds is untouched');
    assert.equal(existsSync(taskDirs(data, 'A1', 'web').logDir), false, 'the rest went');
    assert.equal(existsSync(path.join(d.allocDir, 'tmp')), false);
  } finally {
    for (const m of mounted.reverse()) spawnSync('umount', [m]);
    rmSync(data, { recursive: true, force: true });
    rmSync(victim, { recursive: true, force: true });
  }
});
