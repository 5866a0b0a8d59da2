import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Agent } from '../../../src/agent/agent.js';
import { noopMetrics, type AgentMetrics } from '../../../src/agent/metrics.js';
import { createStore } from '../../../src/store/lowdb-store.js';
import type { Job, NodeInfo } from '../../../src/jobspec/model.js';
import type { Driver } from '../../../src/drivers/driver.js';
import type { TaskHandle, TaskStats } from '../../../src/executor/executor.js';
import { waitFor } from '../../helpers/wait.js';
import { FakeDriver, FakeExecutor, FakeSource, makeJob, makeTask } from './fixtures.js';

const node: NodeInfo = { name: 'n', id: 'id', class: '', datacenter: 'dc1', attributes: {}, meta: {} };

async function setup(t: { after(fn: () => Promise<void>): void }, jobs: Job[], opts: { executor?: FakeExecutor; dir?: string; drivers?: Driver[]; concurrency?: number; settle?: boolean; storeLoad?: boolean; metrics?: AgentMetrics } = {}) {
  const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'tend-agent-')));
  if (!opts.dir) t.after(() => rm(dir, { recursive: true, force: true }));
  const store = createStore({ dataDir: dir });
  const storeLoad = await store.load();
  const executor = opts.executor ?? new FakeExecutor();
  const source = new FakeSource(jobs);
  const drivers = new Map<string, Driver>((opts.drivers ?? [new FakeDriver('raw_exec'), new FakeDriver('exec', true, 'requires root')]).map((d) => [d.name, d]));
  const agent = new Agent({
    dataDir: dir,
    jobsDir: '/jobs',
    store,
    executor,
    drivers,
    source,
    node,
    nodeView: { version: '0', executor: 'plain', cgroupMode: 'none', cores: [0], reservedCores: [], memoryBytes: 1, dataDir: dir, jobsDir: '/jobs', startedAt: '' },
    logger: pino({ level: 'silent' }),
    metrics: opts.metrics ?? noopMetrics,
    concurrency: opts.concurrency ?? 4,
    ...(opts.storeLoad ? { storeLoad } : {}),
  });
  await agent.start();
  if (opts.settle !== false) await agent.settled();
  return { agent, executor, source, store, dir };
}

test('agent: starts desired tasks, restarts on args change, updates resources in place, stops removed ones', async (t) => {
  const { agent, executor, source } = await setup(t, [makeJob('a', { count: 2 })]);
  assert.equal(executor.running().length, 2);
  assert.deepEqual(agent.tasks().map((x) => [x.id, x.state]), [
    ['a/g[0]/t', 'running'],
    ['a/g[1]/t', 'running'],
  ]);
  const id0 = agent.tasks()[0].allocId + '-t';
  const pid0 = executor.pidOf(id0);

  source.emit([makeJob('a', { count: 2, tasks: [makeTask('t', { resources: { cpu: 100, memoryMB: 512 } })] })]);
  await agent.settled();
  assert.equal(executor.pidOf(id0), pid0, 'resources change keeps the process');
  assert.equal(executor.updates.length, 2);
  assert.equal(executor.updates[0].resources.memoryBytes, 512 * 1048576);
  assert.ok((await agent.task('a/g[0]/t')).events!.some((e) => e.type === 'Updated' && /resources.memory/.test(e.message)));

  source.emit([makeJob('a', { count: 2, tasks: [makeTask('t', { resources: { cpu: 100, memoryMB: 512 } }, { args: ['2'] })] })]);
  await agent.settled();
  assert.notEqual(executor.pidOf(id0), pid0, 'args change restarts');
  assert.equal(executor.running().length, 2);

  source.emit([makeJob('a', { count: 1, tasks: [makeTask('t', { resources: { cpu: 100, memoryMB: 512 } }, { args: ['2'] })] })]);
  await agent.settled();
  assert.deepEqual(agent.tasks().map((x) => x.id), ['a/g[0]/t']);
  assert.equal(executor.running().length, 1);

  source.emit([]);
  await agent.settled();
  assert.equal(executor.running().length, 0);
  assert.deepEqual(agent.tasks(), []);
  await agent.stop();
});

test('agent: an exit is restarted by the policy, then fails after attempts (mode fail); restart revives it', async (t) => {
  const task = makeTask('t', { restart: { attempts: 1, intervalMs: 60_000, delayMs: 1000, mode: 'fail' } });
  const { agent, executor } = await setup(t, [makeJob('a', { tasks: [task] })]);
  const execId = agent.tasks()[0].allocId + '-t';
  executor.exit(execId, 3);
  await waitFor(() => agent.tasks()[0].state === 'restarting', { what: 'restarting' });
  assert.ok(agent.tasks()[0].nextRestartAt);
  await waitFor(() => agent.tasks()[0].state === 'running', { what: 'restarted' });
  assert.equal(agent.tasks()[0].restarts, 1);
  executor.exit(execId, 3);
  await waitFor(() => agent.tasks()[0].state === 'failed', { what: 'failed' });
  assert.match(agent.tasks()[0].error!, /Exceeded allowed attempts 1/);
  assert.equal(agent.tasks()[0].lastExit?.code, 3);
  await agent.restart('a/g[0]/t');
  await waitFor(() => agent.tasks()[0].state === 'running', { what: 'revived' });
  assert.equal(executor.running().length, 1);
  await agent.stop();
});

test('agent: a task whose monitor died is a Monitor Lost event, then Terminated, and the restart policy restarts it', async (t) => {
  const task = makeTask('t', { restart: { attempts: 1, intervalMs: 60_000, delayMs: 0, mode: 'fail' } });
  const { agent, executor } = await setup(t, [makeJob('a', { tasks: [task] })]);
  const execId = agent.tasks()[0].allocId + '-t';
  const pid0 = executor.pidOf(execId);
  executor.exit(execId, null, 'SIGKILL', { known: false, message: 'monitor (conmon) died; task stopped', monitorLost: { pid: 4242 } });
  await waitFor(() => agent.tasks()[0].state === 'running' && ![undefined, pid0].includes(executor.pidOf(execId)), { what: 'restarted' });
  const events = (await agent.task('a/g[0]/t')).events!;
  const types = events.map((e) => e.type);
  const lost = types.indexOf('Monitor Lost');
  assert.ok(lost >= 0 && types[lost + 1] === 'Terminated' && types.slice(lost).includes('Restarting'), `got ${types.join(', ')}`);
  assert.match(events[lost].message, /monitor \(pid 4242\) died/);
  assert.equal(events[lost + 1].message, 'monitor (conmon) died; task stopped');
  assert.equal(agent.tasks()[0].restarts, 1);
  await agent.stop();
});

test('agent: a batch task that exits 0 is complete and not restarted', async (t) => {
  const { agent, executor } = await setup(t, [makeJob('b', { type: 'batch' })]);
  executor.exit(agent.tasks()[0].allocId + '-t', 0);
  await waitFor(() => agent.tasks()[0].state === 'complete', { what: 'complete' });
  await agent.settled();
  assert.equal(executor.launches.length, 1);
  await agent.stop();
});

test('agent: a task with an unavailable driver stays pending with the reason; others run', async (t) => {
  const { agent, executor } = await setup(t, [makeJob('ok'), makeJob('x', { tasks: [makeTask('t', { driver: 'exec' })] })]);
  const views = Object.fromEntries(agent.tasks().map((v) => [v.job, v]));
  assert.equal(views.ok.state, 'running');
  assert.equal(views.x.state, 'pending');
  assert.match(views.x.error!, /driver exec unavailable: requires root/);
  const job = agent.jobs().find((j) => j.id === 'x')!;
  assert.equal(job.status, 'blocked');
  assert.equal(executor.launches.length, 1);
  assert.equal(agent.events({ task: 'x/g[0]/t' }).filter((e) => e.type === 'Driver Failure').length, 1);
  await agent.stop();
});

test('agent: a broken file keeps its last good jobs running and reports file:line', async (t) => {
  const job = makeJob('a');
  const { agent, executor, source } = await setup(t, [job]);
  const pid = executor.pidOf(agent.tasks()[0].allocId + '-t');
  source.emit([job], job.file);
  await agent.settled();
  assert.equal(executor.pidOf(agent.tasks()[0].allocId + '-t'), pid);
  const ev = agent.events().find((e) => e.type === 'File Error');
  assert.match(ev!.message, /\/jobs\/a\.hcl:3:5: bad syntax/);
  assert.match(agent.jobs()[0].reason!, /file invalid/);
  await agent.stop();
});

test('agent: after a restart of the agent running tasks are adopted (same pid), exited ones go through the policy', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-agent-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const executor = new FakeExecutor();
  const jobs = [makeJob('a', { count: 2 })];
  const first = await setup(t, jobs, { executor, dir });
  const pids = first.agent.tasks().map((v) => v.pid);
  await first.agent.stop();
  assert.equal(executor.running().length, 2, 'agent stop leaves tasks running');
  executor.exit(first.agent.tasks()[1].allocId + '-t', 7);
  const second = await setup(t, jobs, { executor, dir });
  const views = second.agent.tasks();
  assert.equal(views[0].pid, pids[0]);
  assert.equal(views[0].state, 'running');
  assert.equal(views[1].lastExit?.code, 7);
  assert.ok(['restarting', 'running'].includes(views[1].state));
  assert.equal(executor.launches.length, 2, 'nothing restarted yet (restart delay)');
  assert.deepEqual([...executor.gcKnown!], [views[0].allocId + '-t']);
  await second.agent.stop();
});

test('agent: resolve matches prefixes; plan reports without acting', async (t) => {
  const { agent, executor } = await setup(t, [makeJob('web', { count: 2 }), makeJob('db')]);
  assert.deepEqual(agent.resolve('db'), ['db/g[0]/t']);
  assert.deepEqual(agent.resolve('web/g'), ['web/g[0]/t', 'web/g[1]/t']);
  assert.deepEqual(agent.resolve('web/g[1]'), ['web/g[1]/t']);
  assert.deepEqual(agent.resolve('web/t'), ['web/g[0]/t', 'web/g[1]/t']);
  const plan = await agent.plan();
  assert.ok(plan.actions.every((a) => a.kind === 'none'));
  await assert.rejects(agent.task('nope/g[0]/t'), { code: 'E_TASK_NOT_FOUND' });
  assert.equal(executor.launches.length, 3);
  await agent.stop();
});

test('agent: a corrupt store is moved aside and rebuilt from the executor: running tasks adopted, same pids', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-agent-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const executor = new FakeExecutor();
  const jobs = [makeJob('a', { count: 2 })];
  const first = await setup(t, jobs, { executor, dir });
  const before = first.agent.tasks().map((x) => [x.id, executor.pidOf(x.allocId + '-t')]);
  await first.agent.stop();
  const { writeFile, readdir } = await import('node:fs/promises');
  await writeFile(path.join(dir, 'tend.json'), '{ not json');
  const second = await setup(t, jobs, { executor, dir, storeLoad: true });
  assert.ok((await readdir(dir)).some((f) => f.startsWith('tend.json.corrupt-')));
  assert.deepEqual(second.agent.tasks().map((x) => [x.id, executor.pidOf(x.allocId + '-t')]), before, 'same tasks, same pids');
  assert.equal(executor.launches.length, 2, 'nothing launched again');
  assert.deepEqual(second.agent.tasks().map((x) => x.state), ['running', 'running']);
  const rebuilt = second.agent.events().filter((e) => e.type === 'Store Rebuilt');
  assert.equal(rebuilt.length, 1);
  assert.match(rebuilt[0].message, /corrupt .*2 tasks adopted, 0 ended/);
  assert.ok(second.agent.events({ task: 'a/g[0]/t' }).some((e) => e.type === 'Recovered'));
  // Still converges: an args change restarts, a removed job stops.
  second.source.emit([makeJob('a', { count: 2, tasks: [makeTask('t', {}, { args: ['2'] })] })]);
  await second.agent.settled();
  assert.equal(executor.launches.length, 4);
  assert.ok(second.agent.events({ task: 'a/g[0]/t' }).some((e) => e.type === 'Restart Signaled' && /args/.test(e.message)));
  second.source.emit([]);
  await second.agent.settled();
  assert.equal(executor.running().length, 0);
  assert.deepEqual(second.agent.tasks(), []);
  await second.agent.stop();
});

test('agent: a deleted store is rebuilt; a task no longer desired is stopped, one of unknown spec restarted, one that ended has its exit recorded', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-agent-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const executor = new FakeExecutor();
  const first = await setup(t, [makeJob('keep'), makeJob('gone'), makeJob('old'), makeJob('done', { type: 'batch' })], { executor, dir });
  const execOf = (job: string) => first.agent.tasks().find((x) => x.job === job)!.allocId + '-t';
  const [keep, gone, old, done] = ['keep', 'gone', 'old', 'done'].map(execOf);
  const keepPid = executor.pidOf(keep);
  await first.agent.stop();
  // Launched before notes were kept: nothing vouches for its spec.
  delete executor.tasks.get(old)!.spec.notes;
  executor.exit(done, 0);
  await rm(path.join(dir, 'tend.json'));
  const second = await setup(t, [makeJob('keep'), makeJob('old'), makeJob('done', { type: 'batch' })], { executor, dir, storeLoad: true });
  assert.equal(executor.pidOf(keep), keepPid, 'adopted without a restart');
  assert.equal(executor.pidOf(gone), undefined, 'no longer desired: stopped');
  assert.ok(executor.shutdowns.includes(gone), 'stopped through shutdown, not gc');
  assert.notEqual(executor.pidOf(old), undefined);
  assert.ok(second.agent.events({ task: 'old/g[0]/t' }).some((e) => e.type === 'Restart Signaled' && /spec/.test(e.message)), 'unknown spec restarted');
  const d = second.agent.tasks().find((x) => x.job === 'done')!;
  assert.equal(d.state, 'complete', 'a batch task that exited 0 while the store was lost is not run again');
  assert.equal(executor.launches.filter((x) => x === done).length, 1);
  const rebuilt = second.agent.events().filter((e) => e.type === 'Store Rebuilt');
  assert.equal(rebuilt.length, 1);
  assert.match(rebuilt[0].message, /missing.*3 tasks adopted, 1 ended while the agent was down, 1 of unknown spec/);
  assert.deepEqual(second.agent.tasks().map((x) => x.id), ['done/g[0]/t', 'keep/g[0]/t', 'old/g[0]/t']);
  await second.agent.stop();
});

test('agent: a task launched by an agent that died before recording its handle is adopted, not killed', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-agent-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const executor = new FakeExecutor();
  const first = await setup(t, [makeJob('a')], { executor, dir });
  const r = first.store.get('a/g[0]/t')!;
  const pid = executor.pidOf(r.execId);
  first.store.update(r.id, (x) => {
    x.handle = undefined;
    x.state = 'starting';
  });
  await first.agent.stop();
  const second = await setup(t, [makeJob('a')], { executor, dir });
  assert.equal(executor.pidOf(r.execId), pid);
  assert.equal(executor.launches.length, 1);
  assert.equal(second.store.get(r.id)?.handle?.pid, pid);
  assert.equal(second.agent.events().filter((e) => e.type === 'Store Rebuilt').length, 0, 'the store itself was fine');
  await second.agent.stop();
});

test('agent: a restart cut short after its launch (the store still holds the previous run\'s handle) adopts the new run, no second process', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-agent-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const executor = new FakeExecutor();
  const first = await setup(t, [makeJob('a')], { executor, dir });
  const r = first.store.get('a/g[0]/t')!;
  const pid = executor.pidOf(r.execId);
  // What the store held when the agent died: the run before this one (same exec id, another pid).
  first.store.update(r.id, (x) => {
    x.handle = { ...x.handle!, pid: pid! + 5000, pidStartTime: 1 };
    x.state = 'running';
  });
  await first.agent.stop();
  const second = await setup(t, [makeJob('a')], { executor, dir });
  assert.equal(executor.launches.length, 1, 'no second launch');
  assert.equal(executor.pidOf(r.execId), pid, 'the new run keeps running');
  assert.equal(second.store.get(r.id)?.handle?.pid, pid, 'and is the one recorded');
  assert.equal(second.store.get(r.id)?.state, 'running');
  await second.agent.stop();
});

test('agent: stop with stopTasks stops every task; without, tasks keep running', async (t) => {
  const a = await setup(t, [makeJob('a', { count: 3 })]);
  await a.agent.stop({ stopTasks: true });
  assert.equal(a.executor.running().length, 0);
  assert.equal(a.executor.shutdowns.length, 3);
});

test('agent: a task removed from the files while the agent was down is stopped (running) or forgotten (exited)', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-agent-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const executor = new FakeExecutor();
  const first = await setup(t, [makeJob('a'), makeJob('b')], { executor, dir });
  const [a, b] = first.agent.tasks();
  await first.agent.stop();
  executor.exit(b.allocId + '-t', 1);
  const second = await setup(t, [], { executor, dir });
  assert.deepEqual(second.agent.tasks(), []);
  assert.equal(executor.running().length, 0);
  assert.ok(executor.shutdowns.includes(a.allocId + '-t'));
  await second.agent.stop();
});

test('agent: a later stop cancels queued starts of the same tasks', async (t) => {
  const executor = new FakeExecutor();
  executor.launchDelayMs = 20;
  const { agent, source } = await setup(t, [makeJob('a', { count: 10 })], { executor, concurrency: 1, settle: false });
  await waitFor(() => executor.launches.length >= 1, { what: 'first launch' });
  source.emit([]);
  await agent.settled();
  assert.ok(executor.launches.length < 10, `expected queued starts to be dropped, got ${executor.launches.length} launches`);
  assert.equal(executor.running().length, 0);
  assert.deepEqual(agent.tasks(), []);
  await agent.stop();
});

test('agent: a job defined by two files is reported once as a conflict and keeps running', async (t) => {
  const job = makeJob('a');
  const { agent, executor, source } = await setup(t, [job]);
  const pid = executor.pidOf(agent.tasks()[0].allocId + '-t');
  const conflicts = [{ job: 'a', winner: '/jobs/a.hcl', losers: ['/jobs/z.hcl'] }];
  source.emit([job], undefined, conflicts);
  source.emit([job], undefined, conflicts);
  await agent.settled();
  const evs = agent.events().filter((e) => e.type === 'Conflict');
  assert.equal(evs.length, 1);
  assert.match(evs[0].message, /\/jobs\/a\.hcl and \/jobs\/z\.hcl; \/jobs\/a\.hcl wins/);
  assert.equal(executor.pidOf(agent.tasks()[0].allocId + '-t'), pid);
  await agent.stop();
});

test('agent: stats of every running task by instance id, read at once when the executor can (statsAll); samples from them', async (t) => {
  class ManyStats extends FakeExecutor {
    calls: number[] = [];
    override async stats(): Promise<TaskStats> {
      throw new Error('stats() per task: statsAll was expected');
    }
    async statsAll(handles: readonly TaskHandle[]): Promise<Map<string, TaskStats>> {
      this.calls.push(handles.length);
      return new Map(handles.map((h, i) => [h.id, { at: 0, pids: 1, cpuPercent: i + 1, memoryBytes: 1000 }]));
    }
  }
  const executor = new ManyStats();
  const { agent } = await setup(t, [makeJob('a', { count: 2 })], { executor });
  const stats = await agent.stats();
  assert.deepEqual(Object.keys(stats).sort(), ['a/g[0]/t', 'a/g[1]/t']);
  assert.deepEqual(executor.calls, [2], 'one read for both');
  const samples = await agent.samples();
  assert.deepEqual(Object.keys(samples.tasks).sort(), ['a/g[0]/t', 'a/g[1]/t']);
  assert.equal(samples.sampling, true);
  const series = await agent.sampleSeries('a/g[0]/t');
  assert.equal(series.samples.length, 1);
  await assert.rejects(agent.sampleSeries('nope/g[0]/t'), /no such task instance/);
  await agent.stop();
});

test('agent: a set that changes one job among many acts on that job alone and scans no other record (issue 14)', async (t) => {
  const jobs = Array.from({ length: 40 }, (_, i) => makeJob(`j${i}`));
  // The task-state gauges count every record once per burst (a timer, ~200 ms after a pass): each
  // of their updates is one legitimate scan, told apart here.
  let gauges = 0;
  const { agent, executor, source, store } = await setup(t, jobs, { metrics: { ...noopMetrics, setTaskStates: () => void gauges++ } });
  assert.equal(executor.running().length, 40);
  await waitFor(() => gauges > 0, { what: 'the gauges of the converge' });
  const pids = new Map(executor.running().map((id) => [id, executor.pidOf(id)]));
  // Every scan of all records and every job whose records are read, from here on.
  gauges = 0;
  let scans = 0;
  const read = new Set<string>();
  const all = store.all.bind(store);
  const ofJob = store.ofJob.bind(store);
  store.all = () => (scans++, all());
  store.ofJob = (job: string) => (read.add(job), ofJob(job));

  // j3 edited (args: a restart), j5 gone, j40 new; the 37 others are the very same objects.
  const next = [...jobs.filter((j) => j.id !== 'j5' && j.id !== 'j3'), makeJob('j3', { tasks: [makeTask('t', {}, { args: ['edited'] })] }), makeJob('j40')];
  source.emit(next);
  await agent.settled();
  assert.equal(scans, gauges, 'no pass over every record for a one-job change (the gauges\' scans aside)');
  assert.deepEqual([...read].filter((j) => !['j3', 'j5', 'j40'].includes(j)), [], 'only the changed jobs\' records are read');

  const running = executor.running();
  assert.equal(running.length, 40);
  const byJob = new Map(agent.tasks().map((x) => [x.job, x]));
  assert.equal(byJob.has('j5'), false, 'the removed job is stopped and forgotten');
  assert.equal(byJob.get('j40')?.state, 'running');
  const j3 = byJob.get('j3')!;
  assert.notEqual(executor.pidOf(`${j3.allocId}-t`), pids.get(`${j3.allocId}-t`), 'the edited job restarted');
  for (const [id, pid] of pids) if (!id.startsWith(j3.allocId) && running.includes(id)) assert.equal(executor.pidOf(id), pid, `${id} untouched`);
  // What the API shows follows the set: the new job's type, no trace of the removed one.
  assert.deepEqual((await agent.plan()).actions.filter((a) => a.kind !== 'none'), []);

  // A whole new set (every job a new object) still converges through the same path.
  store.all = all;
  source.emit(next.map((j) => ({ ...j })));
  await agent.settled();
  assert.equal(executor.running().length, 40);
  await agent.stop();
});
