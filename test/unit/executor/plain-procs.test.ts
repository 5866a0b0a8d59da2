/**
 * findManyTaskProcs (one walk of /proc for many tasks) against findTaskProcs
 * (one walk per task) on real process trees: a task with children in its
 * group, one with a child that left the group (setsid) and a group whose
 * wrapper is not the recorded one (a recycled pgid: not ours).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { findManyTaskProcs, findTaskProcs, MARKER, sampleProcs, startTicks, type CpuTicks, type ProcScope } from '../../../src/executor/plain-procs.js';
import { requireLinux } from '../../helpers/gates.js';
import { platform } from '../../../src/platform.js';
import { waitFor } from '../../helpers/wait.js';

const started: ChildProcess[] = [];

after(() => {
  for (const c of started) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

/** A detached `sh -c SCRIPT` (its own process group), marked as task `id` unless id is undefined. */
function group(script: string, id: string | undefined): ChildProcess {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  if (id) env[MARKER] = id;
  const c = spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore', env });
  started.push(c);
  return c;
}

function scope(id: string, c: ChildProcess, startTime = startTicks(c.pid!) ?? -1): ProcScope {
  return { id, pgid: c.pid!, wrapperPid: c.pid!, wrapperStartTime: startTime };
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

test('findManyTaskProcs: finds what findTaskProcs finds, task by task, in one walk', async (t) => {
  if (!requireLinux(t)) return;
  const setsid = platform().which('setsid');
  const a = group('sleep 30 & sleep 30 & wait', 'a');
  const b = group(setsid ? `${setsid} sleep 30 & sleep 30 & wait` : 'sleep 30 & sleep 30 & wait', 'b');
  // Not marked, and the scope's start time is not its wrapper's: a recycled pgid, never ours.
  const c = group('sleep 30 & wait', undefined);
  await waitFor(() => findTaskProcs(scope('a', a)).pids.length === 2 && findTaskProcs(scope('b', b)).pids.length === 2, { what: 'children of both tasks' });
  // With its real wrapper start time the group would be proven: its child is there.
  await waitFor(() => findTaskProcs(scope('c', c)).pids.length === 1, { what: 'the child of the unmarked group' });
  const scopes = [scope('a', a), scope('b', b), scope('c', c, 1), { id: 'gone', pgid: 999_999_999, wrapperPid: 999_999_999, wrapperStartTime: 5 }];
  const many = findManyTaskProcs(scopes);
  assert.equal(many.size, scopes.length);
  for (const s of scopes) {
    const one = findTaskProcs(s);
    const both = many.get(s.id)!;
    assert.deepEqual(sorted(both.pids), sorted(one.pids), `pids of ${s.id}`);
    assert.equal(both.wrapperAlive, one.wrapperAlive, `wrapperAlive of ${s.id}`);
  }
  assert.equal(many.get('a')!.pids.length, 2);
  assert.equal(many.get('b')!.pids.length, 2, 'the setsid child counts by its marker');
  assert.ok(!many.get('a')!.pids.includes(a.pid!), 'the wrapper is not a task process');
  assert.deepEqual(many.get('c')!.pids, []);
  assert.deepEqual(many.get('gone')!, { pids: [], wrapperAlive: false });
});

test('findManyTaskProcs: the cpu ticks it read serve sampleProcs, which then reads only memory', async (t) => {
  if (!requireLinux(t)) return;
  const a = group('sleep 30 & sleep 30 & wait', 'busy');
  await waitFor(() => findTaskProcs(scope('busy', a)).pids.length === 2, { what: 'children' });
  const seen = new Map<number, CpuTicks>();
  const pids = findManyTaskProcs([scope('busy', a)], seen).get('busy')!.pids;
  assert.ok(pids.every((p) => seen.has(p)), 'every pid found has its ticks');
  // Ticks that could not come from /proc: the sample sums what it was given.
  const fake = new Map(pids.map((p) => [p, { utime: 1000, stime: 7 }]));
  const s = sampleProcs(pids, fake);
  assert.deepEqual([s.count, s.userTicks, s.systemTicks], [2, 2000, 14]);
  assert.ok(s.rssBytes > 0, 'memory read from /proc');
  const direct = sampleProcs(pids);
  assert.equal(direct.count, 2);
  assert.ok(Math.abs(direct.rssBytes - s.rssBytes) < 1024 * 1024);
});
