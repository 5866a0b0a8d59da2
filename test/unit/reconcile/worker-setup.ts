/** A task worker over a real store, a fake executor and fake drivers (unit tests of the worker). */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { noopMetrics } from '../../../src/agent/metrics.js';
import { createStore } from '../../../src/store/lowdb-store.js';
import { expandJobs } from '../../../src/reconcile/expand.js';
import { TaskWorker } from '../../../src/reconcile/task-worker.js';
import type { TaskHooks } from '../../../src/reconcile/hooks.js';
import type { Driver } from '../../../src/drivers/driver.js';
import type { Job } from '../../../src/jobspec/model.js';
import { FakeDriver, FakeExecutor } from '../agent/fixtures.js';

const node = { name: 'n', id: 'id', class: '', datacenter: 'dc1', attributes: {}, meta: {} };

export async function setup(t: { after(fn: () => Promise<void>): void }, jobs: Job[], opts: { hooks?: TaskHooks; now?: () => number } = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-worker-'));
  const store = createStore({ dataDir: dir });
  await store.load();
  const executor = new FakeExecutor();
  const drivers = new Map<string, Driver>([['raw_exec', new FakeDriver('raw_exec')]]);
  const worker = new TaskWorker({
    store,
    executor,
    drivers,
    node,
    dataDir: dir,
    agentEnv: {},
    logger: pino({ level: process.env.TEND_TEST_LOG ?? 'silent' }),
    metrics: noopMetrics,
    clock: { now: opts.now ?? Date.now, random: () => 0.5 },
    concurrency: 4,
    hooks: opts.hooks,
  });
  const desired = expandJobs(jobs, store.nodeId);
  worker.setDesired(desired);
  t.after(async () => {
    await worker.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const syncAll = async () => {
    for (const id of desired.keys()) worker.submit(id);
    await worker.idle();
  };
  return { dir, store, executor, worker, desired, syncAll };
}


/** The parts of a PrestartContext a hook under test does not use. */
export const prestartExtras = {
  setEnv: (): void => {},
  task: {
    restart: (): void => {},
    signal: async (): Promise<void> => {},
    exec: async () => ({ code: 0, output: '' }),
    kill: (): void => {},
    wake: (): void => {},
  },
};
