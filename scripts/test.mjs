#!/usr/bin/env node
// The README's test command (`npm test`): build, type-check, then run every
// `*.test.ts` under the given roots (default: test/) with node:test via tsx.
// Unit tests run first and in parallel; e2e tests run after them, two files at
// a time (they start real agents, processes and containers), and those that
// compare host-wide state last, one at a time.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('-'));

function collect(dir) {
  let out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(collect(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

// A hung test must fail the run, never stall CI: every test has a deadline,
// a test file that leaves handles open is ended when its tests are done, and
// each phase as a whole has a deadline too.
const TEST_TIMEOUT_MS = Number(process.env.TEND_TEST_TIMEOUT_MS ?? 180_000);
const PHASE_TIMEOUT_MS = Number(process.env.TEND_PHASE_TIMEOUT_MS ?? 600_000);

// Every store write in the tests (agents in-process and agent subprocesses) is compared with a
// full encode of the document: a change the store was not told of ends the agent (encoder.ts).
process.env.TEND_STORE_CHECK ??= '1';

function run(cmd, args, what = cmd) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', timeout: PHASE_TIMEOUT_MS, killSignal: 'SIGKILL' });
  if (r.error?.code === 'ETIMEDOUT') {
    console.error(`# ${what}: did not finish within ${PHASE_TIMEOUT_MS / 1000} s; killed (TEND_PHASE_TIMEOUT_MS)`);
    process.exit(1);
  }
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// The CLI tests start bin/tend.js and bin/tendctl.js, which run the bundle when
// it is fresh: build it, so the tests run what users run.
run(process.execPath, ['scripts/build.mjs'], 'build');

if (!process.env.TEND_SKIP_TYPECHECK) {
  console.log('# typecheck: tsc -p . && tsc -p src/ui');
  run('npx', ['--no-install', 'tsc', '-p', '.'], 'typecheck');
  // The web page (browser code: DOM, JSX) is a project of its own.
  run('npx', ['--no-install', 'tsc', '-p', 'src/ui'], 'typecheck of the web page');
}

const all = (roots.length ? roots : ['test']).flatMap((r) => {
  if (!existsSync(r)) throw new Error(`no such test file or directory: ${r}`);
  return statSync(r).isDirectory() ? collect(r) : [r];
});
// e2e, security and fault tests start real agents, tasks and containers. Each scopes what it
// checks to its own agent (data dir, ids, cgroup parent), so two files run side by side; a file
// that compares host-wide state (the whole mount table, every cgroup) says so with a line
// `tend-test: exclusive` near its top and runs alone, after the others.
const serial = (f) => /(^|\/)(e2e|security|faults)\//.test(f);
const exclusive = (f) => /tend-test: exclusive/.test(readFileSync(f, 'utf8').slice(0, 4096));
const unit = all.filter((f) => !serial(f));
const e2e = all.filter((f) => serial(f) && !exclusive(f));
const alone = all.filter((f) => serial(f) && exclusive(f));
const E2E_CONCURRENCY = Number(process.env.TEND_E2E_CONCURRENCY ?? 2);
const base = ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-timeout=${TEST_TIMEOUT_MS}`, '--test-force-exit', ...passThrough];
if (unit.length) run(process.execPath, [...base, '--test-concurrency=2', ...unit], 'unit tests');
if (e2e.length) run(process.execPath, [...base, `--test-concurrency=${E2E_CONCURRENCY}`, ...e2e], `e2e, security and fault tests (${E2E_CONCURRENCY} files at a time)`);
if (alone.length) run(process.execPath, [...base, '--test-concurrency=1', ...alone], 'e2e tests that compare host-wide state (one at a time)');
