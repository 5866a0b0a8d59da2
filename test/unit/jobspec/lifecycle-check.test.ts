import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadText } from '../../../src/jobspec/load.js';
import { formatDiagnostic } from '../../../src/jobspec/format.js';

const t = (name: string, body = '') => `    task "${name}" {\n      driver = "raw_exec"\n${body}      config { command = "/bin/true" }\n    }\n`;
const job = (tasks: string) => `job "j" {\n  group "g" {\n${tasks}  }\n}\n`;
const lc = (hook: string, sidecar?: boolean) => `      lifecycle {\n        hook = "${hook}"\n${sidecar === undefined ? '' : `        sidecar = ${sidecar}\n`}      }\n`;

const shown = (r: Awaited<ReturnType<typeof loadText>>) => r.diagnostics.map((d) => formatDiagnostic(d)).join('\n');

test('lifecycle check: a group of init, sidecar, main, poststart and poststop loads clean', async () => {
  const r = await loadText('ok.hcl', job(t('init', lc('prestart')) + t('proxy', lc('prestart', true)) + t('web', '      leader = true\n') + t('warm', lc('poststart')) + t('cleanup', lc('poststop'))));
  assert.ok(r.ok, shown(r));
  // Every hook is acted on (poststop too: when the group ends, is removed or restarts).
  assert.deepEqual(r.diagnostics.map((d) => `${d.kind}: ${d.message}`), []);
  const tasks = new Map(r.jobs[0].groups[0].tasks.map((x) => [x.name, x]));
  assert.deepEqual(tasks.get('init')?.lifecycle, { hook: 'prestart', sidecar: false });
  assert.deepEqual(tasks.get('proxy')?.lifecycle, { hook: 'prestart', sidecar: true });
  assert.equal(tasks.get('web')?.lifecycle, undefined);
  assert.equal(tasks.get('web')?.leader, true);
  assert.deepEqual(tasks.get('cleanup')?.lifecycle, { hook: 'poststop', sidecar: false });
});

test('lifecycle check: a group with no main task is an error on the group', async () => {
  const r = await loadText('nomain.hcl', job(t('init', lc('prestart')) + t('cleanup', lc('poststop'))));
  assert.equal(r.ok, false);
  const d = r.diagnostics.find((x) => /main task/.test(x.message))!;
  assert.ok(d, shown(r));
  assert.equal(d.severity, 'error');
  assert.equal(d.path, 'job "j" › group "g"');
  assert.deepEqual([d.line, d.column], [2, 3]);
});

test('lifecycle check: a lone task under the job with a lifecycle hook has no main task', async () => {
  const r = await loadText('lone.hcl', `job "j" {\n  task "init" {\n    driver = "raw_exec"\n    lifecycle { hook = "prestart" }\n    config { command = "/bin/true" }\n  }\n}\n`);
  assert.equal(r.ok, false);
  const d = r.diagnostics.find((x) => /main task/.test(x.message))!;
  assert.equal(d.path, 'job "j" › task "init"');
});

test('lifecycle check: two leaders is an error on the second', async () => {
  const r = await loadText('leaders.hcl', job(t('a', '      leader = true\n') + t('b', '      leader = true\n')));
  assert.equal(r.ok, false);
  const errs = r.diagnostics.filter((x) => x.severity === 'error');
  assert.equal(errs.length, 1, shown(r));
  assert.equal(errs[0].message, 'expected at most one leader task per group, got "a" and "b"');
  assert.equal(errs[0].path, 'job "j" › group "g" › task "b" › leader');
  assert.deepEqual([errs[0].line, errs[0].column], [10, 7]);
});

test('lifecycle check: sidecar on poststop is a warning (Nomad ignores it)', async () => {
  const r = await loadText('post.hcl', job(t('web') + t('cleanup', lc('poststop', true))));
  assert.ok(r.ok, shown(r));
  const d = r.diagnostics.find((x) => x.path.endsWith('lifecycle.sidecar'))!;
  assert.equal(d.severity, 'warning');
  assert.equal(d.path, 'job "j" › group "g" › task "cleanup" › lifecycle.sidecar');
  assert.match(d.message, /no effect on a poststop task/);
  assert.equal(d.line, 11);
});

test('lifecycle check: hook is required, and must be a known hook', async () => {
  const missing = await loadText('nohook.hcl', job(t('web') + t('proxy', '      lifecycle { sidecar = true }\n')));
  assert.equal(missing.ok, false);
  const d = missing.diagnostics.find((x) => /hook/.test(x.message))!;
  assert.equal(d.message, 'missing required field "hook" in lifecycle: expected "prestart", "poststart" or "poststop"');
  assert.equal(d.path, 'job "j" › group "g" › task "proxy" › lifecycle');
  const bad = await loadText('badhook.hcl', job(t('web') + t('x', lc('prestop'))));
  assert.equal(bad.ok, false);
  assert.ok(bad.diagnostics.some((x) => x.path.endsWith('lifecycle.hook')), shown(bad));
});
