/**
 * Plays the attacker against the job loader (issue 8 §1, issue 9 §9): a job
 * file whose names would make the root agent create directories outside its
 * data dir, or whose strings would make every start fail, is rejected at load
 * with the file, line, column and field path of the offending label or field,
 * in HCL, TOML and JSON alike, while a valid file beside it in the same load
 * still loads.
 *
 * Each hostile file is generated here with a marker at the offending token,
 * so the expected position is known from the construction, not from the
 * locator under test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { scanPaths } from '../../src/source/scan.js';
import { shown } from '../../src/jobspec/diagnostics.js';
import { formatDiagnostic } from '../../src/jobspec/format.js';
import { allocRoot, taskDirs } from '../../src/drivers/alloc-dir.js';
import type { LoadResult } from '../../src/jobspec/model.js';

type Format = 'hcl' | 'toml' | 'json';
const FORMATS: Format[] = ['hcl', 'toml', 'json'];

/** Where the hostile name goes: a block label, or an attribute of the job. */
type Field = 'job' | 'id' | 'namespace' | 'group' | 'task' | 'lone task' | 'volume';
const FIELDS: Field[] = ['job', 'id', 'namespace', 'group', 'task', 'lone task', 'volume'];

/** Hostile names and what the error must say. */
const HOSTILE: { what: string; name: string; message: RegExp; only?: Field[]; formats?: Format[] }[] = [
  { what: 'traversal', name: '../../../../etc', message: /without "\/" or "\\"/ },
  { what: 'slash', name: 'a/b', message: /without "\/" or "\\"/ },
  { what: 'backslash', name: 'a\\b', message: /without "\/" or "\\"/ },
  { what: 'dot-dot', name: '..', message: /other than "\." or "\.\."/ },
  { what: 'dot', name: '.', message: /other than "\." or "\.\."/ },
  { what: 'NUL', name: 'a\0b', message: /without control characters, got "a\\u\{0000\}b"/ },
  { what: 'newline', name: 'a\nb', message: /without control characters, got "a\\u\{000a\}b"/ },
  { what: 'escape sequence', name: 'a\x1b[2Jb', message: /without control characters/ },
  { what: 'DEL', name: 'a\x7fb', message: /without control characters/ },
  { what: 'C1 CSI', name: 'a\x9bb', message: /without control characters/ },
  { what: 'bidi override', name: 'a\u202eb', message: /without control characters/ },
  { what: 'line separator', name: 'a\u2028b', message: /without control characters/ },
  { what: '10 kB', name: 'x'.repeat(10_240), message: /of at most 128 bytes, got 10240 bytes/ },
  { what: '129 bytes', name: 'é'.repeat(64) + 'x', message: /of at most 128 bytes, got 129 bytes/ },
  { what: 'empty', name: '', message: /non-empty/ },
  // JSON alone can spell a lone surrogate; TOML and HCL refuse \uD800 as a syntax error.
  { what: 'lone surrogate', name: 'a\ud800b', message: /without control characters/, formats: ['json'] },
  { what: 'space in a job id', name: 'a b', message: /job id without spaces/, only: ['job', 'id'] },
  { what: 'the shared alloc dir', name: 'alloc', message: /task name other than "alloc" \(the group's shared dir\)/, only: ['task', 'lone task'] },
];

/** Names that look odd but stay one path segment: they load. */
const ALLOWED = ['a\u2215b', 'a\uff0fb', 'a b', '.hidden', '..a', 'a..b', 'x'.repeat(128), 'é'.repeat(64), 'web-1_v2.0', '日本'];

type Part = string | { mark: string };

/** Text of the parts, and the offset where the marked part starts. */
function assemble(parts: Part[]): { text: string; at: number } {
  let text = '';
  let at = -1;
  for (const p of parts) {
    if (typeof p === 'string') text += p;
    else {
      at = text.length;
      text += p.mark;
    }
  }
  return { text, at };
}

const hex = (c: string) => c.codePointAt(0)!.toString(16).padStart(4, '0');

/** An HCL quoted string: escapes for quote, backslash and control characters; `${` / `%{` doubled. */
function hclQuote(s: string): string {
  const body = [...s]
    .map((c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : /\p{Cc}/u.test(c) ? `\\u${hex(c)}` : c))
    .join('')
    .replace(/([$%])\{/g, (_m, sigil: string) => `${sigil}${sigil}{`);
  return `"${body}"`;
}

/** A TOML basic string. */
function tomlQuote(s: string): string {
  return `"${[...s].map((c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : /\p{Cc}/u.test(c) ? `\\u${hex(c)}` : c)).join('')}"`;
}

/** A job file with `name` in `field` (or all names ordinary when field is undefined). */
function jobFile(format: Format, field: Field | undefined, name: string, jobId = 'web'): { text: string; at: number } {
  const label = (f: Field, ordinary: string, quote: (s: string) => string): Part => (field === f ? { mark: quote(name) } : quote(ordinary));
  if (format === 'hcl') {
    const L = (f: Field, ordinary: string) => label(f, ordinary, hclQuote);
    const attr = (f: Field): Part[] => (field === f ? ['  ', { mark: f }, ` = ${hclQuote(name)}\n`] : []);
    const taskBody = '{\n      driver = "raw_exec"\n      config { command = "/bin/true" }\n    }\n';
    return assemble([
      'job ', L('job', jobId), ' {\n',
      ...attr('id'), ...attr('namespace'),
      ...(field === 'lone task'
        ? ['  task ', L('lone task', 't'), ` ${taskBody}`]
        : ['  group ', L('group', 'g'), ' {\n    volume ', L('volume', 'data'), ' {\n      type   = "host"\n      source = "data"\n    }\n    task ', L('task', 't'), ` ${taskBody}  }\n`]),
      '}\n',
    ]);
  }
  if (format === 'toml') {
    // A header names every label again; the first one written is the one marked.
    const plain = (s: string) => (/^[A-Za-z0-9_-]+$/.test(s) ? s : tomlQuote(s));
    const job = field === 'job' ? tomlQuote(name) : plain(jobId);
    const group = field === 'group' ? tomlQuote(name) : 'g';
    const head: Part[] = field === 'job' ? ['[job.', { mark: job }, ']\n'] : [`[job.${job}]\n`];
    const attr = (f: Field): Part[] => (field === f ? [{ mark: f }, ` = ${tomlQuote(name)}\n`] : []);
    const task = '\ndriver = "raw_exec"\nconfig = { command = "/bin/true" }\n';
    if (field === 'lone task') return assemble([...head, '[job.', job, '.task.', { mark: tomlQuote(name) }, `]${task}`]);
    return assemble([
      ...head, ...attr('id'), ...attr('namespace'),
      `[job.${job}.group.`, field === 'group' ? { mark: group } : group, '.volume.', label('volume', 'data', plain), ']\ntype = "host"\nsource = "data"\n',
      `[job.${job}.group.${group}.task.`, label('task', 't', plain), `]${task}`,
    ]);
  }
  const J = JSON.stringify;
  const L = (f: Field, ordinary: string) => label(f, ordinary, J);
  const attr = (f: Field): Part[] => (field === f ? ['      ', { mark: J(f) }, `: ${J(name)},\n`] : []);
  const task = ': { "driver": "raw_exec", "config": { "command": "/bin/true" } }';
  return assemble([
    '{\n  "job": {\n    ', L('job', jobId), ': {\n',
    ...attr('id'), ...attr('namespace'),
    ...(field === 'lone task'
      ? ['      "task": { ', L('lone task', 't'), `${task} }\n`]
      : ['      "group": {\n        ', L('group', 'g'), ': {\n          "volume": { ', L('volume', 'data'), ': { "type": "host", "source": "data" } },\n          "task": { ', L('task', 't'), `${task} }\n        }\n      }\n`]),
    '    }\n  }\n}\n',
  ]);
}

/** The field path the error must carry. */
function expectedPath(field: Field, name: string): string {
  const n = shown(name);
  switch (field) {
    case 'job':
      return `job ${n}`;
    case 'id':
    case 'namespace':
      return `job "web" › ${field}`;
    case 'group':
      return `job "web" › group ${n}`;
    case 'task':
      return `job "web" › group "g" › task ${n}`;
    case 'lone task':
      return `job "web" › task ${n}`;
    case 'volume':
      return `job "web" › group "g" › volume ${n}`;
  }
}

function lineCol(text: string, at: number): [number, number] {
  const before = text.slice(0, at);
  return [before.split('\n').length, at - before.lastIndexOf('\n')];
}

const show = (r: LoadResult) => r.diagnostics.map((d) => formatDiagnostic(d)).join('\n');

/** Writes the hostile file and a valid neighbour into a fresh dir and loads the dir, as the agent does. */
async function loadBeside(format: Format, text: string): Promise<{ hostile: LoadResult; neighbour: LoadResult; file: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tend-names-'));
  try {
    const file = path.join(dir, `hostile.${format}`);
    await writeFile(file, text);
    await writeFile(path.join(dir, `neighbour.${format}`), jobFile(format, undefined, '', 'neighbour').text);
    const { set } = await scanPaths([dir]);
    const results: LoadResult[] = set.files.map((f) => ({ file: f.path, ok: f.ok, jobs: f.jobs, diagnostics: f.diagnostics, excluded: f.excluded }));
    assert.equal(results.length, 2);
    return { hostile: results.find((r) => r.file === file)!, neighbour: results.find((r) => r.file !== file)!, file };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

for (const format of FORMATS) {
  test(`security names (${format}): the generated files are valid with ordinary names`, async () => {
    for (const field of FIELDS) {
      const { text } = jobFile(format, field, field === 'volume' ? 'data' : 'ok');
      const { hostile } = await loadBeside(format, text);
      assert.ok(hostile.ok, `${field}:\n${text}\n${show(hostile)}`);
    }
  });

  for (const h of HOSTILE) {
    if (h.formats && !h.formats.includes(format)) continue;
    test(`security names (${format}): ${h.what} is refused in every name field, at the label, beside a file that still loads`, async () => {
      for (const field of h.only ?? FIELDS) {
        const { text, at } = jobFile(format, field, h.name);
        assert.ok(at >= 0);
        const { hostile, neighbour, file } = await loadBeside(format, text);
        const errors = hostile.diagnostics.filter((d) => d.severity === 'error');
        const ctx = `${field}: ${show(hostile)}`;
        assert.equal(hostile.ok, false, ctx);
        assert.deepEqual(hostile.jobs, [], ctx);
        assert.equal(errors.length, 1, ctx);
        const [line, column] = lineCol(text, at);
        assert.deepEqual([errors[0].file, errors[0].line, errors[0].column, errors[0].path, errors[0].kind], [file, line, column, expectedPath(field, h.name), 'schema'], ctx);
        assert.match(errors[0].message, h.message, ctx);
        assert.match(errors[0].message, /^expected .+, got /, ctx);
        // The message and path are safe to print: no raw control or bidi character.
        assert.doesNotMatch(formatDiagnostic(errors[0]), /[\p{Cc}\u202e\u2028\ud800](?<!\n)/u, ctx);
        assert.ok(formatDiagnostic(errors[0]).length < 600, `a ${h.name.length}-char name makes a short message`);
        assert.ok(neighbour.ok, show(neighbour));
        assert.deepEqual(neighbour.jobs.map((j) => j.id), ['neighbour']);
      }
    });
  }

  test(`security names (${format}): look-alike slashes and other odd but single-segment names load, and the task dir stays inside the allocation`, async () => {
    for (const name of ALLOWED) {
      for (const field of ['group', 'task', 'volume'] as Field[]) {
        const { text } = jobFile(format, field, name);
        const { hostile: r } = await loadBeside(format, text);
        assert.ok(r.ok, `${field} ${JSON.stringify(name)}: ${show(r)}`);
        const task = r.jobs[0].groups[0].tasks[0];
        const root = allocRoot('/var/lib/tend', 'a-1');
        const dirs = taskDirs('/var/lib/tend', 'a-1', task.name);
        assert.equal(path.dirname(dirs.taskDir), root);
        assert.notEqual(dirs.taskDir, dirs.allocDir);
      }
    }
  });
}

/** Strings that reach execve: a NUL makes every start fail, so the load refuses them (issue 9 §9). */
const EXEC_CASES: { what: string; hcl: Part[]; toml: Part[]; json: Part[]; path: string; message: RegExp }[] = [
  {
    what: 'NUL in an env value',
    hcl: ['      env {\n        ', { mark: 'GREETING' }, ' = "hi\\u0000there"\n      }\n'],
    toml: ['[job.web.group.g.task.t.env]\n', { mark: 'GREETING' }, ' = "hi\\u0000there"\n'],
    json: [', "env": { ', { mark: '"GREETING"' }, ': "hi\\u0000there" }'],
    path: 'job "web" › group "g" › task "t" › env.GREETING',
    message: /^expected an env value without NUL bytes, got "hi\\u\{0000\}there"$/,
  },
  {
    what: 'NUL in an env key',
    hcl: ['      env = {\n        "A\\u0000B" = "x"\n      }\n'],
    toml: ['[job.web.group.g.task.t.env]\n', { mark: '"A\\u0000B"' }, ' = "x"\n'],
    json: [', "env": { ', { mark: '"A\\u0000B"' }, ': "x" }'],
    path: 'job "web" › group "g" › task "t" › env."A\\u{0000}B"',
    message: /^expected an environment variable name, not empty and without "=" or NUL bytes, got "A\\u\{0000\}B"$/,
  },
  {
    what: '"=" in an env key',
    hcl: ['      env = {\n        "A=B" = "x"\n      }\n'],
    toml: ['[job.web.group.g.task.t.env]\n', { mark: '"A=B"' }, ' = "x"\n'],
    json: [', "env": { ', { mark: '"A=B"' }, ': "x" }'],
    path: 'job "web" › group "g" › task "t" › env.A=B',
    message: /without "=" or NUL bytes, got "A=B"/,
  },
  {
    what: 'NUL in a meta value (it becomes NOMAD_META_*)',
    hcl: ['      meta {\n        ', { mark: 'port' }, ' = "80\\u000080"\n      }\n'],
    toml: ['[job.web.group.g.task.t.meta]\n', { mark: 'port' }, ' = "80\\u000080"\n'],
    json: [', "meta": { ', { mark: '"port"' }, ': "80\\u000080" }'],
    path: 'job "web" › group "g" › task "t" › meta.port',
    message: /^expected a meta value without NUL bytes/,
  },
  {
    what: 'NUL in user',
    hcl: ['      ', { mark: 'user' }, ' = "nobody\\u0000"\n'],
    toml: ['[job.web.group.g.task.t.x]\n'], // replaced below: user sits in the task table
    json: [', ', { mark: '"user"' }, ': "nobody\\u0000"'],
    path: 'job "web" › group "g" › task "t" › user',
    message: /^expected a user without NUL bytes/,
  },
];

/** A task with `extra` in its body; for TOML, `extra` is more tables after the task's own (or task keys with `inTask`). */
function execFile(format: Format, extra: Part[], opts: { command?: string; args?: string; inTask?: Part[] } = {}): { text: string; at: number } {
  const command = opts.command ?? '"/bin/true"';
  const args = opts.args ?? '[]';
  if (format === 'hcl') {
    return assemble(['job "web" {\n  group "g" {\n    task "t" {\n      driver = "raw_exec"\n      config {\n        ', ...(opts.command ? [{ mark: 'command' }] : ['command']), ` = ${command}\n        `, ...(opts.args ? [{ mark: 'args' }] : ['args']), ` = ${args}\n      }\n`, ...extra, '    }\n  }\n}\n']);
  }
  if (format === 'toml') {
    return assemble(['[job.web.group.g.task.t]\ndriver = "raw_exec"\n', ...(opts.inTask ?? []), '[job.web.group.g.task.t.config]\n', ...(opts.command ? [{ mark: 'command' }] : ['command']), ` = ${command}\n`, ...(opts.args ? [{ mark: 'args' }] : ['args']), ` = ${args}\n`, ...extra]);
  }
  return assemble(['{"job": {"web": {"group": {"g": {"task": {"t": {\n  "driver": "raw_exec",\n  "config": { ', ...(opts.command ? [{ mark: '"command"' }] : ['"command"']), `: ${command}, `, ...(opts.args ? [{ mark: '"args"' }] : ['"args"']), `: ${args} }`, ...extra, '\n}}}}}}}\n']);
}

async function expectExecError(format: Format, built: { text: string; at: number }, want: { path: string; message: RegExp }, exactPosition: boolean): Promise<void> {
  const { hostile, neighbour, file } = await loadBeside(format, built.text);
  const errors = hostile.diagnostics.filter((d) => d.severity === 'error');
  const ctx = `${built.text}\n${show(hostile)}`;
  assert.equal(hostile.ok, false, ctx);
  assert.equal(errors.length, 1, ctx);
  assert.equal(errors[0].file, file);
  assert.equal(errors[0].path, want.path, ctx);
  assert.match(errors[0].message, want.message, ctx);
  if (exactPosition) assert.deepEqual([errors[0].line, errors[0].column], lineCol(built.text, built.at), ctx);
  else assert.ok(errors[0].line > 0, ctx);
  assert.ok(neighbour.ok, show(neighbour));
}

for (const format of FORMATS) {
  for (const c of EXEC_CASES) {
    test(`security exec strings (${format}): ${c.what} is refused at load with file:line`, async () => {
      let built: { text: string; at: number };
      if (format === 'toml' && c.what === 'NUL in user') built = execFile(format, [], { inTask: [{ mark: 'user' }, ' = "nobody\\u0000"\n'] });
      else built = execFile(format, c[format]);
      // HCL object keys in `env = { … }` have no position of their own in the locator: the line is the task's.
      await expectExecError(format, built, c, built.at >= 0);
    });
  }

  test(`security exec strings (${format}): NUL in config command and args is refused at the field`, async () => {
    const nul = format === 'hcl' ? '"/bin/echo\\u0000x"' : '"/bin/echo\\u0000x"';
    await expectExecError(format, execFile(format, [], { command: nul }), { path: 'job "web" › group "g" › task "t" › config.command', message: /^expected a command without NUL bytes, got "\/bin\/echo\\u\{0000\}x"$/ }, true);
    await expectExecError(format, execFile(format, [], { args: '["ok", "b\\u0000ad"]' }), { path: 'job "web" › group "g" › task "t" › config.args', message: /^expected args without NUL bytes, got "b\\u\{0000\}ad"$/ }, true);
  });
}
