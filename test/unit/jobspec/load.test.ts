import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadText } from '../../../src/jobspec/load.js';
import { parseDuration } from '../../../src/jobspec/duration.js';
import { isJobFile } from '../../../src/jobspec/files.js';
import { constraintMet, versionMatches } from '../../../src/jobspec/constraints.js';
import { interpolateTask, runtimeEnv } from '../../../src/jobspec/interpolate.js';
import { formatDiagnostic } from '../../../src/jobspec/format.js';
import type { NodeInfo } from '../../../src/jobspec/model.js';

const node: NodeInfo = { name: 'edge-7', id: 'n-1', class: 'edge', datacenter: 'dc1', attributes: { 'kernel.name': 'linux', 'kernel.version': '6.1.0' }, meta: { rack: 'r1' } };

test('duration: parses Go durations and rejects others', () => {
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('30'), undefined);
  assert.equal(parseDuration('-1s'), undefined);
});

test('files: job files by extension, never hidden, swap or tmp files', () => {
  for (const ok of ['a.hcl', 'a.nomad', 'a.nomad.hcl', 'a.toml', 'a.json', 'dir/x.HCL']) assert.ok(isJobFile(ok), ok);
  for (const no of ['.a.hcl', 'a.hcl~', 'a.hcl.swp', 'a.hcl.tmp', 'a.tmp', 'a.txt', 'a.yaml']) assert.ok(!isJobFile(no), no);
});

test('load: defaults for a minimal job', async () => {
  const r = await loadText('m.hcl', 'job "m" {\n  group "g" {\n    task "t" {\n      driver = "raw_exec"\n      config { command = "/bin/true" }\n    }\n  }\n}\n');
  assert.ok(r.ok, r.diagnostics.map((d) => formatDiagnostic(d)).join('\n'));
  const [job] = r.jobs;
  const t = job.groups[0].tasks[0];
  assert.equal(job.type, 'service');
  assert.equal(job.groups[0].count, 1);
  assert.deepEqual(t.restart, { attempts: 2, intervalMs: 1_800_000, delayMs: 15_000, mode: 'fail' });
  assert.equal(t.killSignal, 'SIGINT');
  assert.equal(t.killTimeoutMs, 5000);
  assert.deepEqual(t.logs, { maxFiles: 10, maxFileSizeMB: 10, disabled: false });
  assert.deepEqual(t.resources, { cpu: 100, memoryMB: 300 });
  assert.deepEqual(t.pos, { file: 'm.hcl', line: 3, column: 5 });
});

test('load: batch restart defaults, TOML shape and durations', async () => {
  const r = await loadText('b.toml', '[job.b]\ntype = "batch"\n[job.b.group.g.task.t]\ndriver = "raw_exec"\nkill_timeout = "1m30s"\nconfig = { command = "/bin/echo", args = ["hi"] }\n');
  assert.ok(r.ok, JSON.stringify(r.diagnostics));
  const t = r.jobs[0].groups[0].tasks[0];
  assert.equal(t.restart.attempts, 3);
  assert.equal(t.restart.intervalMs, 24 * 3_600_000);
  assert.equal(t.killTimeoutMs, 90_000);
  assert.deepEqual(t.config.args, ['hi']);
});

test('load: every problem at once, with line, path and hint', async () => {
  const src = 'job "w" {\n  group "g" {\n    task "t" {\n      driver = "rawexec"\n      kill_timeout = "soon"\n      resources {\n        memroy = 1\n      }\n      network {}\n    }\n  }\n}\n';
  const r = await loadText('w.hcl', src);
  assert.equal(r.ok, false);
  assert.deepEqual(r.jobs, []);
  const by = (m: RegExp) => r.diagnostics.find((d) => m.test(d.message));
  const drv = by(/driver "rawexec"/)!;
  assert.equal(drv.kind, 'unsupported');
  assert.equal(drv.hint, 'did you mean "raw_exec"?');
  assert.equal(drv.line, 4);
  const dur = by(/duration/)!;
  assert.equal(dur.message, 'expected a duration like "30s", got "soon"');
  assert.equal(dur.line, 5);
  const typo = by(/memroy/)!;
  assert.deepEqual([typo.line, typo.column, typo.path, typo.hint], [7, 9, 'job "w" › group "g" › task "t" › resources.memroy', 'did you mean "memory"?']);
  assert.ok(r.diagnostics.some((d) => d.kind === 'schema' && d.message === 'unknown field "network"'));
});

test('load: Nomad int fields refuse fractions, with the rounded value as hint', async () => {
  const src = 'job "f" {\n  group "g" {\n    count = 2\n    task "t" {\n      driver = "raw_exec"\n      config { command = "/bin/true" }\n      logs {\n        max_file_size = 0.5\n      }\n    }\n  }\n}\n';
  const r = await loadText('f.hcl', src);
  assert.equal(r.ok, false);
  const d = r.diagnostics.find((x) => /whole number/.test(x.message))!;
  assert.deepEqual([d.kind, d.line, d.path, d.message, d.hint], ['schema', 8, 'job "f" › group "g" › task "t" › logs.max_file_size', 'expected a whole number, got 0.5', 'did you mean 1?']);
});

test('load: syntax errors carry the parser position (HCL, JSON, TOML)', async () => {
  const h = await loadText('s.hcl', 'job "a" {\n  x = \n}\n');
  assert.equal(h.diagnostics[0].kind, 'syntax');
  assert.equal(h.diagnostics[0].line, 2);
  const j = await loadText('s.json', '{\n  "job": ,\n}');
  assert.deepEqual([j.diagnostics[0].kind, j.diagnostics[0].line], ['syntax', 2]);
  const t = await loadText('s.toml', 'a = 1\nb = = 2\n');
  assert.deepEqual([t.diagnostics[0].kind, t.diagnostics[0].line], ['syntax', 2]);
});

test('load: unknown runtime references stay as written with a warning (as in Nomad); constraints exclude, not fail', async () => {
  const src = (arg: string, value: string) =>
    `job "c" {\n  constraint {\n    attribute = "\${attr.kernel.name}"\n    value = "${value}"\n  }\n  group "g" {\n    task "t" {\n      driver = "raw_exec"\n      config {\n        command = "/bin/echo"\n        args = ["${arg}"]\n      }\n    }\n  }\n}\n`;
  const bad = await loadText('c.hcl', src('${NOMAD_TASK_NAM}', 'linux'));
  assert.equal(bad.ok, true);
  assert.equal(bad.diagnostics[0].severity, 'warning');
  assert.equal(bad.diagnostics[0].hint, 'did you mean "${NOMAD_TASK_NAME}"?');
  assert.deepEqual(bad.jobs[0].groups[0].tasks[0].config.args, ['${NOMAD_TASK_NAM}']);
  const other = await loadText('c.hcl', src('${NOMAD_TASK_NAME}', 'windows'), { node });
  assert.ok(other.ok);
  assert.deepEqual(other.jobs, []);
  assert.match(other.excluded[0].reason, /attr\.kernel\.name\} = "windows"/);
});

test('constraints: operators against node attributes', () => {
  const c = (attribute: string, operator: string, value = '') => constraintMet({ attribute, operator: operator as never, value, pos: { file: '', line: 0, column: 0 } }, node);
  assert.ok(c('${attr.kernel.name}', '=', 'linux'));
  assert.ok(c('${node.class}', '!=', 'gpu'));
  assert.ok(c('${attr.kernel.version}', 'version', '>= 5.10, < 7'));
  assert.ok(!c('${attr.kernel.version}', 'semver', '< 6'));
  assert.ok(c('${meta.rack}', 'regexp', '^r[0-9]$'));
  assert.ok(c('${meta.missing}', 'is_not_set'));
  assert.ok(!c('${meta.missing}', '=', 'x'));
  assert.ok(c('a,b,c', 'set_contains', 'a,c'));
  assert.ok(c('a,b,c', 'set_contains_any', 'z,b'));
  assert.ok(versionMatches('3.2.5', '~> 3.2'));
  assert.ok(!versionMatches('4.0.0', '~> 3.2'));
});

test('interpolate: NOMAD_* env and references filled at launch', async () => {
  const r = await loadText('i.hcl', 'job "i" {\n  meta { team = "x" }\n  group "g" {\n    task "t" {\n      driver = "raw_exec"\n      config {\n        command = "/bin/echo"\n        args = ["${NOMAD_ALLOC_NAME}", "${node.unique.name}", "${meta.rack}", "${NOMAD_META_team}", "$${HOME}"]\n      }\n    }\n  }\n}\n');
  assert.ok(r.ok, JSON.stringify(r.diagnostics));
  const job = r.jobs[0];
  const ctx = { job, group: job.groups[0], task: job.groups[0].tasks[0], index: 2, allocId: 'abcdef12-3456', allocDir: '/a/alloc', taskDir: '/a/t', node, env: {} };
  const env = runtimeEnv(ctx);
  assert.equal(env.NOMAD_ALLOC_NAME, 'i.g[2]');
  assert.equal(env.NOMAD_SHORT_ALLOC_ID, 'abcdef12');
  assert.equal(env.NOMAD_TASK_DIR, '/a/t/local');
  assert.equal(env.NOMAD_META_team, 'x');
  assert.deepEqual(interpolateTask(ctx).config.args, ['i.g[2]', 'edge-7', 'r1', 'x', '${HOME}']);
});
