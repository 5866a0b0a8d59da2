/**
 * Real-world job files that use `lifecycle` (test/conformance/lifecycle/,
 * and two of Nomad's own e2e inputs read in place from
 * ../shared/conformance/nomad-jobspecs/): they load, and the lifecycle
 * planner starts and stops their groups in Nomad's order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFile, loadText } from '../../src/jobspec/load.js';
import { formatDiagnostic } from '../../src/jobspec/format.js';
import { orderForDisplay, planAlloc, restartJobType, stopWaves, type Intent, type TaskStatus } from '../../src/reconcile/lifecycle.js';
import { nextRestart } from '../../src/reconcile/restart-policy.js';
import type { Group, Job } from '../../src/jobspec/model.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const shared = path.resolve(here, '../../../shared/conformance/nomad-jobspecs');

/** Where a file needs an edit to load in tend (none now: `uuidv4()` is supported, stable per file content). */
const DIFFERENCES: Record<string, [RegExp, string]> = {};

async function load(file: string): Promise<Job> {
  const diff = DIFFERENCES[path.basename(file)];
  const r = diff ? await loadText(file, readFileSync(file, 'utf8').replace(diff[0], diff[1])) : await loadFile(file);
  const errors = r.diagnostics.filter((d) => d.severity === 'error' && d.kind !== 'unsupported');
  assert.deepEqual(errors.map((d) => formatDiagnostic(d)), [], file);
  assert.equal(r.jobs.length, 1, file);
  return r.jobs[0];
}

/** Drives one allocation of `group`: starts whatever may start, stops whatever must stop, logs each action. */
function driver(job: Job, group: Group) {
  const states: Record<string, TaskStatus | undefined> = {};
  const log: string[] = [];
  let intent: Intent = 'run';
  const plan = () => planAlloc({ tasks: group.tasks, states, intent });
  return {
    plan,
    setIntent(i: Intent) {
      intent = i;
    },
    settle() {
      for (;;) {
        const p = plan();
        const acts = p.tasks.flatMap((t): ['start' | 'stop', string][] => {
          const s = states[t.name];
          if (t.mustStop && s) return [['stop', t.name]];
          if (t.mayStart && (!s || s.state === 'pending' || s.state === 'restarting')) return [['start', t.name]];
          return [];
        });
        if (acts.length === 0) return p;
        for (const [k, n] of acts) {
          states[n] = { state: k === 'start' ? 'running' : 'dead' };
          log.push(`${k} ${n}`);
        }
      }
    },
    exit(name: string, code: number) {
      const t = group.tasks.find((x) => x.name === name)!;
      const out = nextRestart(t.restart, restartJobType(t, job.type), { code }, undefined, 0, () => 0.5);
      states[name] = { state: out.kind === 'restart' ? 'restarting' : out.kind === 'complete' ? 'complete' : 'failed' };
      log.push(`exit ${name} ${code}`);
    },
    take: () => log.splice(0),
  };
}

test('lifecycle conformance: Kamilcuk/nomad-tools test-maintask (batch: init, sidecar, main, poststart, poststop)', async () => {
  const job = await load(path.join(here, 'lifecycle/test-maintask.nomad.hcl'));
  const g = job.groups[0];
  assert.equal(g.count, 2);
  assert.deepEqual(orderForDisplay(g.tasks).map((t) => t.name).sort(), ['main', 'poststart', 'poststop', 'prestart', 'prestart_sidecar'].sort());
  assert.deepEqual(orderForDisplay(g.tasks).map((t) => t.lifecycle?.hook ?? 'main'), ['prestart', 'prestart', 'main', 'poststart', 'poststop']);
  const sorted = (w: string[][]) => w.map((x) => [...x].sort());
  assert.deepEqual(sorted(stopWaves(g.tasks)), [['main', 'poststart', 'prestart'], ['prestart_sidecar']]);

  const d = driver(job, g);
  d.settle();
  assert.deepEqual(d.take().sort(), ['start prestart', 'start prestart_sidecar']);
  d.exit('prestart', 0);
  assert.equal(d.settle().phase, 'poststart');
  assert.deepEqual(d.take(), ['exit prestart 0', 'start main', 'start poststart']);
  d.exit('main', 0);
  assert.equal(d.settle().phase, 'poststart'); // the ephemeral poststart task still runs: the sidecar stays
  d.exit('poststart', 0);
  let p = d.settle();
  assert.deepEqual(d.take(), ['exit main 0', 'exit poststart 0', 'stop prestart_sidecar', 'start poststop']);
  assert.equal(p.phase, 'poststop');
  d.exit('poststop', 0);
  p = d.settle();
  assert.equal(p.phase, 'done');
  assert.equal(p.outcome, 'complete');
});

test('lifecycle conformance: test-maintask deleted while running stops main first, the sidecar last, then poststop', async () => {
  const job = await load(path.join(here, 'lifecycle/test-maintask.nomad.hcl'));
  const d = driver(job, job.groups[0]);
  d.settle();
  d.exit('prestart', 0);
  d.settle();
  d.take();
  d.setIntent('stop');
  assert.equal(d.settle().phase, 'poststop');
  assert.deepEqual(d.take(), ['stop main', 'stop poststart', 'stop prestart_sidecar', 'start poststop']);
});

test('lifecycle conformance: test-maintask loads as written (uuidv4() included)', async () => {
  const r = await loadFile(path.join(here, 'lifecycle/test-maintask.nomad.hcl'));
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
  assert.match(r.jobs[0].meta.uuid ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

const nomadE2e = (f: string) => path.join(shared, f);

test('lifecycle conformance: Nomad e2e chroot_dl_exec (exec main after an init task and a prestart sidecar)', { skip: !existsSync(shared) && process.env.CI !== 'true' ? 'no ../shared/conformance beside the repo (CI has it: there the test fails instead)' : false }, async () => {
  const job = await load(nomadE2e('e2e__isolation__input__chroot_dl_exec.nomad'));
  const g = job.groups[0];
  const d = driver(job, g);
  d.settle();
  assert.deepEqual(d.take().sort(), ['start file-server', 'start script-writer']);
  assert.equal(d.plan().tasks.find((t) => t.name === 'run-script')!.reason, 'waiting for prestart task "script-writer" to complete');
  d.exit('script-writer', 0);
  d.settle();
  assert.deepEqual(d.take(), ['exit script-writer 0', 'start run-script']);
  d.exit('run-script', 0); // batch: complete → the sidecar file server is stopped
  const p = d.settle();
  assert.deepEqual(d.take(), ['exit run-script 0', 'stop file-server']);
  assert.equal(p.phase, 'done');
});

test('lifecycle conformance: Nomad e2e batch_timeout_poststop (poststop after the main task)', { skip: !existsSync(shared) && process.env.CI !== 'true' ? 'no ../shared/conformance beside the repo (CI has it: there the test fails instead)' : false }, async () => {
  const job = await load(nomadE2e('e2e__batch_timeout__input__batch_timeout_poststop.hcl'));
  const g = job.groups[0];
  const d = driver(job, g);
  d.settle();
  assert.deepEqual(d.take(), ['start sleep']);
  d.exit('sleep', 137); // restart { attempts = 0 }: failed
  const p = d.settle();
  assert.deepEqual(d.take(), ['exit sleep 137', 'start poststop']);
  assert.equal(p.phase, 'poststop');
  assert.equal(p.outcome, 'failed');
});
