import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadFile, loadText } from '../../../src/jobspec/load.js';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'tend-accept-')));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

const task = (body: string, extra = '') =>
  `job "j" {\n  group "g" {\n${extra}    task "t" {\n      driver = "raw_exec"\n      config { command = "/bin/sh" }\n${body}\n    }\n  }\n}\n`;

test('file functions: file("conf/app.conf") reads relative to the job file\'s dir and is recorded', async (t) => {
  const dir = await tempDir(t);
  await fs.mkdir(path.join(dir, 'jobs/conf'), { recursive: true });
  await fs.writeFile(path.join(dir, 'jobs/conf/app.conf'), 'port = 80\n');
  await fs.writeFile(path.join(dir, 'jobs/conf/b.txt'), 'b');
  await fs.writeFile(path.join(dir, 'jobs/web.hcl'), task(`      env {\n        CONF = file("conf/app.conf")\n        HAS  = fileexists("conf/nope")\n        B64  = filebase64("conf/b.txt")\n        SET  = join(",", fileset("conf", "*.{conf,txt}"))\n        ABS  = abspath("conf")\n      }`));
  const r = await loadFile(path.join(dir, 'jobs/web.hcl'));
  assert.ok(r.ok, JSON.stringify(r.diagnostics));
  assert.deepEqual(r.jobs[0].groups[0].tasks[0].env, { CONF: 'port = 80\n', HAS: 'false', B64: 'Yg==', SET: 'app.conf,b.txt', ABS: path.join(dir, 'jobs/conf') });
  assert.deepEqual(
    r.reads!.map((x) => `${x.kind} ${path.relative(dir, x.path)} ${x.pattern ?? ''}`).sort(),
    ['exists jobs/conf/nope ', 'file jobs/conf/app.conf ', 'file jobs/conf/b.txt ', 'glob jobs/conf *.{conf,txt}'],
  );
});

test('file functions: a read outside the allowed dirs is refused at file:line with the config key as hint; readDirs allows it', async (t) => {
  const dir = await tempDir(t);
  await fs.mkdir(path.join(dir, 'jobs'));
  await fs.mkdir(path.join(dir, 'shared'));
  await fs.writeFile(path.join(dir, 'shared/secret'), 's3cret');
  await fs.symlink(path.join(dir, 'shared/secret'), path.join(dir, 'jobs/link'));
  const file = path.join(dir, 'jobs/web.hcl');
  await fs.writeFile(file, task(`      env {\n        A = file("../shared/secret")\n      }`));
  const r = await loadFile(file, { readDirs: [path.join(dir, 'jobs')] });
  assert.equal(r.ok, false);
  const d = r.diagnostics.find((x) => x.severity === 'error')!;
  assert.equal(d.line, 7);
  assert.match(d.message, /failed to call function "file": expected a path inside the jobs dir .*jobs, got "\.\.\/shared\/secret"/);
  assert.match(d.hint!, /client \{ job_file_dirs = \[\.\.\.\] \}/);
  // A link inside the jobs dir leads out: refused the same way (the real path is checked).
  await fs.writeFile(file, task(`      env {\n        A = file("link")\n      }`));
  assert.equal((await loadFile(file, { readDirs: [path.join(dir, 'jobs')] })).ok, false);
  const allowed = await loadFile(file, { readDirs: [path.join(dir, 'jobs'), path.join(dir, 'shared')] });
  assert.ok(allowed.ok, JSON.stringify(allowed.diagnostics));
  assert.equal(allowed.jobs[0].groups[0].tasks[0].env.A, 's3cret');
});

test('file functions: a FIFO is never opened, a missing file is an error naming it', async (t) => {
  const dir = await tempDir(t);
  execFileSync('mkfifo', [path.join(dir, 'fifo')]);
  const file = path.join(dir, 'j.hcl');
  await fs.writeFile(file, task(`      env {\n        A = file("fifo")\n      }`));
  const r = await loadFile(file);
  assert.match(r.diagnostics.find((x) => x.severity === 'error')!.message, /expected a regular file, got a FIFO; not read/);
  await fs.writeFile(file, task(`      env {\n        A = file("nope.conf")\n      }`));
  assert.match((await loadFile(file)).diagnostics[0].message, /no file exists at "nope.conf"/);
});

test('file functions: fileescaped keeps ${…} in the file as written', async (t) => {
  const dir = await tempDir(t);
  await fs.writeFile(path.join(dir, 'run.sh'), 'CONFIG=$(cat x)\nexec app --config=${CONFIG} $${KEEP} %{ x }\n');
  const file = path.join(dir, 'j.hcl');
  await fs.writeFile(file, task(`      env {\n        A = fileescaped("run.sh")\n      }`));
  const r = await loadFile(file);
  assert.ok(r.ok, JSON.stringify(r.diagnostics));
  assert.equal(r.jobs[0].groups[0].tasks[0].env.A, 'CONFIG=$(cat x)\nexec app --config=$${CONFIG} $${KEEP} %%{ x }\n');
});

test('unknown ${X}: heredoc shell scripts with ${HOME} and env names from templates stay literal, as Nomad\'s parser keeps them', async () => {
  const src = task(`      template {\n        destination = "local/run.sh"\n        data = <<EOT\n#!/bin/sh\necho "\${HOME} \${USER_NAME} \${NOMAD_ADDR} $1 \${var.v}"\nexec app --dir \${NOMAD_TASK_DIR}\nEOT\n      }\n      env {\n        URL = "\${NOMAD_ADDR}/v1"\n        X   = "\${UNKNOWN}"\n      }`).replace('job "j" {', 'variable "v" {\n  default = "x"\n}\njob "j" {');
  const r = await loadText('j.hcl', src);
  assert.ok(r.ok, JSON.stringify(r.diagnostics));
  const t = r.jobs[0].groups[0].tasks[0];
  assert.equal(t.templates[0].data, '#!/bin/sh\necho "${HOME} ${USER_NAME} ${NOMAD_ADDR} $1 x"\nexec app --dir ${NOMAD_TASK_DIR}\n');
  assert.deepEqual(t.env, { URL: '${NOMAD_ADDR}/v1', X: '${UNKNOWN}' });
  assert.ok(r.diagnostics.every((d) => d.severity === 'warning'));
});

test('unknown ${X}: ${1} is HCL\'s number 1 (as in Nomad), $${1} stays a shell parameter; a typo of var. warns with a hint', async () => {
  const r = await loadText('j.hcl', task(`      env {\n        A = "echo \${1} $\${1}"\n        B = "\${vars.region}"\n      }`));
  assert.ok(r.ok);
  assert.deepEqual(r.jobs[0].groups[0].tasks[0].env, { A: 'echo 1 ${1}', B: '${vars.region}' });
  const w = r.diagnostics.find((d) => /vars\.region/.test(d.message))!;
  assert.deepEqual([w.severity, w.line, w.hint], ['warning', 8, 'did you mean "var.region"?']);
});

test('labels: port labels with hyphens are valid (Nomad 1.x)', async () => {
  const r = await loadText('j.hcl', task('', '    network {\n      port "dns-tcp" { static = 53 }\n      port "http_alt" {}\n    }\n'));
  assert.ok(r.ok, JSON.stringify(r.diagnostics));
  const bad = await loadText('j.hcl', task('', '    network {\n      port "dns.tcp" {}\n    }\n'));
  assert.match(bad.diagnostics.find((d) => d.severity === 'error')!.message, /port label "dns\.tcp" does not match \^\[a-zA-Z0-9_-\]\+\$/);
});

test('scaling: task scaling "cpu" and "mem" blocks parse with an unsupported warning', async () => {
  const r = await loadText('j.hcl', task('      scaling "cpu" {\n        enabled = true\n        max     = 500\n        policy {\n          check "cpu" {}\n        }\n      }\n      scaling "mem" {\n        max = 1024\n      }'));
  assert.ok(r.ok, JSON.stringify(r.diagnostics));
  const warnings = r.diagnostics.filter((d) => d.kind === 'unsupported' && /scaling/.test(d.path + d.message));
  assert.equal(warnings.length, 1); // one warning for the task's "scaling" blocks
  assert.match(warnings[0].message, /needs the Nomad autoscaler; ignored/);
  const typo = await loadText('j.hcl', task('      scaling "cpu" {\n        maxx = 5\n      }'));
  assert.match(typo.diagnostics.find((d) => d.severity === 'error')!.hint!, /did you mean "max"/);
});

test('dynamic: blocks expand over lists and maps, with iterator, labels, nesting and outer iterators', async () => {
  const src = `locals {\n  files = { a = "1", b = "2" }\n  ports = ["http", "admin-api"]\n}\njob "j" {\n  group "g" {\n    network {\n      dynamic "port" {\n        for_each = local.ports\n        labels   = [port.value]\n        content {\n          to = 8000 + port.key\n        }\n      }\n    }\n    task "t" {\n      driver = "raw_exec"\n      config { command = "/bin/sh" }\n      dynamic "template" {\n        for_each = local.files\n        iterator = f\n        content {\n          data        = "\${f.key}=\${f.value} \${NOMAD_TASK_DIR}"\n          destination = "local/\${f.key}.conf"\n          dynamic "wait" {\n            for_each = [f.value]\n            content {\n              min = "\${wait.value}s"\n            }\n          }\n        }\n      }\n      template {\n        data        = "static"\n        destination = "local/static"\n      }\n    }\n  }\n}\n`;
  const r = await loadText('j.hcl', src);
  assert.ok(r.ok, JSON.stringify(r.diagnostics));
  const t = r.jobs[0].groups[0].tasks[0];
  assert.deepEqual(
    t.templates.map((x) => [x.destination, x.data, x.wait?.minMs]),
    [['local/static', 'static', undefined], ['local/a.conf', 'a=1 ${NOMAD_TASK_DIR}', 1000], ['local/b.conf', 'b=2 ${NOMAD_TASK_DIR}', 2000]],
  );
});

test('dynamic: errors point at the dynamic block (file:line:col)', async () => {
  const wrap = (inner: string) => `job "j" {\n  group "g" {\n    task "t" {\n      driver = "raw_exec"\n      config { command = "/bin/sh" }\n${inner}\n    }\n  }\n}\n`;
  const notList = await loadText('j.hcl', wrap('      dynamic "template" {\n        for_each = "${NOMAD_TASK_DIR}"\n        content {}\n      }'));
  const d1 = notList.diagnostics.find((d) => d.severity === 'error')!;
  assert.deepEqual([d1.line, d1.path], [7, 'job "j" › group "g" › task "t" › dynamic "template" › for_each']);
  assert.match(d1.message, /expected a list, set or map for "for_each" known when the file is loaded/);
  const badType = await loadText('j.hcl', wrap('      dynamic "templat" {\n        for_each = [1]\n        content {}\n      }'));
  const d2 = badType.diagnostics.find((d) => d.severity === 'error')!;
  assert.equal(d2.line, 6);
  assert.equal(d2.hint, 'did you mean "template"?');
  const inContent = await loadText('j.hcl', wrap('      dynamic "template" {\n        for_each = [1]\n        content {\n          destinaton = "x"\n        }\n      }'));
  const d3 = inContent.diagnostics.find((d) => d.severity === 'error')!;
  assert.deepEqual([d3.line, d3.column, d3.hint], [9, 11, 'did you mean "destination"?']);
  const labels = await loadText('j.hcl', wrap('      dynamic "artifact" {\n        for_each = [1]\n        labels = ["x"]\n        content {}\n      }'));
  assert.match(labels.diagnostics.find((d) => d.severity === 'error')!.message, /expected 0 labels for a "artifact" block, got 1/);
});

test('accept: a task env or meta given as a map expression (`env = local.env`), as Nomad\'s HCL2 parser allows', async () => {
  const r = await loadText(
    'envmap.hcl',
    `locals {\n  env = { A = "1", B = "two" }\n}\njob "x" {\n  group "g" {\n    task "t" {\n      driver = "raw_exec"\n      env    = local.env\n      meta   = { k = "v" }\n      config {\n        command = "/bin/true"\n      }\n    }\n  }\n}\n`,
  );
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(r.jobs[0].groups[0].tasks[0].env, { A: '1', B: 'two' });
  assert.deepEqual(r.jobs[0].groups[0].tasks[0].meta, { k: 'v' });
  const bad = await loadText('envlist.hcl', `job "x" {\n  group "g" {\n    task "t" {\n      driver = "raw_exec"\n      env    = "\${upper("a")}"\n      config {\n        command = "/bin/true"\n      }\n    }\n  }\n}\n`);
  assert.match(bad.diagnostics.map((d) => d.message).join('\n'), /expected a map, got "A"/);
});
