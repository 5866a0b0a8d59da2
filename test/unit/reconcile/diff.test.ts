import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandJobs, allocIdOf, parseInstanceId } from '../../../src/reconcile/expand.js';
import { decide, diffAll } from '../../../src/reconcile/diff.js';
import { formatPlan } from '../../../src/cli/format/plan.js';
import type { ActualInstance } from '../../../src/reconcile/reconcile.js';
import { makeJob, makeTask } from '../agent/fixtures.js';

const opts = { now: 1_000_000, driverBlocked: () => undefined };

function actualOf(job: ReturnType<typeof makeJob>, state: ActualInstance['state'] = 'running'): ActualInstance[] {
  return [...expandJobs([job]).values()].map((d) => ({ id: d.id, job: d.job.id, hashes: d.hashes, state, handle: undefined }));
}

test('expand: count gives indexes and a stable alloc id per job/group/index', () => {
  const m = expandJobs([makeJob('web', { count: 3 })]);
  assert.deepEqual([...m.keys()], ['web/g[0]/t', 'web/g[1]/t', 'web/g[2]/t']);
  assert.equal(m.get('web/g[1]/t')!.allocId, allocIdOf('web', 'g', 1));
  assert.notEqual(m.get('web/g[0]/t')!.allocId, m.get('web/g[1]/t')!.allocId);
  assert.match(m.get('web/g[0]/t')!.execId, /^[0-9a-f-]{36}-t$/);
  assert.deepEqual(parseInstanceId('a/b/c[12]/t'), { job: 'a/b', group: 'c', index: 12, task: 't' });
});

test('diff: new instances start, removed ones stop, unchanged ones do nothing', () => {
  const a = makeJob('a');
  const b = makeJob('b');
  const actions = diffAll(expandJobs([a]), [...actualOf(a), ...actualOf(b)], opts);
  assert.deepEqual(
    actions.map((x) => [x.kind, x.task]),
    [
      ['none', 'a/g[0]/t'],
      ['stop', 'b/g[0]/t'],
    ],
  );
  assert.equal(diffAll(expandJobs([a, b]), actualOf(a), opts).find((x) => x.task === 'b/g[0]/t')?.kind, 'start');
});

test('diff: args change forces a restart naming the field; resources change is an update in place', () => {
  const old = makeJob('a');
  const argsChanged = makeJob('a', { tasks: [makeTask('t', {}, { args: ['2000'] })] });
  const r = diffAll(expandJobs([argsChanged]), actualOf(old), opts)[0];
  assert.equal(r.kind, 'restart');
  assert.deepEqual(r.fields, ['args']);
  const memChanged = makeJob('a', { tasks: [makeTask('t', { resources: { cpu: 100, memoryMB: 512 } })] });
  const u = diffAll(expandJobs([memChanged]), actualOf(old), opts)[0];
  assert.equal(u.kind, 'update');
  assert.deepEqual(u.fields, ['resources.memory']);
  const envChanged = makeJob('a', { tasks: [makeTask('t', { env: { FOO: 'x' } })] });
  assert.deepEqual(diffAll(expandJobs([envChanged]), actualOf(old), opts)[0].fields, ['env.FOO']);
  const killChanged = makeJob('a', { tasks: [makeTask('t', { killTimeoutMs: 1000 })] });
  const k = diffAll(expandJobs([killChanged]), actualOf(old), opts)[0];
  assert.equal(k.kind, 'update');
  assert.deepEqual(k.fields, ['kill_timeout']);
});

test('diff: scale 1 → 3 starts two indexes, 3 → 1 stops two', () => {
  const one = makeJob('a', { count: 1 });
  const three = makeJob('a', { count: 3 });
  assert.deepEqual(
    diffAll(expandJobs([three]), actualOf(one), opts).map((x) => x.kind),
    ['none', 'start', 'start'],
  );
  assert.deepEqual(
    diffAll(expandJobs([one]), actualOf(three), opts).map((x) => x.kind),
    ['none', 'stop', 'stop'],
  );
});

test('diff: a restarting task starts only once its restart time has come; complete and failed stay', () => {
  const j = makeJob('a');
  const d = [...expandJobs([j]).values()][0];
  const base = actualOf(j)[0];
  assert.equal(decide(d, { ...base, state: 'restarting', nextRestartAt: new Date(opts.now + 1000).toISOString() }, opts).kind, 'none');
  assert.equal(decide(d, { ...base, state: 'restarting', nextRestartAt: new Date(opts.now - 1).toISOString() }, opts).kind, 'start');
  assert.equal(decide(d, { ...base, state: 'complete' }, opts).kind, 'none');
  assert.equal(decide(d, { ...base, state: 'failed' }, opts).kind, 'none');
  // ... until the spec changes.
  const changed = [...expandJobs([makeJob('a', { tasks: [makeTask('t', {}, { args: ['x'] })] })]).values()][0];
  assert.equal(decide(changed, { ...base, state: 'failed' }, opts).kind, 'start');
});

test('diff: a task whose driver is unavailable stays pending once the reason is recorded', () => {
  const j = makeJob('a');
  const d = [...expandJobs([j]).values()][0];
  const blocked = { now: 0, driverBlocked: () => 'disabled' };
  assert.equal(decide(d, undefined, blocked).kind, 'start');
  assert.equal(decide(d, { ...actualOf(j)[0], state: 'pending', error: 'driver raw_exec unavailable: disabled' }, blocked).kind, 'none');
});

test('diff: ports the book cannot give hold a new instance pending and an edit of a running one back, saying why', () => {
  const old = makeJob('a');
  const edited = makeJob('a', { tasks: [makeTask('t', {}, { args: ['2000'] })] });
  const blocked = { ...opts, allocBlocked: () => 'static port 8080 (port "http") is held by job "b" (/jobs/b.hcl:5, group g[0])' };
  const held = diffAll(expandJobs([edited]), actualOf(old), blocked)[0];
  assert.deepEqual([held.kind, held.fields, held.reason], ['none', ['args'], 'args changed; not applied, waiting for ports: static port 8080 (port "http") is held by job "b" (/jobs/b.hcl:5, group g[0])']);
  const fresh = diffAll(expandJobs([old]), [], blocked)[0];
  assert.deepEqual([fresh.kind, fresh.reason], ['start', 'waiting for ports: static port 8080 (port "http") is held by job "b" (/jobs/b.hcl:5, group g[0])']);
  assert.match(formatPlan({ actions: [held], files: [] }), /not applied, waiting for ports/);
});

test('diff: a port label, static port, `to` or host network changed restarts (field "network"); a job without ports keeps the hash it had', () => {
  const withPorts = (ports: NonNullable<ReturnType<typeof makeJob>['groups'][0]['ports']>) => {
    const j = makeJob('a');
    j.groups[0] = { ...j.groups[0], ports };
    return j;
  };
  const pos = { file: '/jobs/a.hcl', line: 4, column: 7 };
  const plain = makeJob('a');
  const http = withPorts([{ label: 'http', hostNetwork: 'default', pos }]);
  assert.equal('network' in [...expandJobs([plain]).values()][0].hashes.fields, false);
  const added = diffAll(expandJobs([http]), actualOf(plain), opts)[0];
  assert.deepEqual([added.kind, added.fields], ['restart', ['network']]);
  // The same request elsewhere in the file (only its position moved): nothing to do.
  assert.equal(diffAll(expandJobs([withPorts([{ label: 'http', hostNetwork: 'default', pos: { ...pos, line: 9 } }])]), actualOf(http), opts)[0].kind, 'none');
  for (const change of [{ label: 'web' }, { static: 8080 }, { to: 80 }, { hostNetwork: 'lan' }]) {
    const edited = withPorts([{ label: 'http', hostNetwork: 'default', pos, ...change }]);
    assert.deepEqual(diffAll(expandJobs([edited]), actualOf(http), opts)[0].fields, ['network'], JSON.stringify(change));
  }
});
