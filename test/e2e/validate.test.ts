/** `tendctl validate` as a subprocess on temp files: positions, paths, hints, exit codes, JSON. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir, symlink, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJobSource } from '../../src/source/watcher.js';
import type { NodeInfo } from '../../src/jobspec/model.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tendctl = path.join(repoRoot, 'bin/tendctl.js');

function run(args: string[], cwd: string, command = 'validate'): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [tendctl, command, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const good = (name: string) => `job "${name}" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/echo"
        args    = ["\${NOMAD_TASK_NAME}"]
      }
    }
  }
}
`;

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tend-validate-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('tendctl validate: a typo prints file:line:col, the field path and a hint, exit 1', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'web.hcl'), good('web').replace('      config {', '      resources {\n        memroy = 256\n      }\n      config {'));
  const r = await run(['web.hcl'], dir);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^web\.hcl:6:9: error: unknown field "memroy"$/m);
  assert.match(r.stdout, /at job "web" › group "g" › task "t" › resources\.memroy/);
  assert.match(r.stdout, /hint: did you mean "memory"\?/);
  assert.match(r.stdout, /1 file: 0 valid, 1 invalid \(1 error, 0 warnings\)/);
});

test('tendctl validate: a valid dir exits 0 with the summary; non-job files are skipped', async (t) => {
  const dir = await tempDir(t);
  await mkdir(path.join(dir, 'jobs'));
  await writeFile(path.join(dir, 'jobs', 'a.hcl'), good('a'));
  await writeFile(path.join(dir, 'jobs', 'b.nomad'), good('b').replace('group "g" {', 'group "g" {\n    network {\n      mode  = "host"\n      mbits = 10\n    }'));
  await writeFile(path.join(dir, 'jobs', 'c.toml'), '[job.c.group.g.task.t]\ndriver = "raw_exec"\nconfig = { command = "/bin/true" }\n');
  await writeFile(path.join(dir, 'jobs', '.hidden.hcl'), 'broken {');
  await writeFile(path.join(dir, 'jobs', 'a.hcl~'), 'broken {');
  await writeFile(path.join(dir, 'jobs', 'notes.txt'), 'broken {');
  const r = await run(['jobs'], dir);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /warning: "mbits" is deprecated in Nomad and tend does not limit bandwidth; ignored/);
  assert.match(r.stdout, /^3 files: 3 valid, 0 invalid \(0 errors, 1 warning\)$/m);
});

test('tendctl validate: --json parses and carries diagnostics; -var fills variables', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'v.hcl'), `variable "n" { type = number }\n${good('v').replace('group "g" {', 'group "g" {\n    count = var.n')}`);
  await writeFile(path.join(dir, 'bad.json'), '{"job": {"x": {"group": {"g": {"task": {"t": {"driver": "rawexec"}}}}}}}');
  const r = await run(['--json', 'v.hcl', 'bad.json'], dir);
  assert.equal(r.code, 1);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.summary.files, 2);
  assert.equal(doc.summary.invalid, 2);
  const v = doc.files.find((f: { file: string }) => f.file === 'v.hcl');
  assert.ok(v.diagnostics.some((d: { message: string; line: number }) => d.message === 'variable "n" has no value' && d.line === 1));
  const bad = doc.files.find((f: { file: string }) => f.file === 'bad.json');
  assert.ok(bad.diagnostics.some((d: { kind: string; hint?: string }) => d.kind === 'unsupported' && d.hint === 'did you mean "raw_exec"?'));

  const ok = await run(['-var', 'n=3', 'v.hcl'], dir);
  assert.equal(ok.code, 0, ok.stdout);
  const typed = await run(['-var', 'n=three', 'v.hcl'], dir);
  assert.equal(typed.code, 1);
  assert.match(typed.stdout, /expected a number for variable "n", got "three"/);
});

test('tendctl validate: usage errors exit 2', async (t) => {
  const dir = await tempDir(t);
  assert.equal((await run([], dir)).code, 2);
  assert.equal((await run(['-var', 'novalue', 'x.hcl'], dir)).code, 2);
});

test('tendctl validate: unsupported fields warn with what happens; -strict makes them errors and says so', async (t) => {
  const dir = await tempDir(t);
  const job = good('u').replace('      config {', `      template {
        data        = "port = {{ key \\"app/port\\" }}"
        destination = "local/app.conf"
      }
      artifact {
        source = "https://example.com/app.tgz"
      }
      lifecycle {
        hook = "prestart"
      }
      config {`).replace('  group "g" {', '  group "g" {\n    task "main" {\n      driver = "raw_exec"\n      config { command = "/bin/true" }\n    }');
  await writeFile(path.join(dir, 'u.hcl'), job);
  const r = await run(['u.hcl'], dir);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^u\.hcl:10:\d+: warning: template: function "key" is not supported: it reads Consul.*; the task will not start$/m);
  assert.match(r.stdout, /^1 file: 1 valid, 0 invalid \(0 errors, 1 warning\)$/m);

  for (const flag of ['-strict', '--strict']) {
    const s = await run([flag, 'u.hcl'], dir);
    assert.equal(s.code, 1, s.stdout);
    assert.match(s.stdout, /^u\.hcl:10:\d+: error: template: function "key" is not supported/m);
    assert.match(s.stdout, /^1 file: 0 valid, 1 invalid \(1 error, 0 warnings\); -strict: 1 unsupported field counted as an error$/m);
  }
  const j = JSON.parse((await run(['-strict', '-json', 'u.hcl'], dir)).stdout);
  assert.equal(j.valid, false);
  assert.deepEqual([j.summary.unsupported, j.summary.strict, j.summary.invalid], [1, true, 1]);

  // A file with nothing unsupported passes -strict.
  await writeFile(path.join(dir, 'plain.hcl'), good('plain'));
  const plain = await run(['-strict', 'plain.hcl'], dir);
  assert.equal(plain.code, 0, plain.stdout);
  assert.match(plain.stdout, /^1 file: 1 valid, 0 invalid \(0 errors, 0 warnings\); -strict: 0 unsupported fields counted as errors$/m);
});

const node: NodeInfo = { name: 'n', id: 'n-1', class: '', datacenter: 'dc1', attributes: { 'kernel.name': 'linux' }, meta: {} };

/**
 * A Git repository of jobs as a GitOps sync leaves it: nested dirs, hidden
 * dirs (.git, .github), links (a second path to a dir, a linked job file, a
 * dangling link), editor files, and files with job-file names that are not
 * jobs (renovate.json, package.json, an agent config, a variables file).
 */
async function repoTree(root: string): Promise<string> {
  const repo = path.join(root, 'repo');
  const files: Record<string, string> = {
    '.git/HEAD': 'ref: refs/heads/main\n',
    '.git/config.hcl': 'broken {', // hidden dir: never read
    '.github/workflows/ci.yml': 'on: push\njobs:\n  validate:\n    runs-on: ubuntu-latest\n',
    '.github/renovate.json': '{ not json',
    'renovate.json': '{"$schema": "https://docs.renovatebot.com/renovate-schema.json", "extends": ["config:recommended"]}\n',
    'package.json': '{"name": "jobs", "version": "1.0.0", "private": true}\n',
    'agent.hcl': await readFile(path.join(repoRoot, 'examples/agent.hcl'), 'utf8'),
    'README.md': '# jobs\n',
    'jobs/web.hcl': good('web'),
    'jobs/web.hcl~': 'broken {',
    'jobs/.draft.hcl': good('draft'),
    'jobs/api.json': JSON.stringify({ job: { api: { group: { g: { task: { t: { driver: 'raw_exec', config: { command: '/bin/true' } } } } } } } }),
    'jobs/batch/nightly.toml': '[job.nightly]\ntype = "batch"\n[job.nightly.group.g.task.t]\ndriver = "raw_exec"\nconfig = { command = "/bin/true" }\n',
    'jobs/batch/deep/more/report.nomad': good('report'),
    'jobs/.hidden/secret.hcl': good('secret'),
    'jobs/vars/prod.vars.hcl': 'region = "eu"\nreplicas = 3\n',
    'jobs/broken.hcl': 'jbo "x" {\n}\n',
  };
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(repo, rel)), { recursive: true });
    await writeFile(path.join(repo, rel), text);
  }
  await mkdir(path.join(root, 'outside'));
  await writeFile(path.join(root, 'outside', 'linked.hcl'), good('linked'));
  await symlink('../../outside/linked.hcl', path.join(repo, 'jobs/linked.hcl'));
  await symlink('jobs/batch', path.join(repo, 'shortcut')); // a second path to a dir: walked once
  await symlink('..', path.join(repo, 'jobs/batch/up')); // a loop
  await symlink('missing.hcl', path.join(repo, 'jobs/dangling.hcl'));
  return repo;
}

test('tendctl validate and plan read a Git repository of jobs exactly as the agent source does', async (t) => {
  const root = await tempDir(t);
  const repo = await repoTree(root);
  const want = ['api', 'linked', 'nightly', 'report', 'web'];
  const jobFiles = ['jobs/api.json', 'jobs/batch/deep/more/report.nomad', 'jobs/batch/nightly.toml', 'jobs/broken.hcl', 'jobs/linked.hcl', 'jobs/web.hcl'];
  const skipped = ['agent.hcl', 'jobs/vars/prod.vars.hcl', 'package.json', 'renovate.json'];

  const source = createJobSource({ dir: repo, node, debounceMs: 50, dirPollMs: 50 });
  t.after(() => source.stop());
  const set = await source.start();
  assert.deepEqual([...set.jobs.keys()].sort(), want);
  assert.deepEqual(set.files.map((f) => path.relative(repo, f.path)).sort(), jobFiles);
  assert.deepEqual(set.files.filter((f) => !f.ok).map((f) => path.relative(repo, f.path)), ['jobs/broken.hcl']);

  const v = await run(['-json', '.'], repo);
  assert.equal(v.code, 1, v.stdout + v.stderr); // jobs/broken.hcl
  const doc = JSON.parse(v.stdout);
  assert.deepEqual(doc.files.flatMap((f: { jobs: string[] }) => f.jobs).sort(), want);
  assert.deepEqual(doc.files.map((f: { file: string }) => f.file).sort(), jobFiles);
  assert.deepEqual(doc.skipped.map((s: { file: string }) => s.file).sort(), skipped);
  assert.match(doc.skipped.find((s: { file: string }) => s.file === 'agent.hcl').reason, /not a job file: no job block \(it looks like an agent config\)/);
  assert.deepEqual([doc.summary.files, doc.summary.invalid, doc.summary.skipped], [6, 1, 4]);
  const broken = doc.files.find((f: { file: string }) => f.file === 'jobs/broken.hcl');
  assert.equal(broken.diagnostics[0].hint, 'did you mean "job"?');

  const text = await run(['.'], repo);
  assert.match(text.stdout, /^renovate\.json: note: not a job file: no job block; skipped$/m);
  assert.match(text.stdout, /^6 files: 5 valid, 1 invalid \(1 error, 0 warnings\); 4 other files skipped \(not job files\)$/m);

  const p = await run(['-json', '-address', path.join(root, 'no-agent.sock'), '.'], repo, 'plan');
  assert.equal(p.code, 255, p.stdout + p.stderr); // every task a start, but jobs/broken.hcl does not load: an error, as nomad job plan
  const plan = JSON.parse(p.stdout);
  assert.deepEqual([...new Set(plan.actions.map((a: { job: string }) => a.job))].sort(), want);
  assert.deepEqual(plan.files.map((f: { path: string }) => path.relative(repo, f.path)).sort(), jobFiles);
});
