import { test } from 'node:test';
import assert from 'node:assert/strict';
import { envKeyProblem, execStringProblem, MAX_NAME_BYTES, nameProblem } from '../../../src/jobspec/names.js';
import { shown } from '../../../src/jobspec/diagnostics.js';
import { decodeHclString, SourceLocator } from '../../../src/jobspec/locate.js';
import { loadText } from '../../../src/jobspec/load.js';
import { formatDiagnostic } from '../../../src/jobspec/format.js';

const show = (r: { diagnostics: Parameters<typeof formatDiagnostic>[0][] }) => r.diagnostics.map((d) => formatDiagnostic(d)).join('\n');

test('names: the rule, kind by kind', () => {
  assert.equal(nameProblem('task name', 'server'), undefined);
  assert.equal(nameProblem('task name', '../../../../etc'), 'expected a task name without "/" or "\\", got "../../../../etc"');
  assert.equal(nameProblem('group name', 'a\\b'), 'expected a group name without "/" or "\\", got "a\\\\b"');
  assert.equal(nameProblem('volume name', '..'), 'expected a volume name other than "." or "..", got ".."');
  assert.equal(nameProblem('job id', ''), 'expected a non-empty job id, got ""');
  assert.equal(nameProblem('task name', 'a\0b'), 'expected a task name without control characters, got "a\\u{0000}b"');
  assert.equal(nameProblem('job id', 'a b'), 'expected a job id without spaces, got "a b"');
  assert.equal(nameProblem('job id', 'a\u00a0b'), 'expected a job id without spaces, got "a\u00a0b"');
  assert.equal(nameProblem('task name', 'a b'), undefined, 'Nomad allows spaces in task names');
  assert.equal(nameProblem('task name', 'alloc'), 'expected a task name other than "alloc" (the group\'s shared dir), got "alloc"');
  assert.equal(nameProblem('group name', 'alloc'), undefined, 'a group name never becomes a dir');
  assert.equal(nameProblem('namespace', 'a/b'), 'expected a namespace without "/" or "\\", got "a/b"');
});

test('names: at most 128 bytes of UTF-8, not characters', () => {
  assert.equal(MAX_NAME_BYTES, 128);
  assert.equal(nameProblem('task name', 'x'.repeat(128)), undefined);
  assert.equal(nameProblem('task name', 'é'.repeat(64)), undefined);
  assert.equal(nameProblem('task name', 'é'.repeat(64) + 'x'), 'expected a task name of at most 128 bytes, got 129 bytes');
  assert.equal(nameProblem('job name', 'x'.repeat(10_240)), 'expected a job name of at most 128 bytes, got 10240 bytes');
});

test('names: invisible and terminal-steering characters are refused, look-alike slashes are not', () => {
  for (const c of ['\n', '\t', '\x1b', '\x7f', '\x85', '\x9b', '\u2028', '\u2029', '\u202e', '\u2066', '\u200f', '\u061c', '\ud800', '\udfff']) {
    assert.match(nameProblem('task name', `a${c}b`) ?? '', /without control characters/, JSON.stringify(c));
  }
  for (const ok of ['a\u2215b', 'a\uff0fb', 'a\u29f8b', '😀', 'a\u200db']) assert.equal(nameProblem('task name', ok), undefined, ok);
});

test('names: a job name is display text: "/" is allowed (Nomad allows it), control characters are not', () => {
  assert.equal(nameProblem('job name', 'web/frontend'), undefined);
  assert.equal(nameProblem('job name', '..'), undefined);
  assert.match(nameProblem('job name', 'a\0') ?? '', /without control characters/);
  assert.match(nameProblem('job name', '') ?? '', /non-empty/);
});

test('names: strings for execve', () => {
  assert.equal(execStringProblem('a command', '/bin/echo'), undefined);
  assert.equal(execStringProblem('a command', '/bin/echo\0x'), 'expected a command without NUL bytes, got "/bin/echo\\u{0000}x"');
  assert.equal(envKeyProblem('PATH'), undefined);
  assert.equal(envKeyProblem('weird.key-1'), undefined);
  for (const bad of ['', 'A=B', 'A\0']) assert.match(envKeyProblem(bad) ?? '', /^expected an environment variable name/);
});

test('shown: quotes, escapes what a terminal would act on, and cuts long values', () => {
  assert.equal(shown('web'), '"web"');
  assert.equal(shown('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(shown('\x1b[2J\u202e'), '"\\u{001b}[2J\\u{202e}"');
  assert.equal(shown('a\u2215b'), '"a\u2215b"');
  assert.equal(shown('x'.repeat(49)), `"${'x'.repeat(48)}…"`);
  assert.equal(shown('😀'.repeat(48)), `"${'😀'.repeat(48)}"`, 'cut by characters, never inside a surrogate pair');
});

test('locate: HCL string labels are compared by value, escapes decoded as hcl2json does', () => {
  assert.equal(decodeHclString('a\\\\b'), 'a\\b');
  assert.equal(decodeHclString('a\\u0000b\\n'), 'a\0b\n');
  assert.equal(decodeHclString('\\U0001F600'), '😀');
  assert.equal(decodeHclString('$${x} %%{y} $z'), '${x} %{y} $z');
  const src = 'job "j" {\n  task "one" {}\n  task   "caf\\u00e9" {}\n}\n';
  const loc = new SourceLocator(src, true);
  assert.deepEqual(loc.locate([{ type: 'job', labels: ['j'] }, { type: 'task', labels: ['café'] }]), { line: 3, column: 3 });
  assert.deepEqual(loc.locateLabel([{ type: 'job', labels: ['j'] }, { type: 'task', labels: ['café'] }]), { line: 3, column: 10 });
});

test('locate: TOML and JSON keys are found by their decoded value', () => {
  const toml = '[job.web]\n[job.web.group."a\\u0000b".task.t]\ndriver = "raw_exec"\n';
  assert.deepEqual(new SourceLocator(toml, false).locateLabel([{ type: 'job', labels: ['web'] }, { type: 'group', labels: ['a\0b'] }]), { line: 2, column: 16 });
  const literal = "[job.web.group.'a\\b']\n";
  assert.deepEqual(new SourceLocator(literal, false).locateLabel([{ type: 'job', labels: ['web'] }, { type: 'group', labels: ['a\\b'] }]), { line: 1, column: 16 });
  const json = '{"job": {"web": {\n  "group": {"..\\/x": {}}}}}';
  assert.deepEqual(new SourceLocator(json, false).locateLabel([{ type: 'job', labels: ['web'] }, { type: 'group', labels: ['../x'] }]), { line: 2, column: 13 });
  // A value equal to the name is not a key: the key after it is found.
  const value = '{"job": {"web": {"meta": {"k": "g"},\n "group": {"g": {}}}}}';
  assert.deepEqual(new SourceLocator(value, false).locateLabel([{ type: 'job', labels: ['web'] }, { type: 'group', labels: ['g'] }]), { line: 2, column: 12 });
});

test('load: an unknown field in a task whose label has an escape is placed in that task, not the first one', async () => {
  const src = 'job "j" {\n  group "g" {\n    task "one" {\n      driver = "raw_exec"\n      config { command = "/bin/true" }\n    }\n    task "caf\\u00e9" {\n      driver = "raw_exec"\n      config { command = "/bin/true" }\n      colour = 1\n    }\n  }\n}\n';
  const r = await loadText('e.hcl', src);
  const d = r.diagnostics.find((x) => x.message === 'unknown field "colour"');
  assert.ok(d, show(r));
  assert.deepEqual([d.line, d.column, d.path], [10, 7, 'job "j" › group "g" › task "café" › colour']);
});

test('load: a bad name is one error on the label; the job label and its id attribute are both names', async () => {
  const r = await loadText('n.hcl', 'job "web" {\n  id = "a/b"\n  group "g" {\n    task "t/../x" {\n      driver = "raw_exec"\n      config { command = "/bin/true" }\n    }\n  }\n}\n');
  assert.equal(r.ok, false);
  const errors = r.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.line, d.column, d.path, d.message]);
  assert.deepEqual(errors, [
    [2, 3, 'job "web" › id', 'expected a job id without "/" or "\\", got "a/b"'],
    [4, 10, 'job "web" › group "g" › task "t/../x"', 'expected a task name without "/" or "\\", got "t/../x"'],
  ]);
});

test('load: the implicit group of a task under the job is reported once, as the task', async () => {
  const r = await loadText('l.hcl', 'job "web" {\n  task ".." {\n    driver = "raw_exec"\n    config { command = "/bin/true" }\n  }\n}\n');
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  assert.equal(errors.length, 1, show(r));
  assert.deepEqual([errors[0].line, errors[0].column, errors[0].path], [2, 8, 'job "web" › task ".."']);
});

test('load: NUL in job and group meta is refused too (meta becomes NOMAD_META_* in the environment)', async () => {
  const r = await loadText('m.json', JSON.stringify({ job: { web: { meta: { a: 'x\0' }, group: { g: { meta: { ['k\0']: 'v' }, task: { t: { driver: 'raw_exec', config: { command: '/bin/true' } } } } } } } }, null, 2));
  const errors = r.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.path, d.message]);
  assert.deepEqual(errors, [
    ['job "web" › meta.a', 'expected a meta value without NUL bytes, got "x\\u{0000}"'],
    ['job "web" › group "g" › meta."k\\u{0000}"', 'expected a meta key without NUL bytes, got "k\\u{0000}"'],
  ]);
  assert.ok(r.diagnostics.every((d) => d.line > 0), show(r));
});
