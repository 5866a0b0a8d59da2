import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { createJobSource } from '../../../src/source/watcher.js';
import { FileCache } from '../../../src/source/file-cache.js';
import { loadText } from '../../../src/jobspec/load.js';
import type { DesiredSet } from '../../../src/source/source.js';
import type { NodeInfo } from '../../../src/jobspec/model.js';
import { waitFor } from '../../helpers/wait.js';

const node: NodeInfo = { name: 'n1', id: 'id1', class: '', datacenter: 'dc1', attributes: {}, meta: {} };
const JOB = 'job "web" {\n  group "g" {\n    task "t" {\n      driver = "raw_exec"\n      config { command = "/bin/true" }\n      env {\n        CONF = file("conf/app.conf")\n      }\n    }\n  }\n}\n';

const confOf = (set: DesiredSet): string | undefined => set.jobs.get('web')?.groups[0].tasks[0].env.CONF;

test('file cache: a job file is loaded again when a file it read changes, though its own bytes did not', async (t) => {
  const dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'tend-reads-')));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  await fs.mkdir(path.join(dir, 'conf'));
  await fs.writeFile(path.join(dir, 'conf/app.conf'), 'v1');
  await fs.writeFile(path.join(dir, 'web.hcl'), JOB);
  const cache = new FileCache((file, text) => loadText(file, text, { readDirs: [dir] }));
  const file = path.join(dir, 'web.hcl');
  assert.equal(await cache.refresh(file, false), 'changed');
  assert.equal(cache.get(file)!.result.jobs[0].groups[0].tasks[0].env.CONF, 'v1');
  assert.equal(await cache.refresh(file, false), 'unchanged');
  assert.equal(cache.counters.loads, 1);
  await fs.writeFile(path.join(dir, 'conf/app.conf'), 'v2');
  assert.equal(await cache.refresh(file, false), 'changed');
  assert.equal(cache.counters.loads, 2);
  assert.equal(cache.get(file)!.result.jobs[0].groups[0].tasks[0].env.CONF, 'v2');
  // Removed: the job file fails (its last good version stays); back again: loaded again.
  await fs.rm(path.join(dir, 'conf/app.conf'));
  assert.equal(await cache.refresh(file, false), 'changed');
  assert.equal(cache.get(file)!.result.ok, false);
  assert.equal(cache.get(file)!.lastGood!.jobs[0].groups[0].tasks[0].env.CONF, 'v2');
  await fs.writeFile(path.join(dir, 'conf/app.conf'), 'v3');
  assert.equal(await cache.refresh(file, false), 'changed');
  assert.equal(cache.get(file)!.result.jobs[0].groups[0].tasks[0].env.CONF, 'v3');
});

test('watcher: editing conf/app.conf beside a job makes the source emit the job with the new content; the set lists the read', async (t) => {
  const dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'tend-reads-')));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  await fs.mkdir(path.join(dir, 'conf'));
  await fs.writeFile(path.join(dir, 'conf/app.conf'), 'port = 80\n');
  await fs.writeFile(path.join(dir, 'web.hcl'), JOB);
  const source = createJobSource({ dir, node, debounceMs: 50, resyncMs: 60_000, logger: pino({ level: 'silent' }) });
  t.after(() => source.stop());
  const sets: DesiredSet[] = [];
  source.onChange((s) => sets.push(s));
  const first = await source.start();
  assert.equal(confOf(first), 'port = 80\n');
  assert.deepEqual(first.files[0].reads, [path.join(dir, 'conf/app.conf')]);
  await fs.writeFile(path.join(dir, 'conf/app.conf'), 'port = 81\n');
  await waitFor(() => sets.some((s) => confOf(s) === 'port = 81\n'), { timeoutMs: 10_000, what: 'the job reloaded with the new conf' });
});
