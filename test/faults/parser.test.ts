/**
 * Fault tests for HCL parsing (issue 9, case 3): a file that crashes the
 * WebAssembly parser, one that makes it hang, one that ends its process.
 * Each must cost that file only: the file gets an error naming what
 * happened, and the next file parses. The real crash (20,000 nested blocks)
 * runs against the real parser process; a hang cannot be produced with real
 * input, so the parser host is pointed at a process that fails on demand
 * (fixtures/faulty-hcl-child.ts) and the real loader, source and agent run
 * on top of it.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { HclParser, HclParserError, useHclParser } from '../../src/jobspec/hcl-parser.js';
import { loadFile, loadText } from '../../src/jobspec/load.js';
import { MAX_NESTING } from '../../src/jobspec/nesting.js';
import { createJobSource } from '../../src/source/watcher.js';
import type { NodeInfo } from '../../src/jobspec/model.js';
import { startCli } from '../helpers/cli.js';
import { requireLinux } from '../helpers/gates.js';
import { waitFor } from '../helpers/wait.js';
import { createHarness, job, running } from '../e2e/agent/harness.js';

const FAULTY = new URL('./fixtures/faulty-hcl-child.ts', import.meta.url);
const node: NodeInfo = { name: 'n1', id: 'id1', class: '', datacenter: 'dc1', attributes: { 'kernel.name': 'linux' }, meta: {} };

/** `job "deep" { a { a { … } } }` with `n` nested `a` blocks. */
function nested(n: number): string {
  return 'job "deep" {\n' + 'a {\n'.repeat(n) + '}\n'.repeat(n) + '}\n';
}

const good = (id: string) => `job "${id}" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["1000"]
      }
    }
  }
}
`;

async function tempDir(t: TestContext): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tend-faults-parser-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A parser host on the faulty parser process, used by the loader until the test ends. */
function faultyParser(t: TestContext, timeoutMs = 1000): HclParser {
  const parser = new HclParser({ entry: FAULTY, timeoutMs });
  const restore = useHclParser(parser);
  t.after(async () => {
    restore();
    await parser.close();
  });
  return parser;
}

const errorsOf = (r: { diagnostics: { severity: string; message: string }[] }) => r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);

test('parser: 20,000 nested blocks are refused before parsing, at the line and column where nesting passes the limit', async () => {
  const started = performance.now();
  const r = await loadText('/jobs/deep.hcl', nested(20_000));
  const ms = performance.now() - started;
  assert.equal(r.ok, false);
  assert.equal(r.diagnostics.length, 1, JSON.stringify(r.diagnostics));
  const d = r.diagnostics[0];
  assert.match(d.message, new RegExp(`^nesting too deep: expected at most ${MAX_NESTING} levels`));
  // `job "deep" {` is level 1 on line 1; line k holds level k: level 65 opens on line 65, column 3.
  assert.deepEqual([d.file, d.line, d.column], ['/jobs/deep.hcl', MAX_NESTING + 1, 3]);
  assert.ok(ms < 2000, `refusing took ${ms.toFixed(0)} ms`);
  // At the limit the file reaches the parser and the schema (which knows no "a" block).
  const atLimit = await loadText('/jobs/ok-depth.hcl', nested(MAX_NESTING - 1));
  assert.ok(errorsOf(atLimit).every((m) => !/nesting too deep/.test(m)), JSON.stringify(errorsOf(atLimit)));
  assert.ok(atLimit.diagnostics.some((x) => /"a"/.test(x.message)), JSON.stringify(atLimit.diagnostics));
});

test('parser: deep nesting is refused in TOML and JSON too', async () => {
  const json = await loadText('/jobs/deep.json', '{"job": ' + '['.repeat(20_000) + ']'.repeat(20_000) + '}');
  assert.match(errorsOf(json).join('\n'), /nesting too deep/);
  const toml = await loadText('/jobs/deep.toml', 'x = ' + '['.repeat(20_000) + ']'.repeat(20_000) + '\n');
  assert.match(errorsOf(toml).join('\n'), /nesting too deep/);
});

test('parser: the real parser crashing on 20,000 nested blocks fails that file, and the next file parses in a fresh process', { timeout: 180_000 }, async (t) => {
  // Straight to the parser host: the loader would refuse this file before parsing.
  const parser = new HclParser({ timeoutMs: 150_000 });
  t.after(() => parser.close());
  assert.deepEqual(await parser.parse('warm.hcl', 'job "w" {}\n'), { job: { w: [{}] } });
  assert.equal(parser.started, 1);
  const err = await parser.parse('deep.hcl', nested(20_000)).then(
    () => assert.fail('expected the parser to fail on 20,000 nested blocks'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof HclParserError, String(err));
  assert.equal(err.reason, 'crashed', err.message);
  assert.match(err.message, /^parser crashed \(.+\); the parser was restarted$/);
  // The next file gets a new process and parses; syntax errors are still Go's own.
  assert.deepEqual(await parser.parse('next.hcl', 'job "next" {}\n'), { job: { next: [{}] } });
  assert.equal(parser.started, 2);
  await assert.rejects(parser.parse('bad.hcl', 'job "x" { a = }\n'), (e: Error) => !(e instanceof HclParserError) && /bad\.hcl:1,15/.test(e.message));
  assert.equal(parser.started, 2, 'a syntax error does not replace the process');
});

test('parser: a parse that never returns is timed out; the file says so and the files queued behind it parse', { timeout: 60_000 }, async (t) => {
  const parser = faultyParser(t, 1000);
  const started = performance.now();
  const [hung, a, b] = await Promise.all([
    loadText('/jobs/hang.hcl', `# TEND_FAULT=hang\n${good('hang')}`),
    loadText('/jobs/a.hcl', good('a')),
    loadText('/jobs/b.hcl', good('b')),
  ]);
  const ms = performance.now() - started;
  assert.equal(hung.ok, false);
  assert.deepEqual(errorsOf(hung), ['failed to parse: parser timed out after 1s; the parser was restarted']);
  assert.equal(hung.diagnostics[0].file, '/jobs/hang.hcl');
  assert.deepEqual([a.ok, b.ok], [true, true], JSON.stringify([a.diagnostics, b.diagnostics]));
  assert.deepEqual([...a.jobs, ...b.jobs].map((j) => j.id), ['a', 'b']);
  assert.equal(parser.started, 2, 'the hung process was replaced once');
  assert.ok(ms < 30_000, `took ${ms.toFixed(0)} ms`);
});

test('parser: a crash reported by the parser, and a parser process that exits mid-parse, fail that file only', { timeout: 60_000 }, async (t) => {
  const parser = faultyParser(t, 20_000);
  const crashed = await loadText('/jobs/crash.hcl', `# TEND_FAULT=crash\n${good('c')}`);
  assert.deepEqual(errorsOf(crashed), ['failed to parse: parser crashed (Maximum call stack size exceeded; fatal error: malloc deadlock); the parser was restarted']);
  assert.equal((await loadText('/jobs/a.hcl', good('a'))).ok, true);
  const exited = await loadText('/jobs/exit.hcl', `# TEND_FAULT=exit\n${good('e')}`);
  assert.deepEqual(errorsOf(exited), ['failed to parse: parser crashed (parser exited with code 7); the parser was restarted']);
  assert.equal((await loadText('/jobs/b.hcl', good('b'))).ok, true);
  assert.equal(parser.started, 3);
});

test('parser: a parser process killed by a signal mid-parse (as by the OOM killer) fails that file only; the host lives on', { timeout: 60_000 }, async (t) => {
  const parser = faultyParser(t, 20_000);
  const killed = await loadText('/jobs/killed.hcl', `# TEND_FAULT=kill\n${good('k')}`);
  assert.deepEqual(errorsOf(killed), ['failed to parse: parser crashed (parser killed by SIGKILL); the parser was restarted']);
  assert.equal((await loadText('/jobs/a.hcl', good('a'))).ok, true);
  assert.equal(parser.started, 2);
});

test('parser: with the real source, a file that hangs the parser gets an error and a good file dropped in afterwards loads', { timeout: 60_000 }, async (t) => {
  faultyParser(t, 1000);
  const dir = await tempDir(t);
  await fs.writeFile(path.join(dir, 'hang.hcl'), `# TEND_FAULT=hang\n${good('hang')}`);
  const source = createJobSource({ dir, node, debounceMs: 50, dirPollMs: 50 });
  t.after(() => source.stop());
  const first = await source.start();
  const hang = first.files.find((f) => f.path.endsWith('hang.hcl'))!;
  assert.equal(hang.ok, false);
  assert.match(hang.diagnostics[0].message, /^failed to parse: parser timed out after 1s/);
  await fs.writeFile(path.join(dir, 'web.hcl'), good('web'));
  await waitFor(() => source.current().jobs.has('web'), { what: 'web to load after the hang', timeoutMs: 20_000 });
  assert.deepEqual([...source.current().jobs.keys()], ['web']);
});

test('parser: the source stops promptly while a parse hangs (shutdown does not wait for the parse deadline)', { timeout: 60_000 }, async (t) => {
  const parser = faultyParser(t, 30_000);
  const dir = await tempDir(t);
  await fs.writeFile(path.join(dir, 'hang.hcl'), `# TEND_FAULT=hang\n${good('hang')}`);
  const source = createJobSource({ dir, node, debounceMs: 50, dirPollMs: 50 });
  const starting = source.start();
  await waitFor(() => parser.started === 1, { what: 'the parse to be asked for', timeoutMs: 10_000 });
  const t0 = performance.now();
  await source.stop();
  const ms = performance.now() - t0;
  assert.ok(ms < 3000, `stop took ${ms.toFixed(0)} ms with a parse hanging`);
  await starting; // start() settles too
});

test('parser: tendctl validate reports a crashing file and a good one, and exits promptly', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  await fs.writeFile(path.join(dir, 'deep.hcl'), nested(20_000));
  await fs.writeFile(path.join(dir, 'web.hcl'), good('web'));
  const started = Date.now();
  const run = await startCli(['validate', dir], { env: { NO_COLOR: '1' } }).done;
  const ms = Date.now() - started;
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stdout + run.stderr, new RegExp(`${path.join(dir, 'deep.hcl')}:${MAX_NESTING + 1}:3: error: nesting too deep`));
  assert.match(run.stdout + run.stderr, /2 files: 1 valid, 1 invalid/);
  assert.ok(ms < 20_000, `validate took ${ms} ms`);
  // Loading straight from the loader in this process agrees.
  assert.equal((await loadFile(path.join(dir, 'web.hcl'))).ok, true);
});

test('parser: a real agent reports a file of 20,000 nested blocks and still starts a job dropped in afterwards', { timeout: 120_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await createHarness();
  t.after(() => h.cleanup());
  await h.writeJob('deep.hcl', nested(20_000));
  await h.start();
  await h.writeJob('web.hcl', job('web'));
  const id = 'web/g[0]/t';
  await waitFor(() => Boolean(running(h, id)), { what: `${id} running`, timeoutMs: 30_000 }).catch((e) => assert.fail(`${e.message}\n${h.agentLog().slice(-3000)}`));
  const status = await h.tendctl(['status']);
  assert.match(status.stdout, new RegExp(`deep\\.hcl:${MAX_NESTING + 1}:3: error: nesting too deep`), status.stdout + status.stderr);
  const events = await h.tendctl(['events']);
  assert.match(events.stdout, /deep\.hcl.*nesting too deep/, events.stdout);
  // A second good file after that loads too: the loop did not get stuck on the first bad one.
  await h.writeJob('api.hcl', job('api'));
  await waitFor(() => Boolean(running(h, 'api/g[0]/t')), { what: 'api running', timeoutMs: 30_000 });
});
