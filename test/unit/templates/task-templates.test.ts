/**
 * A task's templates over real dirs and a real variable store: first render (env, files,
 * variables, perms), waiting for a missing variable, re-render on a change with the change
 * modes combined, and the attacker's links (destination, source, `file`).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile, lstat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createVariableStore } from '../../../src/vars/index.js';
import { TaskTemplates, TemplateNotReady, type ServiceSource, type TemplateControl } from '../../../src/templates/task-templates.js';
import { ServiceCatalog } from '../../../src/services/catalog.js';
import { applyResult } from '../../../src/services/status.js';
import type { Template } from '../../../src/jobspec/model.js';
import { isTendError } from '../../../src/errors.js';
import { waitFor } from '../../helpers/wait.js';

const log = pino({ level: 'silent' });

function tpl(over: Partial<Template> & { destination: string }): Template {
  return {
    changeMode: 'restart',
    splayMs: 0,
    perms: '644',
    env: false,
    once: false,
    leftDelimiter: '{{',
    rightDelimiter: '}}',
    errorOnMissingKey: false,
    wait: { minMs: 20, maxMs: 200 },
    pos: { file: '/jobs/web.hcl', line: 10, column: 7 },
    ...over,
  };
}

async function fixture(t: TestContext) {
  const root = await mkdtemp(path.join(os.tmpdir(), 'tend-tpl-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const taskDir = path.join(root, 'alloc', 'web');
  const allocDir = path.join(root, 'alloc', 'alloc');
  for (const d of [path.join(taskDir, 'local'), path.join(taskDir, 'secrets'), allocDir, path.join(root, 'data'), path.join(root, 'host')]) await mkdir(d, { recursive: true });
  await writeFile(path.join(root, 'host', 'passwd'), 'root:x:0:0\n');
  const store = createVariableStore({ dataDir: path.join(root, 'data'), logger: log });
  await store.open();
  t.after(() => store.close());
  const calls: string[] = [];
  const control: TemplateControl = {
    restart: (r) => void calls.push(`restart ${r}`),
    signal: async (s) => void calls.push(`signal ${s}`),
    exec: async (cmd) => (calls.push(`exec ${cmd.join(' ')}`), { code: 0, output: '' }),
    kill: (r) => void calls.push(`kill ${r}`),
    wake: () => void calls.push('wake'),
  };
  const events: string[] = [];
  const make = (templates: Template[], env: Record<string, string> = {}, services?: ServiceSource) => {
    const tt = new TaskTemplates({
      file: '/jobs/web.hcl',
      templates,
      dirs: { taskDir, allocDir },
      env: { NOMAD_TASK_NAME: 'web', ...env },
      vars: store.forTask({ job: 'web', group: 'g', task: 'web' }),
      ...(services ? { services } : {}),
      fileDirs: [],
      emit: (_type, message) => void events.push(message),
      control,
      logger: log,
      random: () => 0,
    });
    t.after(() => tt.close());
    return tt;
  };
  return { root, taskDir, allocDir, store, calls, events, make };
}

test('templates: first render writes each file with its perms and returns the env of env = true templates', async (t) => {
  const f = await fixture(t);
  await f.store.put('nomad/jobs/web', { user: 'app', password: 's3cret' });
  const tt = f.make([
    tpl({ destination: 'local/app.conf', data: 'name={{ env "NOMAD_TASK_NAME" }}\n{{ with nomadVar "nomad/jobs/web" }}user={{ .user }}{{ end }}\n' }),
    tpl({ destination: 'secrets/app.env', data: '{{ with nomadVar "nomad/jobs/web" }}DB_PASSWORD={{ .password }}{{ end }}\nMODE="prod"\n', env: true, perms: '0600' }),
    tpl({ destination: '../alloc/shared.txt', data: 'shared\n' }),
  ]);
  const env = await tt.renderAll();
  assert.deepEqual(env, { DB_PASSWORD: 's3cret', MODE: 'prod' });
  assert.equal(await readFile(path.join(f.taskDir, 'local/app.conf'), 'utf8'), 'name=web\nuser=app\n');
  assert.equal((await stat(path.join(f.taskDir, 'secrets/app.env'))).mode & 0o777, 0o600);
  assert.equal(await readFile(path.join(f.allocDir, 'shared.txt'), 'utf8'), 'shared\n');
  assert.ok(f.events.some((e) => e === 'Rendered 3 templates'), f.events.join('\n'));
});

test('templates: a missing variable makes the task wait (not fail), and its arrival wakes it', async (t) => {
  const f = await fixture(t);
  const tt = f.make([tpl({ destination: 'local/app.conf', data: '{{ with nomadVar "nomad/jobs/web/g" }}{{ .k }}{{ end }}' })]);
  await assert.rejects(tt.renderAll(), (err: unknown) => err instanceof TemplateNotReady && /Missing: nomad\.var\.block\(nomad\/jobs\/web\/g\) \(template\[0\] local\/app\.conf\)/.test((err as Error).message));
  assert.equal(await stat(path.join(f.taskDir, 'local/app.conf')).catch(() => undefined), undefined, 'nothing written while an input is missing');
  await f.store.put('nomad/jobs/web/g', { k: 'v' });
  await waitFor(() => f.calls.includes('wake'), { what: 'the task woken' });
  await tt.renderAll();
  assert.equal(await readFile(path.join(f.taskDir, 'local/app.conf'), 'utf8'), 'v');
});

test('templates: a variable change re-renders after wait and applies the change modes combined (one restart for all)', async (t) => {
  const f = await fixture(t);
  await f.store.put('nomad/jobs/web', { v: '1' });
  const data = '{{ with nomadVar "nomad/jobs/web" }}{{ .v }}{{ end }}';
  const tt = f.make([
    tpl({ destination: 'local/a', data }),
    tpl({ destination: 'local/b', data }),
    tpl({ destination: 'local/c', data, changeMode: 'signal', changeSignal: 'SIGHUP' }),
    tpl({ destination: 'local/d', data: 'static' }),
  ]);
  await tt.renderAll();
  await f.store.put('nomad/jobs/web', { v: '2' });
  await waitFor(() => f.calls.length > 0, { what: 'the change action' });
  // all three re-render in one batch: one restart, which covers the signal too
  assert.deepEqual(f.calls, ['restart template with change_mode restart re-rendered']);
  for (const x of ['a', 'b', 'c']) assert.equal(await readFile(path.join(f.taskDir, 'local', x), 'utf8'), '2');
  assert.ok(f.events.includes('template[0] local/a re-rendered') && f.events.includes('template[2] local/c re-rendered'), f.events.join('\n'));
  assert.ok(!f.events.includes('template[3] local/d re-rendered'), 'a template that reads nothing that changed is left alone');
});

test('templates: signal, script and noop change modes; an unchanged render does nothing', async (t) => {
  const f = await fixture(t);
  await f.store.put('nomad/jobs/web', { v: '1' });
  const data = '{{ with nomadVar "nomad/jobs/web" }}{{ .v }}{{ end }}';
  const tt = f.make([
    tpl({ destination: 'local/s', data, changeMode: 'signal', changeSignal: 'SIGUSR1' }),
    tpl({ destination: 'local/x', data, changeMode: 'script', changeScript: { command: '/bin/reload', args: ['-q'], timeoutMs: 1000, failOnError: true } }),
    tpl({ destination: 'local/n', data, changeMode: 'noop' }),
  ]);
  await tt.renderAll();
  await f.store.put('nomad/jobs/web', { v: '1' });
  await f.store.put('nomad/jobs/web', { v: '2' });
  await waitFor(() => f.calls.includes('signal SIGUSR1') && f.calls.includes('exec /bin/reload -q'), { what: 'the signal and the script' });
  assert.deepEqual(f.calls.sort(), ['exec /bin/reload -q', 'signal SIGUSR1']);
  assert.equal(await readFile(path.join(f.taskDir, 'local/n'), 'utf8'), '2', 'noop re-renders the file, nothing else');
});

test('templates: nomadService reads the local catalog (passing instances) and re-renders when an instance registers, passes or goes', async (t) => {
  const f = await fixture(t);
  const catalog = new ServiceCatalog();
  const reg = (id: string, port: number) => ({
    id,
    name: 'db',
    namespace: 'default',
    job: 'db',
    group: 'g',
    index: 0,
    allocId: `alloc-${id}`,
    tags: ['primary'],
    meta: {},
    address: '127.0.0.1',
    port,
    checks: [{ id: `${id}#0`, name: 'tcp', type: 'tcp' as const, intervalMs: 1000, timeoutMs: 1000, successBeforePassing: 0, failuresBeforeCritical: 0, onUpdate: 'require_healthy' as const }],
    file: '/jobs/db.hcl',
  });
  const pass = (checkId: string) => catalog.setCheck(checkId, applyResult(catalog.check(checkId)!, { status: 'passing', output: '' }, Date.now()));
  const tt = f.make(
    [tpl({ destination: 'local/db.env', data: '{{ range nomadService "db" }}DB={{ .Address }}:{{ .Port }}\n{{ end }}{{ range nomadServices }}{{ .Name }} {{ end }}', changeMode: 'signal', changeSignal: 'SIGHUP' })],
    {},
    { catalog: catalog.forTemplates('default'), watch: (n, cb) => catalog.watch(n, cb) },
  );
  await tt.renderAll();
  assert.equal(await readFile(path.join(f.taskDir, 'local/db.env'), 'utf8'), '', 'no instance yet: an empty list, not a wait');
  catalog.register(reg('a', 5432));
  pass('a#0');
  await waitFor(async () => (await readFile(path.join(f.taskDir, 'local/db.env'), 'utf8')) === 'DB=127.0.0.1:5432\ndb ', { what: 'the instance rendered once it passes' });
  await waitFor(() => f.calls.includes('signal SIGHUP'), { what: 'the change mode' });
  catalog.register(reg('b', 5433));
  pass('b#0');
  await waitFor(async () => (await readFile(path.join(f.taskDir, 'local/db.env'), 'utf8')).split('\n').length === 3, { what: 'a second instance' });
  catalog.deregister('a');
  await waitFor(async () => (await readFile(path.join(f.taskDir, 'local/db.env'), 'utf8')) === 'DB=127.0.0.1:5433\ndb ', { what: 'the first instance gone' });
});

test('templates (attacker): links planted at the destination, its dir, a source or a file() path are never followed', async (t) => {
  const f = await fixture(t);
  const host = path.join(f.root, 'host');
  // the destination file is a link to a host file: replaced by the rendered file, the host file untouched
  await symlink(path.join(host, 'passwd'), path.join(f.taskDir, 'local', 'app.conf'));
  // a dir of the destination is a link to a host dir: replaced by a real dir
  await symlink(host, path.join(f.taskDir, 'local', 'conf'));
  const tt = f.make([tpl({ destination: 'local/app.conf', data: 'mine\n' }), tpl({ destination: 'local/conf/x.conf', data: 'x\n', perms: '0777' })]);
  await tt.renderAll();
  assert.equal(await readFile(path.join(host, 'passwd'), 'utf8'), 'root:x:0:0\n');
  assert.equal((await stat(path.join(host, 'passwd'))).mode & 0o777, 0o644);
  assert.ok((await lstat(path.join(f.taskDir, 'local', 'app.conf'))).isFile());
  assert.ok((await lstat(path.join(f.taskDir, 'local', 'conf'))).isDirectory());
  assert.equal(await stat(path.join(host, 'x.conf')).catch(() => undefined), undefined, 'nothing written into the host dir');
  // a source that is a link, and file() through a link or out of the task dir
  await symlink(path.join(host, 'passwd'), path.join(f.taskDir, 'local', 'src.tpl'));
  const bad = async (template: Template, re: RegExp) => {
    const x = f.make([template]);
    await assert.rejects(x.renderAll(), (err: unknown) => isTendError(err) && re.test(err.message));
  };
  await bad(tpl({ destination: 'local/out', source: 'local/src.tpl' }), /links are not followed/);
  await bad(tpl({ destination: 'local/out', data: '{{ file "local/src.tpl" }}' }), /links are not followed/);
  await bad(tpl({ destination: 'local/out', data: '{{ file "../../host/passwd" }}' }), /expected a path inside the task dir/);
  await bad(tpl({ destination: 'local/out', data: `{{ file "${path.join(host, 'passwd')}" }}` }), /expected a path inside the task's dirs/);
  await bad(tpl({ destination: '../../host/evil', data: 'x' }), /template: destination/);
  await bad(tpl({ destination: '../alloc/logs/web.stdout.0', data: 'x' }), /logs/);
  assert.equal(await stat(path.join(host, 'evil')).catch(() => undefined), undefined);
});

test('templates: a missing key with error_on_missing_key fails with the template and key named; without it Go prints <no value>', async (t) => {
  const f = await fixture(t);
  const strict = f.make([tpl({ destination: 'local/a', data: '{{ .nope.x }}', errorOnMissingKey: true })]);
  await assert.rejects(strict.renderAll(), (err: unknown) => isTendError(err) && err.code === 'E_TEMPLATE' && /template\[0\] local\/a: template: \/jobs\/web\.hcl:\d+:\d+: .*nope/.test(err.message));
  const lax = f.make([tpl({ destination: 'local/b', data: '{{ .nope }}' })]);
  await lax.renderAll();
  assert.equal(await readFile(path.join(f.taskDir, 'local/b'), 'utf8'), '<no value>');
});

test('templates: a function in the agent\'s function_denylist is refused with the config named', async (t) => {
  const f = await fixture(t);
  const tt = new TaskTemplates({
    file: '/jobs/web.hcl',
    templates: [tpl({ destination: 'local/a', data: '{{ env "HOME" }}' })],
    dirs: { taskDir: f.taskDir, allocDir: f.allocDir },
    env: {},
    fileDirs: [],
    denied: new Set(['env']),
    emit: () => {},
    control: { restart: () => {}, signal: async () => {}, exec: async () => ({ code: 0, output: '' }), kill: () => {}, wake: () => {} },
    logger: log,
    random: () => 0,
  });
  await assert.rejects(tt.renderAll(), (err: unknown) => isTendError(err) && err.code === 'E_SPEC_INVALID' && /function "env" is denied by the agent config \(client \{ template \{ function_denylist \} \}\)/.test(err.message));
});
