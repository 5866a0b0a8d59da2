/**
 * Conformance with Nomad's own jobspec fixtures (../shared/conformance/
 * nomad-jobspecs/, read in place: they carry their own licences).
 *
 *  - INDEX.tsv: files Nomad accepts give no syntax or schema errors (errors
 *    of kind "unsupported", e.g. a docker driver, are expected); files Nomad
 *    rejects give at least one error.
 *  - EXPECTED.json: recorded parse results match tend's model once tend's
 *    defaults are applied where the recording says "unset".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyseFile, type Analysis } from '../../src/jobspec/load.js';
import { DEFAULT_RESTART } from '../../src/jobspec/build.js';
import { formatDiagnostic } from '../../src/jobspec/format.js';
import type { Job, LoadOptions, RestartPolicy, Task } from '../../src/jobspec/model.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = path.resolve(repoRoot, '../shared/conformance/nomad-jobspecs');
const present = existsSync(path.join(dir, 'INDEX.tsv'));

/** Variable values, from the INDEX notes column. */
const inputs: Record<string, LoadOptions> = {
  'e2e__task_schedule__input__schedule.nomad.hcl': { vars: { start: '0 9 * * *', end: '0 17 * * *' } },
  'e2e__cni__input__config_format.nomad.hcl': { vars: { format: 'conflist' } },
  'e2e__e2eutil__input__restart-node.nomad': { vars: { nodeID: '7e5b1f0c-0000-4000-8000-000000000000' } },
  'e2e__jobsubmissions__input__xyz.hcl': {
    varFiles: ['x', 'y', 'z'].map((v) => path.join(dir, `e2e__jobsubmissions__input__${v}.hcl`)),
  },
  'e2e__workload_id__input__node-meta.nomad.hcl': {
    vars: {
      foo_key: 'foo',
      empty_key: 'empty',
      unset_key: 'unset',
      foo_constraint: '${meta.foo}',
      empty_constraint: '${meta.empty}',
      unset_constraint: '${meta.unset}',
    },
  },
};

/**
 * Where tend deliberately differs from "Nomad accepts this file" (the
 * fixtures are parser tests; `nomad job validate` would reject these too).
 */
const EXCEPTIONS: Record<string, RegExp> = {
  // Nomad's parser does not check values; the fixture's change_mode = "foo" is not a change mode.
  'jobspec__test-fixtures__basic.hcl': /change_mode/,
  // Calls file("~/.ssh/id_rsa") at parse time (INDEX: "fails without that file"); tend does not read
  // files from job expressions, so the call is an error naming the function.
  'demo__csi__kadalu-csi__controller.nomad': /function "file"|local\.ssh_priv_key/,
  // Parser fixtures: a 4-field cron on a service job. Nomad's parser takes them; its job validation
  // (`nomad job validate`, the server) rejects both, as tend does at load: tend runs periodic jobs.
  'jobspec__test-fixtures__periodic-cron.hcl': /cron expression|periodic: expected a batch job/,
  'jobspec__test-fixtures__periodic-crons.hcl': /cron expression|periodic: expected a batch job/,
  // A parser fixture: parameterized on a job with no type (service). Nomad's job validation rejects it
  // ("Parameterized job can only be used with \"batch\" scheduler"), as tend does at load: tend runs dispatches.
  'jobspec__test-fixtures__parameterized_job.hcl': /parameterized: expected a batch job/,
};

interface Row {
  file: string;
  valid: string;
  notes: string;
}

function rows(): Row[] {
  const [header, ...lines] = readFileSync(path.join(dir, 'INDEX.tsv'), 'utf8').trim().split('\n');
  const cols = header.split('\t');
  return lines.map((l) => {
    const c = l.split('\t');
    return { file: c[cols.indexOf('file')], valid: c[cols.indexOf('nomad_considers_valid')], notes: c[cols.indexOf('notes')] };
  });
}

const cache = new Map<string, Promise<Analysis>>();
const analyse = (file: string) => {
  let p = cache.get(file);
  if (!p) cache.set(file, (p = analyseFile(path.join(dir, file), inputs[file] ?? {})));
  return p;
};
const show = (a: Analysis) => a.diagnostics.map((d) => formatDiagnostic(d)).join('\n');

test('conformance: INDEX.tsv verdicts', { skip: !present && process.env.CI !== 'true' ? 'fixtures not found' : false }, async (t) => {
  assert.ok(present, `fixtures missing at ${dir}`);
  const all = rows();
  assert.ok(all.length >= 70, `expected the whole index, got ${all.length} rows`);
  for (const row of all) {
    if (row.notes.startsWith('NOT a jobspec')) continue;
    await t.test(`conformance: ${row.file}`, async () => {
      const a = await analyse(row.file);
      const errors = a.diagnostics.filter((d) => d.severity === 'error');
      if (row.valid === 'no') {
        assert.ok(errors.some((d) => d.kind !== 'unsupported'), `Nomad rejects ${row.file}; tend found no syntax/schema error:\n${show(a)}`);
        return;
      }
      const exception = EXCEPTIONS[row.file];
      const wrong = errors.filter((d) => d.kind !== 'unsupported' && !(exception && exception.test(d.message + d.path)));
      assert.deepEqual(wrong.map((d) => formatDiagnostic(d)), [], `Nomad accepts ${row.file}`);
      if (exception) assert.ok(errors.some((d) => exception.test(d.message + d.path)), `exception for ${row.file} no longer needed`);
      // Unsupported errors are only ever about drivers and network modes (the job could never run here: no CNI on one node).
      for (const d of errors.filter((e) => e.kind === 'unsupported')) assert.match(d.message, /driver|^network mode|^cni is not supported/);
      const network = errors.some((d) => d.kind === 'unsupported' && /^(network mode|cni )/.test(d.message));
      // A file whose tasks all use exec/raw_exec in host mode loads clean.
      const drivers = a.built.flatMap((j) => j.groups.flatMap((g) => g.tasks.map((tk) => tk.driver)));
      if (!exception && !network && drivers.length && drivers.every((d) => d === 'exec' || d === 'raw_exec')) assert.ok(a.ok, show(a));
    });
  }
});

const ms = (d: { ns: number } | null | undefined, dflt: number) => (d ? d.ns / 1e6 : dflt);
const taskOf = (job: Job, group: string, task: string): Task => {
  const g = job.groups.find((x) => x.name === group);
  assert.ok(g, `group ${group}`);
  const t = g.tasks.find((x) => x.name === task);
  assert.ok(t, `task ${group}/${task}`);
  return t;
};

type Exp = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function checkRestart(got: RestartPolicy, exp: Exp | null, base: RestartPolicy, where: string): void {
  if (exp === null || exp === undefined) return assert.deepEqual(got, base, where);
  if ('attempts' in exp) assert.equal(got.attempts, exp.attempts ?? base.attempts, `${where}.attempts`);
  if ('interval' in exp) assert.equal(got.intervalMs, ms(exp.interval, base.intervalMs), `${where}.interval`);
  if ('delay' in exp) assert.equal(got.delayMs, ms(exp.delay, base.delayMs), `${where}.delay`);
  if ('mode' in exp) assert.equal(got.mode, exp.mode ?? base.mode, `${where}.mode`);
  if ('render_templates' in exp) assert.equal(got.renderTemplates ?? false, exp.render_templates, `${where}.render_templates`);
}

function checkTask(t: Task, e: Exp, groupRestart: RestartPolicy, where: string): void {
  if ('driver' in e) assert.equal(t.driver, e.driver ?? '', `${where}.driver`);
  if ('config' in e && !['exec', 'raw_exec'].includes(t.driver)) assert.deepEqual(t.config.raw, e.config, `${where}.config`);
  if ('config_command' in e) assert.equal(t.config.command, e.config_command ?? '', `${where}.config.command`);
  if ('config_args' in e) assert.deepEqual(t.config.args, e.config_args ?? [], `${where}.config.args`);
  if ('resources' in e) {
    const r = e.resources ?? {};
    assert.equal(t.resources.memoryMB, r.memory ?? 300, `${where}.memory`);
    assert.equal(t.resources.cores, r.cores ?? undefined, `${where}.cores`);
    assert.equal(t.resources.cpu, r.cores ? 0 : r.cpu ?? 100, `${where}.cpu`);
    assert.equal(t.resources.memoryMaxMB, r.memory_max ?? undefined, `${where}.memory_max`);
  }
  if ('kill_timeout' in e) assert.equal(t.killTimeoutMs, ms(e.kill_timeout, 5000), `${where}.kill_timeout`);
  if ('kill_signal' in e) assert.equal(t.killSignal, e.kill_signal || 'SIGINT', `${where}.kill_signal`);
  if ('restart' in e) checkRestart(t.restart, e.restart, groupRestart, `${where}.restart`);
  if ('env' in e) assert.deepEqual(t.env, e.env ?? {}, `${where}.env`);
  if ('user' in e) assert.equal(t.user, e.user || undefined, `${where}.user`);
  if ('logs' in e) {
    const l = e.logs ?? {};
    assert.deepEqual(t.logs, { maxFiles: l.max_files ?? 10, maxFileSizeMB: l.max_file_size ?? 10, disabled: l.disabled ?? false }, `${where}.logs`);
  }
  if ('artifact_sources' in e) assert.deepEqual(t.artifacts.map((a) => a.source), e.artifact_sources, `${where}.artifacts`);
  if (e.template_0) {
    const tp = t.templates[0];
    assert.ok(tp, `${where}.template[0]`);
    if ('error_on_missing_key' in e.template_0) assert.equal(tp.errorOnMissingKey, e.template_0.error_on_missing_key);
    if (e.template_0.wait) assert.deepEqual(tp.wait, { minMs: ms(e.template_0.wait.min, 0), maxMs: ms(e.template_0.wait.max, 0) });
  }
}

test('conformance: EXPECTED.json values', { skip: !present && process.env.CI !== 'true' ? 'fixtures not found' : false }, async (t) => {
  const expected = JSON.parse(readFileSync(path.join(dir, 'EXPECTED.json'), 'utf8'));
  for (const [file, exp] of Object.entries<Exp>(expected.files)) {
    await t.test(`conformance: ${file} values`, async () => {
      const a = await analyse(file);
      assert.equal(a.built.length, 1, show(a));
      const job = a.built[0];
      const ej = exp.job;
      if ('id' in ej) assert.equal(job.id, ej.id);
      if ('name' in ej) assert.equal(job.name, ej.name);
      if ('type' in ej) assert.equal(job.type, ej.type ?? 'service');
      if ('datacenters' in ej) assert.deepEqual(job.datacenters, ej.datacenters ?? ['*']);
      if ('id_from_fixture' in ej) assert.equal(job.id, ej.id_from_fixture);
      if ('datacenters_from_fixture' in ej) assert.deepEqual(job.datacenters, ej.datacenters_from_fixture);
      const full = exp.assertion_style === 'full';
      if (full) assert.deepEqual(job.groups.map((g) => g.name).sort(), exp.groups.map((g: Exp) => g.name).sort(), 'groups');
      for (const eg of exp.groups as Exp[]) {
        const name = eg.name ?? eg.name_from_fixture;
        const g = job.groups.find((x) => x.name === name);
        assert.ok(g, `group ${name}`);
        if ('count' in eg) assert.equal(g.count, eg.count ?? 1, `${name}.count`);
        if ('count_from_fixture' in eg) assert.equal(g.count, eg.count_from_fixture);
        if ('restart' in eg) checkRestart(g.restart, eg.restart, DEFAULT_RESTART[job.type], `${name}.restart`);
        if (full) assert.deepEqual(g.tasks.map((x) => x.name).sort(), eg.tasks.map((x: Exp) => x.name).sort(), `${name}.tasks`);
        for (const et of eg.tasks as Exp[]) {
          const tn = et.name ?? et.name_from_fixture;
          const task = taskOf(job, name, tn);
          checkTask(task, et, g.restart, `${name}/${tn}`);
          if ('driver_from_fixture' in et) assert.equal(task.driver, et.driver_from_fixture);
          if ('env_from_fixture' in et) assert.deepEqual(task.env, et.env_from_fixture);
          if ('resources_from_fixture' in et) {
            assert.equal(task.resources.cpu, et.resources_from_fixture.cpu);
            assert.equal(task.resources.memoryMB, et.resources_from_fixture.memory);
          }
        }
      }
      const x: Exp = exp.extra_asserted ?? {};
      if (x.job_constraints) {
        assert.deepEqual(
          job.constraints.map((c) => ({ ltarget: c.attribute, rtarget: c.value, operand: c.operator })),
          x.job_constraints,
        );
      }
      if (x.job_priority !== undefined) assert.equal(job.priority, x.job_priority);
      if (x.job_namespace !== undefined) assert.equal(job.namespace, x.job_namespace);
      if (x.artifacts) {
        const arts = job.groups.flatMap((g) => g.tasks.flatMap((tk) => tk.artifacts));
        (x.artifacts as Exp[]).forEach((ea, i) => {
          assert.equal(arts[i].source, ea.source);
          if ('destination' in ea) assert.equal(arts[i].destination, ea.destination || 'local/'); // "" and unset both mean local/
          if ('options' in ea) assert.deepEqual(arts[i].options, ea.options ?? {});
          if ('headers' in ea) assert.deepEqual(arts[i].headers, ea.headers ?? {});
        });
      }
      if (x.binstore_artifact_2) {
        const a2 = taskOf(job, 'binsl', 'binstore').artifacts[1]; // "artifact_2" counts from 1
        assert.equal(a2.destination, x.binstore_artifact_2.destination);
        assert.equal(a2.mode, x.binstore_artifact_2.mode);
      }
      if (x.parameterized) {
        const p = job.parameterized;
        assert.ok(p, 'parameterized');
        assert.deepEqual(
          { payload: p.payload, meta_required: p.metaRequired, meta_optional: p.metaOptional },
          { payload: x.parameterized.payload ?? 'optional', meta_required: x.parameterized.meta_required ?? [], meta_optional: x.parameterized.meta_optional ?? [] },
        );
      }
      if (x.dispatch_payload_file !== undefined) {
        const files = job.groups.flatMap((g) => g.tasks.map((tk) => tk.dispatchPayload?.file));
        assert.deepEqual(files, [x.dispatch_payload_file]);
      }
      // Other extra_asserted values (periodic, vault, reschedule, migrate, identity, ports, …) belong to
      // blocks tend accepts with an "unsupported" warning and does not model.
    });
  }
  for (const file of Object.keys(expected.expected_parse_errors.files)) {
    await t.test(`conformance: ${file} is rejected`, async () => {
      const a = await analyse(file);
      assert.equal(a.ok, false);
      assert.ok(a.diagnostics.some((d) => d.severity === 'error' && d.kind !== 'unsupported'), show(a));
    });
  }
});
