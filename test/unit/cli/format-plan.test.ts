import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandJobs } from '../../../src/reconcile/expand.js';
import { diffAll } from '../../../src/reconcile/diff.js';
import { fieldChanges } from '../../../src/reconcile/field-changes.js';
import { formatPlan, indexList } from '../../../src/cli/format/plan.js';
import type { ActualInstance } from '../../../src/reconcile/reconcile.js';
import { UNKNOWN_SPEC } from '../../../src/store/store.js';
import { makeJob, makeTask } from '../agent/fixtures.js';

const opts = { now: 0, driverBlocked: () => undefined };

function running(job: ReturnType<typeof makeJob>): ActualInstance[] {
  return [...expandJobs([job]).values()].map((d) => ({ id: d.id, job: d.job.id, hashes: d.hashes, state: 'running', handle: undefined }));
}

const sleeper = (over: Parameters<typeof makeTask>[1] = {}, args = ['3600']) => makeTask('t', over, { args });

test('plan diff: a restart and an in-place update show each field old → new and why, grouped as nomad job plan', () => {
  const web0 = makeJob('web', { count: 3, tasks: [sleeper({ resources: { cpu: 100, memoryMB: 64 } })] });
  const web1 = makeJob('web', { count: 4, tasks: [sleeper({ resources: { cpu: 100, memoryMB: 96 } }, ['3601'])] });
  const db0 = makeJob('db', { tasks: [sleeper({ resources: { cpu: 100, memoryMB: 64 } })] });
  const db1 = makeJob('db', { tasks: [sleeper({ resources: { cpu: 100, memoryMB: 96 }, killTimeoutMs: 10_000 })] });
  const plan = { actions: diffAll(expandJobs([web1, db1]), [...running(web0), ...running(db0), ...running(makeJob('old'))], opts), files: [] };
  assert.equal(
    formatPlan(plan),
    [
      '~   Job: "db"',
      '~   Task Group: "g" (1 in-place update)',
      '  ~   Task: "t" [0] (in place)',
      '      +/- resources.memory: 64 → 96 (in place)',
      '      +/- kill_timeout: 5s → 10s (no restart: used at the next stop or restart)',
      '',
      '-   Job: "old"',
      '-   Task Group: "g" (1 stop)',
      '  -   Task: "t" [0] (stop: no longer in the job files)',
      '',
      '+/- Job: "web"',
      '+/- Task Group: "g" (1 start, 3 restart)',
      '  +/- Task: "t" [0-2] (forces restart)',
      '      +/- args: ["3600"] → ["3601"] (forces restart)',
      '      +/- resources.memory: 64 → 96',
      '  +   Task: "t" [3] (start)',
      '',
      'Plan: 1 to start, 3 to restart, 1 to update in place, 1 to stop, 0 unchanged.',
      '',
    ].join('\n'),
  );
  const web = plan.actions.find((a) => a.task === 'web/g[0]/t')!;
  assert.deepEqual(web.changes, [
    { field: 'args', change: 'changed', effect: 'restart', old: ['3600'], new: ['3601'] },
    { field: 'resources.memory', change: 'changed', effect: 'in-place', old: 64, new: 96 },
  ]);
});

test('plan diff: env values are (changed) unless verbose; template data is never shown, even verbose', () => {
  const withTemplate = (data: string) => [{ data, destination: 'local/app.conf', changeMode: 'restart' }] as unknown as ReturnType<typeof makeTask>['templates'];
  const old = makeJob('a', { tasks: [sleeper({ env: { TOKEN: 's3cret', GONE: '1' }, templates: withTemplate('password=hunter2') })] });
  const now = makeJob('a', { tasks: [sleeper({ env: { TOKEN: 'n3w', ADDED: 'x' }, templates: withTemplate('password=hunter3') })] });
  const quiet = formatPlan({ actions: diffAll(expandJobs([now]), running(old), opts), files: [] });
  assert.match(quiet, /^ {6}\+ {3}env\.ADDED: \(added, forces restart\)$/m);
  assert.match(quiet, /^ {6}- {3}env\.GONE: \(removed, forces restart\)$/m);
  assert.match(quiet, /^ {6}\+\/- env\.TOKEN: \(changed, forces restart\)$/m);
  assert.match(quiet, /^ {6}\+\/- templates: \(changed\)$/m);
  assert.match(quiet, /Env and artifact values are not shown; -verbose shows them\./);
  assert.doesNotMatch(quiet, /s3cret|n3w|hunter/);
  const verbose = { verbose: true };
  const loud = formatPlan({ actions: diffAll(expandJobs([now]), running(old), opts, verbose), files: [] }, verbose);
  assert.match(loud, /\+\/- env\.TOKEN: "s3cret" → "n3w" \(forces restart\)/);
  assert.match(loud, /- {3}env\.GONE: "1" \(forces restart\)/);
  assert.match(loud, /\+\/- templates: \(changed\)/);
  assert.doesNotMatch(loud, /hunter/);
  assert.doesNotMatch(loud, /not shown/);
});

test('plan diff: templates alone re-render in place; a record without values says its old value was not recorded', () => {
  const tpl = (data: string) => [{ data, destination: 'local/a', changeMode: 'noop' }] as unknown as ReturnType<typeof makeTask>['templates'];
  const old = makeJob('a', { tasks: [sleeper({ templates: tpl('x') })] });
  const now = makeJob('a', { tasks: [sleeper({ templates: tpl('y') })] });
  const text = formatPlan({ actions: diffAll(expandJobs([now]), running(old), opts), files: [] });
  assert.match(text, / {2}~ {3}Task: "t" \[0\] \(in place\)\n {6}\+\/- templates: \(changed, re-rendered in place\)\n/);

  const args = makeJob('a', { tasks: [sleeper({}, ['1'])] });
  const legacy = running(old).map((r) => ({ ...r, hashes: { ...r.hashes, values: undefined } }));
  const l = formatPlan({ actions: diffAll(expandJobs([args]), legacy, opts), files: [] });
  assert.match(l, /\+\/- args: \(not recorded\) → \["1"\] \(forces restart\)/);

  // A record rebuilt without its spec: no field diff, the task line says why.
  const rebuilt = running(old).map((r) => ({ ...r, hashes: { restart: UNKNOWN_SPEC, resources: UNKNOWN_SPEC, policy: UNKNOWN_SPEC, fields: {} } }));
  const u = diffAll(expandJobs([old]), rebuilt, opts);
  assert.equal(u[0].changes, undefined);
  assert.match(formatPlan({ actions: u, files: [] }), /Task: "t" \[0\] \(forces restart: the spec it runs was not recorded\)/);
});

test('plan diff: a task to start lists its set fields only with verbose; unchanged tasks only with verbose; no changes says so', () => {
  const j = makeJob('a', { tasks: [sleeper({ env: { K: 'v' } })] });
  const fresh = diffAll(expandJobs([j]), [], opts);
  assert.equal(fresh[0].changes, undefined);
  assert.equal(formatPlan({ actions: fresh, files: [] }), '+   Job: "a"\n+   Task Group: "g" (1 start)\n  +   Task: "t" [0] (start)\n\nPlan: 1 to start, 0 to restart, 0 to update in place, 0 to stop, 0 unchanged.\n');
  const v = { verbose: true };
  const text = formatPlan({ actions: diffAll(expandJobs([j]), [], opts, v), files: [] }, v);
  assert.match(text, /^ {6}\+ {3}args: \["3600"\]$/m);
  assert.match(text, /^ {6}\+ {3}env\.K: "v"$/m);
  assert.match(text, /^ {6}\+ {3}kill_timeout: 5s$/m);
  assert.doesNotMatch(text, /user:|templates|\(unset\)/, 'unset fields and template data are left out');

  const same = diffAll(expandJobs([j]), running(j), opts);
  assert.equal(formatPlan({ actions: same, files: [] }), 'No changes: 1 task up to date.\n');
  assert.match(formatPlan({ actions: same, files: [] }, v), / {4}Task Group: "g" \(1 unchanged\)\n {6}Task: "t" \[0\] \(unchanged\)/);
});

test('plan diff: instances with different diffs get their own lines; index lists compress runs', () => {
  assert.equal(indexList([5, 0, 1, 2, 7, 6, 9]), '[0-2,5-7,9]');
  const old = makeJob('a', { count: 2 });
  const now = makeJob('a', { count: 2, tasks: [sleeper({}, ['2'])] });
  const actual = running(old);
  actual[1] = { ...actual[1], hashes: expandJobs([makeJob('a', { count: 2, tasks: [sleeper({}, ['1'])] })]).get('a/g[1]/t')!.hashes };
  const text = formatPlan({ actions: diffAll(expandJobs([now]), actual, opts), files: [] });
  assert.match(text, /Task: "t" \[0\] \(forces restart\)\n {6}\+\/- args: \["1000"\] → \["2"\]/);
  assert.match(text, /Task: "t" \[1\] \(forces restart\)\n {6}\+\/- args: \["1"\] → \["2"\]/);
});

test('plan diff: fieldChanges orders restart fields, then in place, then stored', () => {
  const a = [...expandJobs([makeJob('a', { tasks: [sleeper({ killSignal: 'SIGINT', resources: { cpu: 1, memoryMB: 1 } })] })]).values()][0].hashes;
  const b = [...expandJobs([makeJob('a', { tasks: [sleeper({ killSignal: 'SIGTERM', resources: { cpu: 2, memoryMB: 1 } }, ['x'])] })]).values()][0].hashes;
  assert.deepEqual(
    fieldChanges(a, b).map((c) => [c.field, c.effect]),
    [
      ['args', 'restart'],
      ['resources.cpu', 'in-place'],
      ['kill_signal', 'stored'],
    ],
  );
});
