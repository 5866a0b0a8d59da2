import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { DispatchLauncher, MAX_PAYLOAD_BYTES, dispatchProblem, dispatchedJob } from '../../../src/reconcile/dispatch.js';
import { PeriodicLauncher } from '../../../src/reconcile/periodic.js';
import { KEEP_FINISHED, dispatchChildId, parseChildJobId, rootJobId, runsOnItsOwn } from '../../../src/reconcile/child-jobs.js';
import { expandJobs, parseInstanceId } from '../../../src/reconcile/expand.js';
import { runtimeEnv } from '../../../src/jobspec/interpolate.js';
import { createStore } from '../../../src/store/lowdb-store.js';
import type { Job, Parameterized } from '../../../src/jobspec/model.js';
import type { Store } from '../../../src/store/store.js';
import { makeJob, makeTask } from '../agent/fixtures.js';

const pos = { file: '/jobs/p.hcl', line: 2, column: 3 };
const Q = (over: Partial<Parameterized> = {}): Parameterized => ({ payload: 'optional', metaRequired: [], metaOptional: [], pos, ...over });
const at = (iso: string) => Date.parse(iso);
const paramJob = (id: string, q: Partial<Parameterized> = {}, over: Partial<Job> = {}): Job => ({
  ...makeJob(id, { type: 'batch', tasks: [makeTask('t', { dispatchPayload: { file: 'in.json' } })] }),
  meta: { team: 'a', mode: 'slow' },
  parameterized: Q(q),
  ...over,
});

test('dispatch child ids: Nomad\'s <job>/dispatch-<unix seconds>-<8 hex>, parsed back, the root found through chains', () => {
  const id = dispatchChildId('render', at('2026-01-10T09:00:00.750Z'), '0a1b2c3d');
  assert.equal(id, 'render/dispatch-1768035600-0a1b2c3d');
  assert.deepEqual(parseChildJobId(id), { parent: 'render', kind: 'dispatch', atMs: 1768035600_000 });
  assert.equal(parseChildJobId('render/dispatch-1768035600'), undefined, 'no suffix');
  assert.equal(parseChildJobId('render/dispatch-1768035600-XYZ12345'), undefined, 'not hex');
  assert.throws(() => dispatchChildId('render', 0, 'nothex!!'), /8 hex digits/);
  assert.equal(rootJobId(`${id}/periodic-1768035660`), 'render');
  assert.deepEqual(parseChildJobId(`${id}/periodic-1768035660`), { parent: id, kind: 'periodic', atMs: 1768035660_000 });
  assert.equal(rootJobId('render'), 'render');
  assert.deepEqual(parseInstanceId(`${id}/g[0]/t`), { job: id, group: 'g', index: 0, task: 't' });
});

test('dispatch rules: payload forbidden/required/16 KiB, meta required and permitted keys, as Nomad words them', () => {
  const p = (payload: Parameterized['payload']) => paramJob('j', { payload });
  const bytes = (n: number) => Buffer.alloc(n, 0x61);
  assert.equal(dispatchProblem(p('optional'), {}), undefined);
  assert.equal(dispatchProblem(p('optional'), { payload: bytes(3) }), undefined);
  assert.match(dispatchProblem(p('forbidden'), { payload: bytes(3) })!, /^payload provided but forbidden \(parameterized \{ payload = "forbidden" \}\), got 3 bytes$/);
  assert.equal(dispatchProblem(p('forbidden'), { payload: bytes(0) }), undefined, 'an empty payload is none (as Nomad)');
  assert.match(dispatchProblem(p('required'), {})!, /^payload not provided but required/);
  assert.match(dispatchProblem(p('required'), { payload: bytes(0) })!, /^payload not provided but required/);
  assert.equal(dispatchProblem(p('required'), { payload: bytes(MAX_PAYLOAD_BYTES) }), undefined, 'exactly 16 KiB is fine');
  assert.equal(dispatchProblem(p('optional'), { payload: bytes(MAX_PAYLOAD_BYTES + 1) }), `payload exceeds maximum size: expected at most 16384 bytes (16 KiB, as Nomad), got 16385 bytes`);

  const m = paramJob('j', { metaRequired: ['run', 'site'], metaOptional: ['mode'] });
  assert.equal(dispatchProblem(m, { meta: { run: '1', site: 'x' } }), undefined);
  assert.equal(dispatchProblem(m, { meta: { run: '1', site: 'x', mode: 'fast' } }), undefined);
  assert.equal(dispatchProblem(m, { meta: { run: '1' } }), 'dispatch did not provide required meta keys: [site]');
  assert.equal(
    dispatchProblem(m, { meta: { run: '1', site: 'x', team: 'b', zz: '' } }),
    'dispatch request included unpermitted metadata keys: [team, zz]; expected keys of meta_required or meta_optional (run, site, mode)',
  );
  assert.match(dispatchProblem(paramJob('j'), { meta: { a: '1' } })!, /unpermitted metadata keys: \[a\]; expected no meta/);
  assert.match(dispatchProblem(m, { meta: { run: 'a\0b', site: 'x' } })!, /without NUL bytes/);
  assert.match(dispatchProblem(makeJob('plain'), {})!, /expected a parameterized job/);
});

test('dispatched child: batch, parent named, dispatch meta over the job\'s meta as NOMAD_META_*, payload kept, no parameterized block', () => {
  const parent = paramJob('render', { metaOptional: ['mode', 'run'] });
  const child = dispatchedJob(parent, { id: 'render/dispatch-1-0000000a', meta: { mode: 'fast', run: '7' }, payload: 'aGk=' });
  assert.equal(child.parameterized, undefined);
  assert.equal(child.type, 'batch');
  assert.equal(child.parent, 'render');
  assert.equal(child.payload, 'aGk=');
  assert.deepEqual(child.meta, { team: 'a', mode: 'fast', run: '7' });
  assert.deepEqual(parent.meta, { team: 'a', mode: 'slow' }, 'the parent is not changed');
  assert.ok(runsOnItsOwn(child) && !runsOnItsOwn(parent));
  const d = [...expandJobs([child], 'node').values()][0];
  const env = runtimeEnv({ job: child, group: d.group, task: d.task, index: 0, allocId: d.allocId, allocDir: '/a', taskDir: '/t', node: { name: 'n', id: 'i', class: '', datacenter: 'dc1', attributes: {}, meta: {} }, env: {} });
  assert.equal(env.NOMAD_META_mode, 'fast');
  assert.equal(env.NOMAD_META_RUN, '7');
  assert.equal(env.NOMAD_META_team, 'a');
  assert.equal(env.NOMAD_JOB_ID, 'render/dispatch-1-0000000a');
  assert.equal(env.NOMAD_JOB_PARENT_ID, 'render');
  // Also periodic: the dispatched child keeps the schedule (as Nomad).
  const both = dispatchedJob({ ...parent, periodic: { crons: ['@daily'], prohibitOverlap: false, timeZone: 'UTC', enabled: true, pos } }, { id: 'render/dispatch-1-0000000b', meta: {} });
  assert.ok(both.periodic && !both.parameterized && !runsOnItsOwn(both));
});

async function launcher(t: import('node:test').TestContext, now: { ms: number }, suffixes?: string[]) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-dispatch-'));
  const store = createStore({ dataDir: dir });
  await store.load();
  let changes = 0;
  const make = (s: Store) =>
    new DispatchLauncher({ store: s, clock: { now: () => now.ms, random: () => 0 }, logger: pino({ level: 'silent' }), onChange: () => changes++, ...(suffixes ? { suffix: () => suffixes.shift() ?? 'ffffffff' } : {}) });
  const l = make(store);
  t.after(async () => {
    l.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, store, l, make, changes: () => changes };
}

function finish(store: Store, job: Job, code: number): void {
  for (const d of expandJobs([job]).values()) {
    store.put({ id: d.id, job: job.id, group: d.group.name, index: d.index, task: d.task.name, allocId: d.allocId, execId: d.execId, driver: 'raw_exec', file: job.file, hashes: d.hashes, resources: { cpu: 100, memoryMB: 300 }, killSignal: 'SIGINT', killTimeoutMs: 5000, state: code === 0 ? 'complete' : 'failed', restarts: 0, lastExit: { known: true, code, signal: null, oomKilled: false, at: new Date().toISOString() }, events: [] });
  }
}

test('DispatchLauncher: a dispatch adds a child with its meta and payload; two in one second get distinct ids', async (t) => {
  const now = { ms: at('2026-01-10T08:00:00Z') };
  // The first two random suffixes collide: the second dispatch draws again.
  const { store, l, changes } = await launcher(t, now, ['0000000a', '0000000a', '0000000b']);
  l.setJobs([paramJob('render', { metaRequired: ['run'] }), makeJob('web')]);
  assert.deepEqual(l.children(), []);
  const a = l.dispatch('render', { meta: { run: '1' }, payload: Buffer.from('{"x":1}') });
  const b = l.dispatch('render', { meta: { run: '2' } });
  assert.equal(a, 'render/dispatch-1768032000-0000000a');
  assert.equal(b, 'render/dispatch-1768032000-0000000b');
  assert.equal(changes(), 2);
  const [ca, cb] = l.children();
  assert.deepEqual([ca.id, ca.meta.run, Buffer.from(ca.payload!, 'base64').toString()], [a, '1', '{"x":1}']);
  assert.deepEqual([cb.id, cb.meta.run, cb.payload], [b, '2', undefined]);
  const r = store.getDispatch('render')!;
  assert.deepEqual(r.children.map((c) => [c.id, c.meta, c.payloadBytes]), [[a, { run: '1' }, 7], [b, { run: '2' }, undefined]]);
  assert.ok(store.events({ job: 'render' }).some((e) => e.type === 'Job Dispatched' && e.message === `dispatched ${a} with a 7-byte payload and meta run`));
  // Refusals, with the job named.
  assert.throws(() => l.dispatch('render', {}), { code: 'E_BAD_REQUEST', message: 'failed to dispatch render: dispatch did not provide required meta keys: [run]' });
  assert.throws(() => l.dispatch('web', {}), { code: 'E_BAD_REQUEST', message: 'failed to dispatch web: expected a parameterized job, got a job without a parameterized block' });
  assert.throws(() => l.dispatch('nope', {}), { code: 'E_JOB_NOT_FOUND', message: 'failed to dispatch nope: no job nope in force' });
  assert.equal(store.getDispatch('render')!.children.length, 2, 'a refused dispatch records nothing');
});

test('DispatchLauncher: random suffixes are 8 hex digits and distinct within one second', async (t) => {
  const now = { ms: at('2026-01-10T08:00:00Z') };
  const { l } = await launcher(t, now);
  l.setJobs([paramJob('r')]);
  const ids = Array.from({ length: 50 }, () => l.dispatch('r'));
  assert.equal(new Set(ids).size, 50);
  for (const id of ids) assert.match(id, /^r\/dispatch-1768032000-[0-9a-f]{8}$/);
});

test('DispatchLauncher: finished children keep their exits, drop their payload, leave the desired set; the last few stay', async (t) => {
  const now = { ms: at('2026-01-10T08:00:00Z') };
  const { store, l } = await launcher(t, now);
  l.setJobs([paramJob('render')]);
  const a = l.dispatch('render', { payload: Buffer.from('x') });
  finish(store, l.children()[0], 0);
  l.checkFinished();
  const c = store.getDispatch('render')!.children[0];
  assert.equal(c.id, a);
  assert.deepEqual(c.finished?.exits, [{ task: `${a}/g[0]/t`, state: 'complete', code: 0 }]);
  assert.equal(c.payload, undefined, 'payload dropped once finished');
  assert.equal(c.payloadBytes, 1, 'its size stays listed');
  assert.deepEqual(l.children(), []);
  const b = l.dispatch('render');
  finish(store, l.children()[0], 2);
  l.checkFinished();
  assert.equal(store.getDispatch('render')!.children.find((x) => x.id === b)?.finished?.status, 'failed');
  for (let i = 0; i < KEEP_FINISHED + 2; i++) {
    now.ms += 1000;
    l.dispatch('render');
    finish(store, l.children()[0], 0);
    l.checkFinished();
  }
  const running = l.dispatch('render');
  const kept = store.getDispatch('render')!.children;
  assert.equal(kept.length, KEEP_FINISHED + 1);
  assert.deepEqual(kept.filter((x) => !x.finished).map((x) => x.id), [running], 'an unfinished child is never dropped');
});

test('DispatchLauncher: an agent restart runs an unfinished child with the same meta and payload; a parent gone takes its children', async (t) => {
  const now = { ms: at('2026-01-10T08:00:00Z') };
  const { store, l, make } = await launcher(t, now);
  const parent = paramJob('render', { metaOptional: ['run'] });
  l.setJobs([parent]);
  const id = l.dispatch('render', { meta: { run: '9' }, payload: Buffer.from('payload!') });
  l.close();
  await store.flush();
  // A new agent on the same store file.
  const store2 = createStore({ dataDir: path.dirname(store.path) });
  await store2.load();
  const l2 = make(store2);
  try {
    l2.setJobs([parent]);
    const [child] = l2.children();
    assert.equal(child.id, id);
    assert.equal(child.meta.run, '9');
    assert.equal(Buffer.from(child.payload!, 'base64').toString(), 'payload!');
    // The file is removed (or the block): its record goes, so do its children.
    l2.setJobs([]);
    assert.equal(store2.getDispatch('render'), undefined);
    assert.deepEqual(l2.children(), []);
  } finally {
    // Closed here, not in an after hook: those run in order, and launcher()'s removes the dir first.
    l2.close();
    await store2.close();
  }
});

test('periodic + parameterized: the parent never launches; a dispatched child is a periodic job of its own', async (t) => {
  const now = { ms: at('2026-01-10T08:00:00Z') };
  const { store, l } = await launcher(t, now);
  const parent = paramJob('sync', { metaRequired: ['site'] }, { periodic: { crons: ['0 9 * * *'], prohibitOverlap: false, timeZone: 'UTC', enabled: true, pos } });
  const p = new PeriodicLauncher({ store, clock: { now: () => now.ms, random: () => 0 }, logger: pino({ level: 'silent' }), onChange: () => {} });
  t.after(() => p.close());
  l.setJobs([parent]);
  p.setJobs([parent, ...l.children()]);
  assert.equal(p.isPeriodic('sync'), false, 'Nomad: a parameterized job is not periodic-active');
  assert.throws(() => p.force('sync'), { code: 'E_JOB_NOT_FOUND' });
  const id = l.dispatch('sync', { meta: { site: 'eu' } });
  p.setJobs([parent, ...l.children()]);
  assert.equal(p.isPeriodic(id), true);
  const grandchild = p.force(id);
  assert.match(grandchild, new RegExp(`^${id.replace(/[/-]/g, '\\$&')}/periodic-\\d+$`));
  const g = p.children()[0];
  assert.equal(g.meta.site, 'eu', 'the dispatch meta reaches the periodic runs');
  assert.equal(g.parent, id);
  // The dispatched child never finishes by itself (it has no tasks of its own).
  l.checkFinished();
  assert.equal(store.getDispatch('sync')!.children[0].finished, undefined);
  // The parent goes: the dispatched child leaves, and the periodic launcher forgets it.
  l.setJobs([]);
  p.setJobs([...l.children()]);
  assert.equal(p.isPeriodic(id), false);
  assert.equal(store.getPeriodic(id), undefined);
});
