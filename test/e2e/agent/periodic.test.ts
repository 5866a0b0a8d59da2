/**
 * Periodic jobs end to end: a real `tend agent` (plain executor), real job files, real `sh`
 * tasks. Schedules run every few seconds through the test seam TEND_TEST_CRON_SECONDS=1 (a
 * six-field cron, seconds first; src/jobspec/cron.ts), which the agent inherits.
 * Run alone: node --import tsx --test test/e2e/agent/periodic.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from '../../helpers/wait.js';
import { requireLinux } from '../../helpers/gates.js';
import { createHarness, type Harness } from './harness.js';
import { CRON_SECONDS_ENV } from '../../../src/jobspec/cron.js';
import type { PeriodicRecord } from '../../../src/store/store.js';
import type { JobView } from '../../../src/api/api.js';

process.env[CRON_SECONDS_ENV] = '1';

const T = { timeoutMs: 30_000 };

async function harness(t: import('node:test').TestContext): Promise<Harness> {
  const h = await createHarness();
  t.after(() => h.cleanup());
  return h;
}

function periodicJob(name: string, o: { cron: string; args: string; prohibitOverlap?: boolean; enabled?: boolean }): string {
  return `job "${name}" {
  type = "batch"
  periodic {
    crons            = ["${o.cron}"]
    prohibit_overlap = ${o.prohibitOverlap ?? false}
    time_zone        = "Europe/Berlin"
    enabled          = ${o.enabled ?? true}
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "${o.args}"]
      }
      kill_timeout = "1s"
      restart {
        attempts = 0
        mode     = "fail"
      }
    }
  }
}
`;
}

const rec = (h: Harness, job: string): PeriodicRecord | undefined => h.doc()?.periodic?.[job];
const finished = (h: Harness, job: string) => (rec(h, job)?.children ?? []).filter((c) => c.finished);
const unfinished = (h: Harness, job: string) => (rec(h, job)?.children ?? []).filter((c) => !c.finished);

function dump(h: Harness): string {
  return `records: ${JSON.stringify(Object.values(h.records()).map((r) => [r.id, r.state, r.error]))}\nperiodic: ${JSON.stringify(h.doc()?.periodic)}\nlog tail:\n${h.agentLog().split('\n').slice(-30).join('\n')}`;
}

async function statusJson(h: Harness): Promise<JobView[]> {
  const r = await h.tendctl(['status', '-json', '-no-stats']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { jobs: JobView[] }).jobs;
}

test('periodic e2e: never runs at load, launches children on the schedule, they run and their exits are kept', { timeout: 90_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t);
  await h.start();
  await h.writeJob('tick.hcl', periodicJob('tick', { cron: '*/2 * * * * *', args: 'echo tick; exit 0' }));
  await waitFor(() => finished(h, 'tick').length >= 2, { ...T, what: 'two children finished' }).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
  for (const c of finished(h, 'tick')) {
    assert.match(c.id, /^tick\/periodic-\d+$/);
    assert.equal(c.finished!.status, 'complete');
    assert.deepEqual(c.finished!.exits, [{ task: `${c.id}/g[0]/t`, state: 'complete', code: 0 }]);
  }
  assert.ok(!(h.doc()?.events ?? []).some((e) => e.task === 'tick/g[0]/t'), 'the periodic job itself never runs');
  assert.ok((h.doc()?.events ?? []).some((e) => e.type === 'Periodic Launched' && e.job === 'tick'));
  // A finished child's task records are gone (only the periodic record keeps its exits).
  await waitFor(() => finished(h, 'tick').every((c) => !Object.values(h.records()).some((r) => r.job === c.id)), { ...T, what: 'finished children records removed' });

  const view = (await statusJson(h)).find((j) => j.id === 'tick')!;
  assert.equal(view.status, 'running');
  assert.equal(view.periodic?.timeZone, 'Europe/Berlin');
  assert.ok(view.periodic?.nextLaunch && Date.parse(view.periodic.nextLaunch) > Date.now() - 2000);
  assert.ok(view.periodic!.children.some((c) => c.status === 'complete' && c.exits?.[0].code === 0));
  const text = await h.tendctl(['status', 'tick', '-no-stats']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /next launch \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(Europe\/Berlin\)/);
  assert.match(text.stdout, /tick\/periodic-\d+ +complete +exit 0/);
  const all = await h.tendctl(['status', '-no-stats']);
  assert.match(all.stdout, /Periodic jobs:\n {2}tick\n {4}next launch/);
});

test('periodic e2e: prohibit_overlap skips launches while a child runs; force launches one anyway', { timeout: 90_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t);
  await h.start();
  await h.writeJob('slow.hcl', periodicJob('slow', { cron: '*/2 * * * * *', args: 'sleep 6; exit 0', prohibitOverlap: true }));
  await waitFor(() => unfinished(h, 'slow').length === 1, { ...T, what: 'a child running' }).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
  const first = unfinished(h, 'slow')[0].id;
  await waitFor(() => (h.doc()?.events ?? []).some((e) => e.type === 'Periodic Skipped' && e.job === 'slow'), { ...T, what: 'a skipped launch' });
  assert.equal(rec(h, 'slow')?.lastSkipped?.running, first);
  assert.deepEqual(unfinished(h, 'slow').map((c) => c.id), [first], 'no second child while the first runs');

  // Force ignores prohibit_overlap (as `nomad job periodic force`).
  const f = await h.tendctl(['job', 'periodic', 'force', 'slow']);
  assert.equal(f.code, 0, f.stderr);
  const forced = /^Launched (slow\/periodic-\d+)\n$/.exec(f.stdout)?.[1];
  assert.ok(forced, f.stdout);
  await waitFor(() => h.records()[`${forced}/g[0]/t`]?.state === 'running', { ...T, what: 'forced child running' }).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
  assert.ok(unfinished(h, 'slow').some((c) => c.id === first && !c.forced) || finished(h, 'slow').some((c) => c.id === first));
  assert.equal(rec(h, 'slow')!.children.find((c) => c.id === forced)?.forced, true);
  await waitFor(() => finished(h, 'slow').some((c) => c.id === forced && c.finished!.exits[0].code === 0), { ...T, what: 'forced child finished' });
  // Never more than the running one and the forced one at a time.
  assert.ok(rec(h, 'slow')!.children.length <= 5 + 2);

  // Unknown and disabled jobs cannot be forced.
  const nope = await h.tendctl(['job', 'periodic', 'force', 'nope']);
  assert.notEqual(nope.code, 0);
  assert.match(nope.stderr, /no periodic job nope/);
  await h.writeJob('off.hcl', periodicJob('off', { cron: '*/2 * * * * *', args: 'exit 0', enabled: false }));
  await waitFor(async () => (await statusJson(h)).some((j) => j.id === 'off' && j.periodic), { ...T, what: 'off loaded' });
  const off = await h.tendctl(['job', 'periodic', 'force', 'off']);
  assert.notEqual(off.code, 0);
  assert.match(off.stderr, /enabled = false/);
  const offView = (await statusJson(h)).find((j) => j.id === 'off')!;
  assert.equal(offView.periodic?.nextLaunch, undefined);
  assert.match(offView.reason ?? '', /disabled/);
  assert.deepEqual(offView.periodic?.children, []);
});

test('periodic e2e: removing the file stops the running children and clears them', { timeout: 90_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t);
  await h.start();
  await h.writeJob('long.hcl', periodicJob('long', { cron: '0 0 1 1 *', args: 'exec sleep 1000' }));
  await waitFor(async () => (await statusJson(h)).some((j) => j.id === 'long' && j.periodic), { ...T, what: 'long loaded' });
  const f = await h.tendctl(['job', 'periodic', 'force', 'long']);
  assert.equal(f.code, 0, f.stderr);
  const child = f.stdout.trim().replace(/^Launched /, '');
  await waitFor(() => h.records()[`${child}/g[0]/t`]?.state === 'running', { ...T, what: 'child running' }).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
  assert.equal(h.taskProcs().size, 1);
  await unlink(path.join(h.jobsDir, 'long.hcl'));
  await waitFor(() => Object.keys(h.records()).length === 0 && rec(h, 'long') === undefined, { ...T, what: 'child stopped and cleared' }).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
  assert.equal(h.taskProcs().size, 0);
});

test('periodic e2e: an agent restart does not catch up launches missed while it was down, and status says so', { timeout: 90_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t);
  await h.start();
  await h.writeJob('beat.hcl', periodicJob('beat', { cron: '*/2 * * * * *', args: 'exit 0' }));
  await waitFor(() => finished(h, 'beat').length >= 1, { ...T, what: 'a child finished' }).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
  await h.term();
  const downAt = Date.now();
  const before = new Set(rec(h, 'beat')!.children.map((c) => c.id));
  // Let at least two scheduled times pass while no agent runs (a deadline, not a synchronisation).
  await waitFor(() => Date.now() - downAt >= 5000, { timeoutMs: 10_000, intervalMs: 100, what: 'five seconds down' });
  const upAt = Date.now();
  await h.start();
  await waitFor(() => (rec(h, 'beat')?.missed?.count ?? 0) >= 2, { ...T, what: 'missed launches recorded' }).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
  await waitFor(() => rec(h, 'beat')!.children.some((c) => !before.has(c.id)), { ...T, what: 'a launch after the restart' });
  for (const c of rec(h, 'beat')!.children) {
    if (before.has(c.id)) continue;
    const secs = Number(c.id.split('periodic-')[1]);
    assert.ok(secs * 1000 >= upAt - 1000, `${c.id} launched for a time the agent was down (${new Date(secs * 1000).toISOString()}, up at ${new Date(upAt).toISOString()})`);
  }
  const text = await h.tendctl(['status', 'beat', '-no-stats']);
  assert.match(text.stdout, /\d+ launches were due while the agent was down .*; not caught up/);
});
