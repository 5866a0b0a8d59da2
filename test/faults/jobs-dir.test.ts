/**
 * Fault tests for the jobs dir (issue 9, cases 7 and 9): directory links
 * back to ancestors (the walk once went exponential: 5.4 GB, SIGTERM ignored
 * for 40 s), and names that are not regular files (a FIFO, a link to
 * /dev/zero) or are too big. Against the real listing, file cache, loader and
 * watcher, and a real agent.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { isJobFile } from '../../src/jobspec/files.js';
import { loadFile, loadText } from '../../src/jobspec/load.js';
import type { NodeInfo } from '../../src/jobspec/model.js';
import { MAX_JOB_FILE_BYTES } from '../../src/jobspec/read.js';
import { listJobFiles } from '../../src/source/list.js';
import type { DesiredSet, JobSource } from '../../src/source/source.js';
import { createJobSource } from '../../src/source/watcher.js';
import { requireLinux } from '../helpers/gates.js';
import { waitFor } from '../helpers/wait.js';
import { createHarness, job, running } from '../e2e/agent/harness.js';

const node: NodeInfo = { name: 'n1', id: 'id1', class: '', datacenter: 'dc1', attributes: { 'kernel.name': 'linux' }, meta: {} };

const hcl = (id: string, arg = '1000') => `job "${id}" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["${arg}"]
      }
    }
  }
}
`;

async function tempDir(t: TestContext): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tend-faults-jobs-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * jobs/a/b/j1..j3.hcl with jobs/a/b/up2 → ../.. (jobs), jobs/a/up1 → ..
 * (jobs) and jobs/self → . : every path through the links leads back up.
 */
async function loopTree(jobs: string): Promise<string[]> {
  const b = path.join(jobs, 'a', 'b');
  await fs.mkdir(b, { recursive: true });
  const files = [1, 2, 3].map((i) => path.join(b, `j${i}.hcl`));
  for (const [i, f] of files.entries()) await fs.writeFile(f, hcl(`j${i + 1}`));
  await fs.symlink('../..', path.join(b, 'up2'));
  await fs.symlink('..', path.join(jobs, 'a', 'up1'));
  await fs.symlink('.', path.join(jobs, 'self'));
  return files;
}

/** A source on `dir` with the real loader, counting loads per file. */
async function startCounting(t: TestContext, dir: string): Promise<{ source: JobSource & { counters?: { reads: number } }; loads: Map<string, number> }> {
  const loads = new Map<string, number>();
  const source = createJobSource({
    dir,
    node,
    debounceMs: 50,
    dirPollMs: 50,
    load: (file, text) => {
      loads.set(file, (loads.get(file) ?? 0) + 1);
      return loadText(file, text, { node });
    },
  });
  t.after(() => source.stop());
  await withDeadline(source.start(), 15_000, 'source start');
  return { source, loads };
}

async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const fileState = (set: DesiredSet, name: string) => set.files.find((f) => path.basename(f.path) === name);

test('jobs dir: links back to ancestors and to itself end the walk, and each file is listed once', async (t) => {
  const dir = await tempDir(t);
  const files = await loopTree(dir);
  const listed = await withDeadline(listJobFiles(dir, isJobFile), 10_000, 'listing');
  assert.deepEqual(listed.files, files);
  assert.deepEqual(listed.loops.map((p) => path.relative(dir, p)).sort(), [path.join('a', 'b', 'up2'), path.join('a', 'up1'), 'self']);
  // What the watcher watches: the three real dirs, once each.
  const real = await fs.realpath(dir);
  assert.deepEqual(listed.watch, [real, path.join(real, 'a'), path.join(real, 'a', 'b')]);
});

test('jobs dir: a source on a tree with link loops starts, reads each file once, keeps memory bounded, follows edits and stops promptly', { timeout: 90_000 }, async (t) => {
  const dir = await tempDir(t);
  const files = await loopTree(dir);
  const rss0 = process.memoryUsage().rss;
  const { source, loads } = await startCounting(t, dir);
  const set = source.current();
  assert.deepEqual(set.files.map((f) => f.path), files);
  assert.deepEqual([...set.jobs.keys()].sort(), ['j1', 'j2', 'j3']);
  assert.deepEqual([...loads.values()], [1, 1, 1], JSON.stringify([...loads]));
  assert.equal((source as unknown as { counters: { reads: number } }).counters.reads, 3);
  const grewMB = (process.memoryUsage().rss - rss0) / 1048576;
  assert.ok(grewMB < 150, `RSS grew ${grewMB.toFixed(0)} MB`);

  // The watch still sees edits without following links: one in a subdir, one in a new dir.
  await fs.writeFile(files[0], hcl('j1', '2000'));
  await waitFor(() => source.current().jobs.get('j1')?.groups[0].tasks[0].config.args?.[0] === '2000', { what: 'the edit of j1', timeoutMs: 15_000 });
  await fs.mkdir(path.join(dir, 'c'));
  await fs.writeFile(path.join(dir, 'c', 'j4.hcl'), hcl('j4'));
  await waitFor(() => source.current().jobs.has('j4'), { what: 'j4 in a new dir', timeoutMs: 15_000 });
  assert.equal(loads.get(files[1]), 1, 'an edit elsewhere does not reload j2');

  const stopped = performance.now();
  await withDeadline(source.stop(), 5000, 'source stop');
  assert.ok(performance.now() - stopped < 5000);
});

test('jobs dir: a walk in flight stops at the abort signal', async (t) => {
  const dir = await tempDir(t);
  for (let i = 0; i < 50; i++) {
    await fs.mkdir(path.join(dir, `d${i}`));
    await fs.writeFile(path.join(dir, `d${i}`, 'x.hcl'), hcl(`x${i}`));
  }
  const ac = new AbortController();
  let seen = 0;
  const aborted = listJobFiles(dir, (name) => {
    if (++seen === 3) ac.abort(new Error('stop now'));
    return isJobFile(name);
  }, { signal: ac.signal });
  await assert.rejects(aborted, /stop now/);
  assert.ok(seen < 10, `the walk went on for ${seen} entries after the abort`);
});

test('jobs dir: a FIFO, a link to /dev/zero and a file over the size cap are skipped with an error naming them; neighbours load', { timeout: 60_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const dir = await tempDir(t);
  const fifo = path.join(dir, 'fifo.hcl');
  execFileSync('mkfifo', [fifo]);
  await fs.symlink('/dev/zero', path.join(dir, 'zero.hcl'));
  await fs.writeFile(path.join(dir, 'big.hcl'), '#'.repeat(MAX_JOB_FILE_BYTES) + '\n');
  await fs.writeFile(path.join(dir, 'web.hcl'), hcl('web'));
  await fs.writeFile(path.join(dir, 'api.hcl'), hcl('api'));
  const { source, loads } = await startCounting(t, dir);
  let set = source.current();
  assert.deepEqual([...set.jobs.keys()].sort(), ['api', 'web']);
  const msg = (name: string) => fileState(set, name)?.diagnostics.map((d) => `${path.basename(d.file)}: ${d.severity}: ${d.message}`);
  assert.deepEqual(msg('fifo.hcl'), ['fifo.hcl: error: skipped: expected a regular file, got a FIFO; not read']);
  assert.deepEqual(msg('zero.hcl'), ['zero.hcl: error: skipped: expected a regular file, got a character device; not read']);
  assert.deepEqual(msg('big.hcl'), [`big.hcl: error: file too big: expected at most ${MAX_JOB_FILE_BYTES} bytes (4 MiB), got ${MAX_JOB_FILE_BYTES + 1} bytes; not read`]);
  assert.deepEqual([...loads.keys()].map((f) => path.basename(f)).sort(), ['api.hcl', 'web.hcl'], 'only regular files reach the loader');
  // Nobody holds the FIFO open for reading: a non-blocking open for writing finds no reader.
  await assert.rejects(fs.open(fifo, constants.O_WRONLY | constants.O_NONBLOCK), { code: 'ENXIO' });

  // A good file replaced by a FIFO keeps its last good version in force, and says why.
  const tmp = path.join(dir, '.api.fifo');
  execFileSync('mkfifo', [tmp]);
  await fs.rename(tmp, path.join(dir, 'api.hcl'));
  set = await (async () => {
    await waitFor(() => fileState(source.current(), 'api.hcl')?.ok === false, { what: 'api.hcl to become a FIFO', timeoutMs: 15_000 });
    return source.current();
  })();
  assert.ok(set.jobs.has('api'), 'the last good api stays');
  assert.ok(fileState(set, 'api.hcl')?.lastGoodAt);
  assert.match(msg('api.hcl')![0], /got a FIFO/);

  // The loader as `tendctl validate` uses it: prompt, and the same words.
  const fromLoader = await withDeadline(loadFile(fifo), 5000, 'loadFile on a FIFO');
  assert.deepEqual(fromLoader.diagnostics.map((d) => d.message), ['skipped: expected a regular file, got a FIFO; not read']);
});

test('jobs dir: a real agent on a dir with link loops, a FIFO and a link to /dev/zero runs its good job, names the odd files, and honours SIGTERM', { timeout: 120_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await createHarness();
  t.after(() => h.cleanup());
  await loopTree(h.jobsDir);
  execFileSync('mkfifo', [path.join(h.jobsDir, 'fifo.hcl')]);
  await fs.symlink('/dev/zero', path.join(h.jobsDir, 'zero.hcl'));
  await h.writeJob('web.hcl', job('web'));
  await h.start();
  for (const id of ['web/g[0]/t', 'j1/g[0]/t', 'j2/g[0]/t', 'j3/g[0]/t'])
    await waitFor(() => Boolean(running(h, id)), { what: `${id} running`, timeoutMs: 30_000 }).catch((e) => assert.fail(`${e.message}\n${h.agentLog().slice(-3000)}`));

  const status = await h.tendctl(['status']);
  assert.match(status.stdout, /fifo\.hcl: error: skipped: expected a regular file, got a FIFO/, status.stdout);
  assert.match(status.stdout, /zero\.hcl: error: skipped: expected a regular file, got a character device/, status.stdout);
  const events = await h.tendctl(['events']);
  assert.match(events.stdout, /fifo\.hcl.*got a FIFO/, events.stdout);
  const log = h.agentLog();
  assert.match(log, /"level":40[^\n]*fifo\.hcl[^\n]*got a FIFO/, 'a warning in the agent log names the FIFO');
  assert.match(log, /"level":40[^\n]*links to dirs already walked/, 'the loop is logged');

  const rssKB = Number(/VmRSS:\s+(\d+)/.exec(await fs.readFile(`/proc/${h.agent!.pid}/status`, 'utf8'))?.[1]);
  assert.ok(rssKB < 600 * 1024, `agent RSS ${Math.round(rssKB / 1024)} MB`);

  const sent = Date.now();
  const code = await withDeadline(h.term(), 15_000, 'agent exit after SIGTERM');
  assert.equal(code, 0, h.agentLog().slice(-2000));
  assert.ok(Date.now() - sent < 15_000);
});
