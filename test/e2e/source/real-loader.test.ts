/**
 * The watcher with the real jobspec loader and the real job-file rule: HCL,
 * TOML and JSON files as an operator writes them, edits, broken edits,
 * clashes, and a git-sync style swap of the whole tree.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { createJobSource } from '../../../src/source/watcher.js';
import type { DesiredSet, JobSource } from '../../../src/source/source.js';
import type { NodeInfo } from '../../../src/jobspec/model.js';
import { waitFor } from '../../helpers/wait.js';

const node: NodeInfo = {
  name: 'edge-1',
  id: 'node-id-1',
  class: 'edge',
  datacenter: 'dc1',
  attributes: { 'kernel.name': 'linux', 'driver.raw_exec': '1' },
  meta: { rack: 'r1' },
};

const hclJob = (id: string, args: string[], extra = '') => `job "${id}" {
  type = "service"
${extra}
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ${JSON.stringify(args)}
      }
    }
  }
}
`;

async function tempDir(t: TestContext): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tend-source-e2e-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

async function start(t: TestContext, dir: string): Promise<JobSource> {
  const source = createJobSource({ dir, node, debounceMs: 50, dirPollMs: 50 });
  t.after(() => source.stop());
  await source.start();
  return source;
}

async function until(source: JobSource, fn: (s: DesiredSet) => boolean, what: string): Promise<DesiredSet> {
  await waitFor(() => fn(source.current()), { what, timeoutMs: 8000 });
  return source.current();
}

const argsOf = (set: DesiredSet, id: string): string[] | undefined => set.jobs.get(id)?.groups[0]?.tasks[0]?.config.args;

test('source with the real loader: HCL, TOML and JSON files load; other names are ignored', async (t) => {
  const dir = await tempDir(t);
  await fs.writeFile(path.join(dir, 'web.nomad.hcl'), hclJob('web', ['60']));
  await fs.writeFile(
    path.join(dir, 'batch.toml'),
    '[job.batch1]\ntype = "batch"\n[job.batch1.group.g.task.t]\ndriver = "raw_exec"\nconfig = { command = "/bin/echo", args = ["hi"] }\n',
  );
  await fs.writeFile(
    path.join(dir, 'api.json'),
    JSON.stringify({ job: { api: { group: { g: { task: { t: { driver: 'raw_exec', config: { command: '/bin/true' } } } } } } } }),
  );
  for (const ignored of ['.web.nomad.hcl.swp', 'web.nomad.hcl~', 'x.hcl.tmp', '.hidden.hcl', 'README.md', '4913'])
    await fs.writeFile(path.join(dir, ignored), 'not { valid');
  const source = await start(t, dir);
  const set = source.current();
  assert.deepEqual([...set.jobs.keys()].sort(), ['api', 'batch1', 'web']);
  assert.ok(set.files.every((f) => f.ok), JSON.stringify(set.files.map((f) => f.diagnostics)));
  assert.deepEqual(argsOf(set, 'web'), ['60']);
  assert.equal(set.jobs.get('batch1')?.type, 'batch');
});

test('source with the real loader: an edit converges; a broken edit keeps the last good job and names the line', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'web.hcl');
  await fs.writeFile(file, hclJob('web', ['60']));
  const source = await start(t, dir);
  const first = source.current().files[0].contentHash;

  await fs.writeFile(file, hclJob('web', ['120']));
  let set = await until(source, (s) => argsOf(s, 'web')?.[0] === '120', 'the new args');
  assert.notEqual(set.files[0].contentHash, first);

  await fs.writeFile(file, hclJob('web', ['180']).replace('driver = "raw_exec"', 'driver = "raw_exec"\n      memroy = 1'));
  set = await until(source, (s) => s.files[0]?.ok === false, 'the broken edit to show');
  assert.deepEqual(argsOf(set, 'web'), ['120'], 'the last good version stays in force');
  assert.ok(set.files[0].lastGoodAt);
  const err = set.files[0].diagnostics.find((d) => d.severity === 'error')!;
  assert.equal(err.file, file);
  assert.equal(err.line, 7);
});

test('source with the real loader: two files with one job id, first path wins', async (t) => {
  const dir = await tempDir(t);
  await fs.writeFile(path.join(dir, 'a.hcl'), hclJob('web', ['1']));
  await fs.writeFile(path.join(dir, 'b.hcl'), hclJob('web', ['2']));
  const source = await start(t, dir);
  const set = source.current();
  assert.deepEqual(argsOf(set, 'web'), ['1']);
  assert.deepEqual(set.conflicts, [{ job: 'web', winner: path.join(dir, 'a.hcl'), losers: [path.join(dir, 'b.hcl')] }]);
});

test('source with the real loader: a job whose constraint excludes the node is listed as excluded', async (t) => {
  const dir = await tempDir(t);
  const constraint = '  constraint {\n    attribute = "${meta.rack}"\n    value     = "r9"\n  }\n';
  await fs.writeFile(path.join(dir, 'elsewhere.hcl'), hclJob('elsewhere', ['1'], constraint));
  const source = await start(t, dir);
  const set = source.current();
  assert.equal(set.jobs.has('elsewhere'), false);
  assert.equal(set.files[0].ok, true);
  assert.deepEqual(set.files[0].excluded.map((e) => e.job), ['elsewhere']);
});

test('source with the real loader: a git-sync swap of 50 files converges to the new revision', async (t) => {
  const root = await tempDir(t);
  const revs = [path.join(root, '.git-sync', 'rev-a'), path.join(root, '.git-sync', 'rev-b')];
  for (const [r, rev] of revs.entries()) {
    await fs.mkdir(path.join(rev, 'team'), { recursive: true });
    for (let i = 0; i < 50; i++) await fs.writeFile(path.join(rev, 'team', `job-${i}.hcl`), hclJob(`job-${i}`, [`${r}`]));
  }
  const dir = path.join(root, 'jobs');
  await fs.symlink(revs[0], dir);
  const source = await start(t, dir);
  assert.equal(source.current().jobs.size, 50);
  const link = path.join(root, 'jobs.new');
  await fs.symlink(revs[1], link);
  await fs.rename(link, dir);
  await fs.rm(revs[0], { recursive: true }); // git-sync drops the old worktree
  const set = await until(source, (s) => [...s.jobs.keys()].every((id) => argsOf(s, id)?.[0] === '1') && s.jobs.size === 50, 'revision b');
  assert.ok(set.files.every((f) => f.path.startsWith(path.join(dir, 'team') + path.sep)));
});
