/**
 * Ports through the agent (fake executor and driver, a real store and port book): allocated when
 * an allocation appears, the same after restarts of the task and of the agent and after a lost
 * store, a conflict waits with the reason and is served when the holder goes, and an edit that
 * cannot get its ports leaves the running version alone.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Agent } from '../../../src/agent/agent.js';
import { taskHooks } from '../../../src/agent/hooks.js';
import { noopMetrics } from '../../../src/agent/metrics.js';
import { createStore } from '../../../src/store/lowdb-store.js';
import type { Job, NodeInfo, PortSpec } from '../../../src/jobspec/model.js';
import { PortBook } from '../../../src/ports/book.js';
import type { PortConfig, PortProbe } from '../../../src/ports/ports.js';
import { portsHook } from '../../../src/reconcile/hooks/ports.js';
import { waitFor } from '../../helpers/wait.js';
import { FakeDriver, FakeExecutor, FakeSource, makeJob, makeTask } from './fixtures.js';

const node: NodeInfo = { name: 'n', id: 'id', class: '', datacenter: 'dc1', attributes: {}, meta: {} };
const CONFIG: PortConfig = { minDynamic: 21000, maxDynamic: 21999, reserved: [], networks: new Map([['default', { name: 'default', address: '127.0.0.1', reserved: [] }]]) };
const NOTHING_BOUND: PortProbe = { inUse: () => new Map(), owners: () => new Map() };

function withPorts(job: Job, ports: Omit<PortSpec, 'pos' | 'hostNetwork'>[]): Job {
  job.groups[0] = { ...job.groups[0], ports: ports.map((p, i) => ({ hostNetwork: 'default', pos: { file: job.file, line: 4 + i, column: 7 }, ...p })) };
  return job;
}

async function setup(t: TestContext, jobs: Job[], o: { dir?: string; executor?: FakeExecutor; random?: () => number } = {}) {
  const dir = o.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'tend-agent-ports-')));
  const store = createStore({ dataDir: dir });
  const storeLoad = await store.load();
  const executor = o.executor ?? new FakeExecutor();
  const driver = new FakeDriver('raw_exec');
  const source = new FakeSource(jobs);
  const ref: { agent?: Agent } = {};
  const ports = new PortBook({ store, config: CONFIG, probe: NOTHING_BOUND, logger: pino({ level: 'silent' }), random: o.random, onRelease: () => ref.agent?.schedulePass() });
  const hooks = taskHooks();
  hooks.teardown.push(portsHook(ports));
  const agent = new Agent({
    dataDir: dir,
    jobsDir: '/jobs',
    store,
    executor,
    drivers: new Map([['raw_exec', driver]]),
    source,
    node,
    nodeView: { version: '0', executor: 'plain', cgroupMode: 'none', cores: [0], reservedCores: [], memoryBytes: 1, dataDir: dir, jobsDir: '/jobs', startedAt: '' },
    logger: pino({ level: 'silent' }),
    metrics: noopMetrics,
    concurrency: 4,
    storeLoad,
    ports,
    hooks,
  });
  ref.agent = agent;
  await agent.start();
  await agent.settled();
  t.after(async () => {
    await agent.stop();
    if (!o.dir) await rm(dir, { recursive: true, force: true });
  });
  return { agent, executor, driver, source, store, dir };
}

const portsOf = (agent: Agent, id: string) => Object.fromEntries((agent.tasks().find((x) => x.id === id)?.ports ?? []).map((p) => [p.label, p.value]));

test('agent ports: a task gets its allocation\'s ports through prepare and its notes; the same after a restart, an agent restart and a lost store', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-agent-ports-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const executor = new FakeExecutor();
  const jobs = () => [withPorts(makeJob('web', { count: 2 }), [{ label: 'http' }, { label: 'db', static: 5432 }]), withPorts(makeJob('api'), [{ label: 'http' }])];
  const first = await setup(t, jobs(), { dir, executor, random: Math.random });
  const ids = ['api/g[0]/t', 'web/g[0]/t', 'web/g[1]/t'];
  const before = ids.map((id) => portsOf(first.agent, id));
  assert.equal(before[1].db, 5432);
  assert.ok(before[0].http >= 21000 && before[0].http <= 21999);
  assert.notEqual(before[0].http, before[1].http);
  // web[1] cannot have 5432 too: it waits, saying who holds it.
  const w1 = first.agent.tasks().find((x) => x.id === 'web/g[1]/t')!;
  assert.equal(w1.state, 'pending');
  assert.equal(w1.error, 'waiting for ports: static port 5432 (port "db") is held by job "web" (/jobs/web.hcl:5, group g[0])');
  assert.equal(first.agent.jobs().find((j) => j.id === 'web')!.status, 'blocked');
  const w0 = first.agent.tasks().find((x) => x.id === 'web/g[0]/t')!;
  const ctx = first.driver.prepared.get(`${w0.allocId}-t`)!;
  assert.deepEqual(ctx.ports?.map((p) => [p.label, p.value]), [['http', before[1].http], ['db', 5432]]);
  const notes = executor.tasks.get(`${w0.allocId}-t`)!.spec.notes as { ports: { list: { value: number }[] } };
  assert.deepEqual(notes.ports.list.map((p) => p.value), [before[1].http, 5432]);
  // tendctl restart: same ports.
  await first.agent.restart('web/g[0]/t');
  await waitFor(() => executor.launches.length === 3, { what: 'the restart' });
  await first.agent.settled();
  assert.deepEqual(ids.map((id) => portsOf(first.agent, id)), before);
  await first.agent.stop();
  // Agent restart: the store keeps them (a different random would pick others).
  const second = await setup(t, jobs(), { dir, executor, random: () => 0.99 });
  assert.deepEqual(ids.map((id) => portsOf(second.agent, id)), before);
  assert.equal(executor.launches.length, 3, 'nothing restarted');
  await second.agent.stop();
  // The store lost while the tasks run: the ports come back from the tasks' notes.
  await unlink(path.join(dir, 'tend.json'));
  const third = await setup(t, jobs(), { dir, executor, random: () => 0.5 });
  assert.deepEqual(ids.slice(0, 2).map((id) => portsOf(third.agent, id)), before.slice(0, 2));
  assert.equal(executor.launches.length, 3, 'nothing restarted');
  await third.agent.stop();
});

test('agent ports: a second job asking for a held static port waits naming the first; the first keeps running; it starts when the first goes', async (t) => {
  const a = withPorts(makeJob('a', { file: '/jobs/z-a.hcl' }), [{ label: 'http', static: 8080 }]);
  const { agent, executor, source } = await setup(t, [a]);
  const b = withPorts(makeJob('b', { file: '/jobs/b.hcl' }), [{ label: 'web', static: 8080 }]);
  // b's file sorts first; a holds the port.
  source.emit([b, a]);
  await agent.settled();
  const tb = agent.tasks().find((x) => x.id === 'b/g[0]/t')!;
  assert.equal(tb.state, 'pending');
  assert.equal(tb.error, 'waiting for ports: static port 8080 (port "web") is held by job "a" (/jobs/z-a.hcl:4, group g[0])');
  assert.equal(agent.tasks().find((x) => x.id === 'a/g[0]/t')!.state, 'running');
  assert.deepEqual(executor.running().length, 1);
  assert.ok(agent.events().some((e) => e.type === 'Port Conflict' && e.job === 'b' && e.file === '/jobs/b.hcl'));
  assert.equal(agent.jobs().find((j) => j.id === 'b')!.status, 'blocked');
  // a goes: its teardown gives the port back and b starts, without waiting for a resync.
  source.emit([b]);
  await waitFor(() => agent.tasks().find((x) => x.id === 'b/g[0]/t')?.state === 'running', { what: 'b running', timeoutMs: 3000 });
  assert.deepEqual(portsOf(agent, 'b/g[0]/t'), { web: 8080 });
});

test('agent ports: an edit that cannot get its ports is held (the running version keeps running); it applies once they are free', async (t) => {
  const web = withPorts(makeJob('web'), [{ label: 'http' }]);
  const other = withPorts(makeJob('other'), [{ label: 'p', static: 9090 }]);
  const { agent, executor, source } = await setup(t, [web, other]);
  const pid = executor.pidOf(agent.tasks().find((x) => x.id === 'web/g[0]/t')!.allocId + '-t');
  const edited = withPorts(makeJob('web', { tasks: [makeTask('t', {}, { args: ['2000'] })] }), [{ label: 'http', static: 9090 }]);
  source.emit([edited, other]);
  await agent.settled();
  const tw = agent.tasks().find((x) => x.id === 'web/g[0]/t')!;
  assert.equal(tw.state, 'running');
  assert.equal(executor.pidOf(tw.allocId + '-t'), pid, 'not restarted');
  assert.equal(agent.jobs().find((j) => j.id === 'web')!.reason, 'waiting for ports: static port 9090 (port "http") is held by job "other" (/jobs/other.hcl:4, group g[0])');
  const plan = await agent.plan();
  assert.deepEqual(plan.actions.filter((x) => x.job === 'web').map((x) => [x.kind, x.fields]), [['none', ['args', 'network']]]);
  source.emit([edited]);
  await waitFor(() => portsOf(agent, 'web/g[0]/t').http === 9090 && agent.tasks().find((x) => x.id === 'web/g[0]/t')?.state === 'running', { what: 'the edit applied', timeoutMs: 3000 });
  assert.notEqual(executor.pidOf(tw.allocId + '-t'), pid);
});

test('agent ports: an allocation whose tasks have all ended (a complete batch job) holds no ports; one waiting for them starts', async (t) => {
  const once = withPorts(makeJob('once', { type: 'batch' }), [{ label: 'http', static: 8080 }]);
  const { agent, executor, source } = await setup(t, [once]);
  const onceAlloc = agent.tasks()[0].allocId;
  source.emit([once, withPorts(makeJob('next'), [{ label: 'http', static: 8080 }])]);
  await agent.settled();
  assert.match(agent.tasks().find((x) => x.id === 'next/g[0]/t')!.error ?? '', /is held by job "once"/);
  executor.exit(`${onceAlloc}-t`, 0);
  await waitFor(() => agent.tasks().find((x) => x.id === 'next/g[0]/t')?.state === 'running', { what: 'next running once "once" is complete', timeoutMs: 8000 });
  assert.equal(agent.tasks().find((x) => x.id === 'once/g[0]/t')!.state, 'complete');
  assert.equal(agent.tasks().find((x) => x.id === 'once/g[0]/t')!.ports, undefined);
  assert.deepEqual(portsOf(agent, 'next/g[0]/t'), { http: 8080 });
});
