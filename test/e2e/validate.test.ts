/** `tendctl validate` as a subprocess on temp files: positions, paths, hints, exit codes, JSON. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tendctl = path.join(repoRoot, 'bin/tendctl.js');

function run(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [tendctl, 'validate', ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
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
  await writeFile(path.join(dir, 'jobs', 'b.nomad'), good('b').replace('group "g" {', 'group "g" {\n    network { mode = "host" }'));
  await writeFile(path.join(dir, 'jobs', 'c.toml'), '[job.c.group.g.task.t]\ndriver = "raw_exec"\nconfig = { command = "/bin/true" }\n');
  await writeFile(path.join(dir, 'jobs', '.hidden.hcl'), 'broken {');
  await writeFile(path.join(dir, 'jobs', 'a.hcl~'), 'broken {');
  await writeFile(path.join(dir, 'jobs', 'notes.txt'), 'broken {');
  const r = await run(['jobs'], dir);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /warning: "network" tasks share the host network/);
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
