import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { childJob, childJobId, launchesBetween, nextLaunch, PeriodicLauncher, KEEP_FINISHED } from '../../../src/reconcile/periodic.js';
import { parseChildJobId } from '../../../src/reconcile/child-jobs.js';
import { expandJobs, parseInstanceId } from '../../../src/reconcile/expand.js';
import { createStore } from '../../../src/store/lowdb-store.js';
import type { Job, Periodic } from '../../../src/jobspec/model.js';
import type { Store } from '../../../src/store/store.js';
import { makeJob } from '../agent/fixtures.js';

const pos = { file: '/jobs/p.hcl', line: 2, column: 3 };
const P = (over: Partial<Periodic> = {}): Periodic => ({ crons: ['0 9 * * *'], prohibitOverlap: false, timeZone: 'UTC', enabled: true, pos, ...over });
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

test('periodic nextLaunch: the next match strictly after, in UTC by default', () => {
  assert.equal(iso(nextLaunch(P(), at('2026-01-10T08:00:00Z'))), '2026-01-10T09:00:00.000Z');
  assert.equal(iso(nextLaunch(P(), at('2026-01-10T09:00:00Z'))), '2026-01-11T09:00:00.000Z');
});

test('periodic nextLaunch: read in the time zone, winter and summer offsets', () => {
  const p = P({ timeZone: 'Europe/Berlin' });
  assert.equal(iso(nextLaunch(p, at('2026-01-10T00:00:00Z'))), '2026-01-10T08:00:00.000Z'); // CET, +1
  assert.equal(iso(nextLaunch(p, at('2026-07-10T00:00:00Z'))), '2026-07-10T07:00:00.000Z'); // CEST, +2
  assert.equal(iso(nextLaunch(P({ timeZone: 'America/New_York' }), at('2026-01-10T00:00:00Z'))), '2026-01-10T14:00:00.000Z');
});

test('periodic nextLaunch: across a DST change a launch neither vanishes nor repeats', () => {
  // Europe/Berlin springs forward on 2026-03-29 at 02:00 → 03:00: 02:30 does not exist that day.
  const spring = P({ crons: ['30 2 * * *'], timeZone: 'Europe/Berlin' });
  const first = nextLaunch(spring, at('2026-03-28T12:00:00Z'))!;
  assert.equal(iso(first), '2026-03-29T01:00:00.000Z', 'runs at 03:00 CEST, the first valid time after the gap');
  assert.equal(iso(nextLaunch(spring, first)), '2026-03-30T00:30:00.000Z', 'then 02:30 CEST again');
  // Falls back on 2026-10-25 at 03:00 → 02:00: 02:30 happens twice; one launch.
  const autumn = P({ crons: ['30 2 * * *'], timeZone: 'Europe/Berlin' });
  assert.equal(launchesBetween(autumn, at('2026-10-24T12:00:00Z'), at('2026-10-25T12:00:00Z')), 1);
  // Hourly across the spring gap: 23 launches that day.
  assert.equal(launchesBetween(P({ crons: ['0 * * * *'], timeZone: 'Europe/Berlin' }), at('2026-03-28T23:00:00Z'), at('2026-03-29T22:00:00Z')), 23);
});

test('periodic nextLaunch: the earliest of several crons; none when disabled', () => {
  const p = P({ crons: ['0 9 * * *', '30 8 * * *', '@hourly'] });
  assert.equal(iso(nextLaunch(p, at('2026-01-10T07:10:00Z'))), '2026-01-10T08:00:00.000Z');
  assert.equal(iso(nextLaunch(P({ crons: ['0 9 * * *', '30 8 * * *'] }), at('2026-01-10T07:10:00Z'))), '2026-01-10T08:30:00.000Z');
  assert.equal(nextLaunch(P({ enabled: false }), at('2026-01-10T07:10:00Z')), undefined);
  assert.equal(launchesBetween(P({ enabled: false }), 0, at('2026-01-10T07:10:00Z')), 0);
});

test('periodic child ids: Nomad\'s <job>/periodic-<unix seconds>, parsed back, and instance ids keep the whole job id', () => {
  const id = childJobId('backup', at('2026-01-10T09:00:00.750Z'));
  assert.equal(id, 'backup/periodic-1768035600');
  assert.deepEqual(parseChildJobId(id), { parent: 'backup', kind: 'periodic', atMs: 1768035600_000 });
  assert.equal(parseChildJobId('backup'), undefined);
  assert.equal(parseChildJobId('backup/periodic-x'), undefined);
  assert.deepEqual(parseInstanceId(`${id}/g[0]/t`), { job: id, group: 'g', index: 0, task: 't' });
  const parent: Job = { ...makeJob('backup', { type: 'batch' }), periodic: P() };
  const child = childJob(parent, id);
  assert.equal(child.id, id);
  assert.equal(child.type, 'batch');
  assert.equal(child.parent, 'backup');
  assert.equal(child.periodic, undefined);
  const inst = [...expandJobs([child], 'node').values()][0];
  assert.equal(inst.id, `${id}/g[0]/t`);
  assert.match(inst.execId, /^[0-9a-f-]{36}-t$/, 'exec id (a path segment) holds no "/"');
});

async function launcher(t: import('node:test').TestContext, now: { ms: number }): Promise<{ store: Store; l: PeriodicLauncher; changes: () => number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-periodic-'));
  const store = createStore({ dataDir: dir });
  await store.load();
  let changes = 0;
  const l = new PeriodicLauncher({ store, clock: { now: () => now.ms, random: () => 0 }, logger: pino({ level: 'silent' }), onChange: () => changes++ });
  t.after(async () => {
    l.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { store, l, changes: () => changes };
}

function finish(store: Store, job: Job, code: number): void {
  for (const d of expandJobs([job]).values()) {
    store.put({ id: d.id, job: job.id, group: d.group.name, index: d.index, task: d.task.name, allocId: d.allocId, execId: d.execId, driver: 'raw_exec', file: job.file, hashes: d.hashes, resources: { cpu: 100, memoryMB: 300 }, killSignal: 'SIGINT', killTimeoutMs: 5000, state: code === 0 ? 'complete' : 'failed', restarts: 0, lastExit: { known: true, code, signal: null, oomKilled: false, at: new Date().toISOString() }, events: [] });
  }
}

test('PeriodicLauncher: force launches a child, finished children keep their exits and the last few stay', async (t) => {
  const now = { ms: at('2026-01-10T08:00:00Z') };
  const { store, l, changes } = await launcher(t, now);
  const parent: Job = { ...makeJob('backup', { type: 'batch' }), periodic: P({ prohibitOverlap: true }) };
  l.setJobs([parent]);
  assert.equal(iso(l.next('backup')), '2026-01-10T09:00:00.000Z');
  assert.deepEqual(l.children(), []);
  const a = l.force('backup');
  assert.equal(a, 'backup/periodic-1768032000');
  assert.equal(changes(), 1);
  // A force ignores prohibit_overlap (as Nomad's); a second one in the same second gets the next free second.
  const b = l.force('backup');
  assert.equal(b, 'backup/periodic-1768032001');
  assert.deepEqual(l.children().map((j) => j.id), [a, b]);
  finish(store, l.children()[0], 0);
  l.checkFinished();
  const r = store.getPeriodic('backup')!;
  assert.equal(r.children[0].finished?.status, 'complete');
  assert.deepEqual(r.children[0].finished?.exits, [{ task: `${a}/g[0]/t`, state: 'complete', code: 0 }]);
  assert.deepEqual(l.children().map((j) => j.id), [b], 'a finished child leaves the desired set');
  finish(store, l.children()[0], 3);
  l.checkFinished();
  assert.equal(store.getPeriodic('backup')!.children[1].finished?.status, 'failed');
  for (let i = 0; i < KEEP_FINISHED + 2; i++) {
    now.ms += 60_000;
    const c = l.force('backup');
    finish(store, l.children().find((j) => j.id === c)!, 0);
    l.checkFinished();
  }
  const kept = store.getPeriodic('backup')!.children;
  assert.equal(kept.length, KEEP_FINISHED);
  assert.ok(kept.every((c) => c.finished));
});

test('PeriodicLauncher: disabled jobs neither launch nor force; an unknown job is E_JOB_NOT_FOUND; a job gone takes its record', async (t) => {
  const now = { ms: at('2026-01-10T08:00:00Z') };
  const { store, l } = await launcher(t, now);
  const off: Job = { ...makeJob('off', { type: 'batch' }), periodic: P({ enabled: false }) };
  l.setJobs([off]);
  assert.equal(l.next('off'), undefined);
  assert.throws(() => l.force('off'), /enabled = false/);
  assert.throws(() => l.force('nope'), { code: 'E_JOB_NOT_FOUND' });
  const on: Job = { ...makeJob('on', { type: 'batch' }), periodic: P() };
  l.setJobs([off, on]);
  l.force('on');
  assert.equal(l.children().length, 1);
  l.setJobs([off]);
  assert.equal(store.getPeriodic('on'), undefined);
  assert.deepEqual(l.children(), []);
});

test('PeriodicLauncher: launches due while no agent watched are counted as missed, not run', async (t) => {
  const now = { ms: at('2026-01-10T08:00:00Z') };
  const { store, l } = await launcher(t, now);
  const job: Job = { ...makeJob('hourly', { type: 'batch' }), periodic: P({ crons: ['0 * * * *'] }) };
  l.setJobs([job]);
  l.close();
  // A new agent 3.5 hours later.
  now.ms = at('2026-01-10T11:30:00Z');
  const l2 = new PeriodicLauncher({ store, clock: { now: () => now.ms, random: () => 0 }, logger: pino({ level: 'silent' }), onChange: () => {} });
  t.after(() => l2.close());
  l2.setJobs([job]);
  assert.deepEqual(store.getPeriodic('hourly')!.missed, { count: 3, from: '2026-01-10T08:00:00.000Z', to: '2026-01-10T11:30:00.000Z' });
  assert.deepEqual(l2.children(), [], 'nothing caught up');
  assert.ok(store.events({ job: 'hourly' }).some((e) => e.type === 'Periodic Missed'));
});
