/**
 * Parameterized jobs end to end: a real `tend agent` (plain executor), real job files, real `sh`
 * tasks, dispatched with `tendctl job dispatch`. Each task proves what it got from inside: it
 * prints its payload file and its NOMAD_META_* to its log.
 * Run alone: node --import tsx --test test/e2e/agent/dispatch.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from '../../helpers/wait.js';
import { requireLinux } from '../../helpers/gates.js';
import { createHarness, type Harness } from './harness.js';
import type { DispatchRecord } from '../../../src/store/store.js';
import type { JobView } from '../../../src/api/api.js';

const T = { timeoutMs: 30_000 };

async function harness(t: import('node:test').TestContext): Promise<Harness> {
  const h = await createHarness();
  t.after(() => h.cleanup());
  return h;
}

interface TaskOpts {
  name?: string;
  script: string;
  restart?: string;
  lifecycle?: string;
}

function task(o: TaskOpts): string {
  return `    task "${o.name ?? 't'}" {
      driver = "raw_exec"
${o.lifecycle ? `      lifecycle {\n        hook = "${o.lifecycle}"\n      }\n` : ''}      dispatch_payload {
        file = "in/payload.txt"
      }
      config {
        command = "/bin/sh"
        args    = ["-c", ${JSON.stringify(o.script)}]
      }
      kill_timeout = "1s"
      restart {
${o.restart ?? '        attempts = 0\n        mode     = "fail"'}
      }
    }
`;
}

function paramJob(name: string, tasks: TaskOpts[], parameterized = 'payload = "required"\n    meta_required = ["run"]\n    meta_optional = ["mode"]'): string {
  return `job "${name}" {
  type = "batch"
  meta {
    team = "blue"
    mode = "slow"
  }
  parameterized {
    ${parameterized}
  }
  group "g" {
${tasks.map(task).join('')}  }
}
`;
}

/** What every task prints: its payload, then its meta, as it sees them. */
const REPORT = '{ echo "payload=$(cat "$NOMAD_TASK_DIR/in/payload.txt")"; echo "run=$NOMAD_META_run mode=$NOMAD_META_mode team=$NOMAD_META_team parent=$NOMAD_JOB_PARENT_ID"; }';
const waitMarker = (marker: string) => `while [ ! -e ${marker} ]; do sleep 0.1; done`;

const rec = (h: Harness, job: string): DispatchRecord | undefined => h.doc()?.dispatch?.[job];

function dump(h: Harness): string {
  return `records: ${JSON.stringify(Object.values(h.records()).map((r) => [r.id, r.state, r.error]))}\ndispatch: ${JSON.stringify(h.doc()?.dispatch)}\nlog tail:\n${h.agentLog().split('\n').slice(-30).join('\n')}`;
}

async function statusJson(h: Harness): Promise<JobView[]> {
  const r = await h.tendctl(['status', '-json', '-no-stats']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { jobs: JobView[] }).jobs;
}

async function loaded(h: Harness, job: string): Promise<void> {
  await waitFor(async () => (await statusJson(h)).some((j) => j.id === job && j.parameterized), { ...T, what: `${job} loaded` }).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
}

async function dispatch(h: Harness, args: string[]): Promise<string> {
  const r = await h.tendctl(['job', 'dispatch', ...args]);
  assert.equal(r.code, 0, r.stderr);
  const id = /^Dispatched Job ID = (\S+)\n$/.exec(r.stdout)?.[1];
  assert.ok(id, r.stdout);
  return id;
}

async function logs(h: Harness, id: string): Promise<string> {
  const r = await h.tendctl(['logs', id]);
  return r.code === 0 ? r.stdout : '';
}

test('dispatch e2e: a dispatch with payload and meta runs, the task sees both, the child is listed by status', { timeout: 90_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t);
  await h.start();
  const marker = path.join(h.root, 'done');
  await h.writeJob('render.hcl', paramJob('render', [{ script: `${REPORT}; ${waitMarker(marker)}` }]));
  await loaded(h, 'render');
  assert.deepEqual(Object.keys(h.records()), [], 'a parameterized job never runs on its own');

  const payloadFile = path.join(h.root, 'payload.txt');
  await writeFile(payloadFile, 'scene 7');
  const child = await dispatch(h, ['-meta', 'run=42', '-meta', 'mode=fast', 'render', payloadFile]);
  assert.match(child, /^render\/dispatch-\d+-[0-9a-f]{8}$/);
  const task = `${child}/g[0]/t`;
  await waitFor(async () => (await logs(h, task)).includes('team='), { ...T, what: 'the child reports' }).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
  assert.equal(await logs(h, task), `payload=scene 7\nrun=42 mode=fast team=blue parent=render\n`, 'payload file and NOMAD_META_* (dispatch meta over the job\'s) as the task sees them');

  const running = (await statusJson(h)).find((j) => j.id === 'render')!;
  assert.equal(running.status, 'running');
  assert.deepEqual(running.parameterized?.children.map((c) => [c.id, c.status, c.meta, c.payloadBytes]), [[child, 'running', { run: '42', mode: 'fast' }, 7]]);
  assert.equal((await statusJson(h)).find((j) => j.id === child)?.parent, 'render');

  await writeFile(marker, '');
  await waitFor(() => rec(h, 'render')?.children[0]?.finished !== undefined, { ...T, what: 'child finished' }).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
  const done = rec(h, 'render')!.children[0];
  assert.deepEqual(done.finished!.exits, [{ task, state: 'complete', code: 0 }]);
  assert.equal(done.payload, undefined, 'a finished child\'s payload is dropped from the store');
  await waitFor(() => !Object.values(h.records()).some((r) => r.job === child), { ...T, what: 'finished child records removed' });

  const text = await h.tendctl(['status', 'render', '-no-stats']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /Parameterized\n {2}payload required; meta required: run; optional: mode\n/);
  assert.match(text.stdout, new RegExp(`${child.replace(/[/-]/g, '\\$&')} +complete +exit 0 +.+ +7 B +run=42, mode=fast`));
  const all = await h.tendctl(['status', '-no-stats']);
  assert.match(all.stdout, /Parameterized jobs:\n {2}render\n {4}payload required/);
  assert.doesNotMatch(all.stdout, /Jobs not running as written/, 'the parent is not "dead"');
  assert.ok((h.doc()?.events ?? []).some((e) => e.type === 'Job Dispatched' && e.job === 'render'));
});

test('dispatch e2e: refusals through the real agent say why (unknown, not parameterized, missing meta, forbidden payload)', { timeout: 60_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t);
  await h.start();
  await h.writeJob('render.hcl', paramJob('render', [{ script: 'exit 0' }]));
  await h.writeJob('ping.hcl', paramJob('ping', [{ script: 'exit 0' }], 'payload = "forbidden"'));
  await h.writeJob('plain.hcl', `job "plain" {\n  type = "batch"\n  group "g" {\n    task "t" {\n      driver = "raw_exec"\n      config {\n        command = "/bin/true"\n      }\n    }\n  }\n}\n`);
  await loaded(h, 'render');
  await loaded(h, 'ping');
  await waitFor(async () => (await statusJson(h)).some((j) => j.id === 'plain'), { ...T, what: 'plain loaded' });
  const payloadFile = path.join(h.root, 'p');
  await writeFile(payloadFile, 'x');
  const cases: [string[], RegExp][] = [
    [['nope'], /failed to dispatch nope: no job nope in force \[E_JOB_NOT_FOUND\]/],
    [['plain'], /failed to dispatch plain: expected a parameterized job, got a job without a parameterized block/],
    [['render', payloadFile], /dispatch did not provide required meta keys: \[run\]/],
    [['-meta', 'run=1', 'render'], /payload not provided but required/],
    [['ping', payloadFile], /payload provided but forbidden/],
  ];
  for (const [args, why] of cases) {
    const r = await h.tendctl(['job', 'dispatch', ...args]);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, why);
  }
  assert.equal(rec(h, 'render'), undefined, 'nothing recorded');
});

test('dispatch e2e: an agent restart keeps the payload of a child not yet started, and of one waiting to restart', { timeout: 120_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t);
  await h.start();
  const gate = path.join(h.root, 'gate');
  const out = path.join(h.root, 'runs.txt');
  // The prestart task holds the main task back until the gate file exists; the main task's first run
  // consumes its payload (removes the file) and fails, so only a payload written again lets run 2 see it.
  const main = `${REPORT} >> ${out}; if [ ! -e ${out}.once ]; then touch ${out}.once; rm "$NOMAD_TASK_DIR/in/payload.txt"; exit 1; fi; exit 0`;
  await h.writeJob('slow.hcl', paramJob('slow', [
    { name: 'hold', script: waitMarker(gate), lifecycle: 'prestart' },
    { name: 'main', script: main, restart: '        attempts = 1\n        interval = "1h"\n        delay    = "3s"\n        mode     = "fail"' },
  ]));
  await loaded(h, 'slow');
  const payloadFile = path.join(h.root, 'payload.txt');
  await writeFile(payloadFile, 'kept');
  const child = await dispatch(h, ['-meta', 'run=5', 'slow', payloadFile]);
  await waitFor(() => h.records()[`${child}/g[0]/hold`]?.state === 'running', { ...T, what: 'prestart task running' }).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
  assert.notEqual(h.records()[`${child}/g[0]/main`]?.state, 'running', 'main not started yet');

  // The agent dies before the main task ever started.
  await h.kill9();
  await h.start();
  await writeFile(gate, '');
  await waitFor(() => h.records()[`${child}/g[0]/main`]?.state === 'restarting', { ...T, what: 'main failed once, waiting to restart' }).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
  assert.equal(await readFile(out, 'utf8'), `payload=kept\nrun=5 mode=slow team=blue parent=slow\n`);

  // The agent dies again while the main task waits to restart.
  await h.kill9();
  await h.start();
  await waitFor(() => rec(h, 'slow')?.children[0]?.finished !== undefined, { ...T, what: 'child finished' }).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
  assert.equal(await readFile(out, 'utf8'), `payload=kept\nrun=5 mode=slow team=blue parent=slow\n`.repeat(2), 'the restart found the payload again');
  assert.equal(rec(h, 'slow')!.children[0].finished!.status, 'complete');
});

test('dispatch e2e (attacker): a task that swaps local/ for a link to a host dir before its restart gets no write through it', { timeout: 90_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t);
  await h.start();
  const hostDir = path.join(h.root, 'host');
  await mkdir(path.join(hostDir, 'in'), { recursive: true });
  await writeFile(path.join(hostDir, 'in', 'payload.txt'), 'host file\n');
  const out = path.join(h.root, 'seen.txt');
  // Run 1: replace local/ with a link to the host dir and fail. Run 2: report what local/ holds.
  const script = `if [ ! -e ${out}.once ]; then touch ${out}.once; rm -rf "$NOMAD_TASK_DIR"; ln -s ${hostDir} "$NOMAD_TASK_DIR"; exit 1; fi; ${REPORT} > ${out}; test -L "$NOMAD_TASK_DIR" && echo STILL-A-LINK >> ${out}; exit 0`;
  await h.writeJob('evil.hcl', paramJob('evil', [{ script, restart: '        attempts = 1\n        interval = "1h"\n        delay    = "1s"\n        mode     = "fail"' }]));
  await loaded(h, 'evil');
  const payloadFile = path.join(h.root, 'payload.txt');
  await writeFile(payloadFile, 'from the dispatch');
  const child = await dispatch(h, ['-meta', 'run=1', 'evil', payloadFile]);
  await waitFor(() => rec(h, 'evil')?.children[0]?.finished !== undefined, { ...T, what: 'child finished' }).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
  assert.equal(rec(h, 'evil')!.children[0].finished!.status, 'complete', dump(h));
  assert.equal(await readFile(path.join(hostDir, 'in', 'payload.txt'), 'utf8'), 'host file\n', 'the host file is untouched');
  assert.deepEqual(await readdir(hostDir), ['in']);
  assert.equal(await readFile(out, 'utf8'), `payload=from the dispatch\nrun=1 mode=slow team=blue parent=evil\n`, 'run 2 got a real local/ with the payload');
  assert.ok(child);
});

test('dispatch e2e: removing the parameterized job\'s file stops its running children and clears them', { timeout: 90_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t);
  await h.start();
  await h.writeJob('long.hcl', paramJob('long', [{ script: 'exec sleep 1000' }], 'meta_optional = ["run"]'));
  await loaded(h, 'long');
  const child = await dispatch(h, ['long']);
  await waitFor(() => h.records()[`${child}/g[0]/t`]?.state === 'running', { ...T, what: 'child running' }).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
  assert.equal(h.taskProcs().size, 1);
  await unlink(path.join(h.jobsDir, 'long.hcl'));
  await waitFor(() => Object.keys(h.records()).length === 0 && rec(h, 'long') === undefined, { ...T, what: 'child stopped and cleared' }).catch((e) => assert.fail(`${e.message}\n${dump(h)}`));
  assert.equal(h.taskProcs().size, 0);
  assert.equal(existsSync(path.join(h.stateDir, 'alloc')) ? (await readdir(path.join(h.stateDir, 'alloc'))).length : 0, 0, 'alloc dirs gone');
});
