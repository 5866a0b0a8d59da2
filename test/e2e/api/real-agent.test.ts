/**
 * tendctl as an operator runs it, against a real agent: `bin/tend.js agent`
 * (plain executor, raw_exec tasks) started by the agent e2e harness, and
 * the real `bin/tendctl.js` as a subprocess talking to its unix socket
 * (`-address unix://…` through the harness, `TEND_ADDR` for the streaming
 * commands). /metrics is fetched over the same socket and parsed as
 * Prometheus text. The harness's cleanup kills the agent and every task.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import type { JobView, TaskView } from '../../../src/api/api.js';
import { createHarness, type Harness } from '../agent/harness.js';
import { waitFor } from '../../helpers/wait.js';
import { killCliChildren, startCli, type Started } from '../../helpers/cli.js';
import { requireLinux } from '../../helpers/gates.js';
import { isAlive } from '../../../src/executor/proc.js';


let h: Harness | undefined;

function H(): Harness {
  if (!h) throw new Error('the agent did not start');
  return h;
}

function sock(): string {
  return path.join(H().stateDir, 'tend.sock');
}

// ---------------------------------------------------------------------------
// tendctl as a subprocess

/** Starts tendctl with TEND_ADDR pointing at the agent; its output accumulates on `out`. */
function spawnCtl(args: string[], o: { input?: string } = {}): Started {
  return startCli(args, { env: { TEND_ADDR: `unix://${sock()}`, TEND_TOKEN: '' }, input: o.input });
}

/** `tendctl ARGS -address unix://…` (the harness's runner), failing the test on a non-zero exit. */
async function ctlOk(args: string[]): Promise<string> {
  const r = await H().tendctl(args);
  assert.equal(r.code, 0, `tendctl ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}



/** Jobs files of the form these tests use: one raw_exec task "t" in group "g" running `sh -c SCRIPT`. */
function shJob(name: string, script: string, extra = ''): string {
  return `job "${name}" {
  type = "service"
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", ${JSON.stringify(script)}]
      }
      kill_timeout = "2s"
${extra}    }
  }
}
`;
}

/**
 * GET an API path over the unix socket. tendctl takes ~2 s to start (tsx),
 * so conditions are polled here and tendctl runs for what is checked.
 */
function get(p: string): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath: sock(), path: p }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${p} timed out`)));
  });
}

async function getJson<T>(p: string): Promise<T> {
  const r = await get(p);
  assert.equal(r.status, 200, `GET ${p}: ${r.body}`);
  return JSON.parse(r.body) as T;
}

const apiTask = (id: string) => getJson<TaskView>(`/v1/task/${encodeURIComponent(id)}`);
const apiJobs = () => getJson<JobView[]>('/v1/jobs');

async function waitRunning(id: string, what = `${id} running`): Promise<TaskView> {
  let v: TaskView | undefined;
  await waitFor(
    async () => {
      v = (await apiJobs()).flatMap((j) => j.tasks).find((x) => x.id === id);
      return v?.state === 'running' && v.pid !== undefined;
    },
    { what, timeoutMs: 15_000, intervalMs: 50 },
  );
  return apiTask(id);
}

/** Removes a job file and waits until the agent no longer shows the job. */
async function removeJob(file: string, job: string): Promise<void> {
  await rm(path.join(H().jobsDir, file), { force: true });
  await waitFor(async () => !(await apiJobs()).some((j) => j.id === job), { what: `job ${job} gone`, timeoutMs: 15_000, intervalMs: 50 });
}

// ---------------------------------------------------------------------------
// /metrics over the unix socket, and a strict parser of the Prometheus text format (0.0.4)

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Family {
  name: string;
  type: string;
  help?: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** A value as Go's strconv.ParseFloat reads it (the format's rule): decimal, or NaN / ±Inf in any case. */
function parseValue(s: string, where: string): number {
  if (/^[+-]?nan$/i.test(s)) return NaN;
  if (/^[+-]?inf(inity)?$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`${where}: expected a float value, got "${s}"`);
  return Number(s);
}

/** The family a sample name belongs to: histogram/summary suffixes map to their declared base name. */
function familyOf(name: string, families: Map<string, Family>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const f = families.get(base);
    if (f && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return base;
  }
  return name;
}

/**
 * Parses the Prometheus text exposition format and throws, naming the line,
 * on anything it does not allow: a bad metric or label name, a bad escape,
 * a non-float value, a TYPE after its samples or twice, a family split in
 * two, a repeated series, a histogram without its +Inf bucket or with
 * buckets that go down, or a _count that differs from the +Inf bucket.
 */
function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  const closed = new Set<string>();
  const typed = new Set<string>();
  let current: string | undefined;
  if (text.length && !text.endsWith('\n')) throw new Error('exposition does not end with a newline');
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((line, i) => {
    const where = `line ${i + 1}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest = ''] = m;
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: invalid metric name "${name}"`);
      let f = families.get(name);
      if (!f) {
        if (closed.has(name)) throw new Error(`${where}: family ${name} appears twice`);
        f = { name, type: 'untyped', samples: [] };
        families.set(name, f);
      }
      if (current !== name) {
        if (current) closed.add(current);
        current = name;
      }
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`${where}: invalid type "${rest}" for ${name}`);
        if (f.samples.length) throw new Error(`${where}: TYPE of ${name} after its samples`);
        if (typed.has(name)) throw new Error(`${where}: second TYPE for ${name}`);
        typed.add(name);
        f.type = rest;
      } else {
        if (f.help !== undefined) throw new Error(`${where}: second HELP for ${name}`);
        f.help = rest.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?[ \t]+(\S+)(?:[ \t]+(-?\d+))?$/.exec(line);
    if (!m) throw new Error(`${where}: not a sample line: ${JSON.stringify(line)}`);
    const [, name, rawLabels, rawValue] = m;
    const labels: Record<string, string> = {};
    if (rawLabels) {
      let s = rawLabels.slice(1, -1);
      while (s.length) {
        const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,?)/.exec(s);
        if (!lm) throw new Error(`${where}: invalid labels ${rawLabels}`);
        const [all, lname, lvalue, comma] = lm;
        if (!LABEL_NAME.test(lname)) throw new Error(`${where}: invalid label name "${lname}"`);
        if (lname in labels) throw new Error(`${where}: label ${lname} repeated`);
        labels[lname] = lvalue.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
        s = s.slice(all.length);
        if (!comma && s.length) throw new Error(`${where}: expected "," between labels in ${rawLabels}`);
      }
    }
    const value = parseValue(rawValue, where);
    const fam = familyOf(name, families);
    let f = families.get(fam);
    if (!f) {
      if (closed.has(fam)) throw new Error(`${where}: family ${fam} appears twice`);
      f = { name: fam, type: 'untyped', samples: [] };
      families.set(fam, f);
    }
    if (current !== fam) {
      if (current) closed.add(current);
      if (closed.has(fam)) throw new Error(`${where}: samples of ${fam} are not together`);
      current = fam;
    }
    if (f.type === 'counter' && !(value >= 0)) throw new Error(`${where}: counter ${name} is ${value}`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`${where}: series ${name}${rawLabels ?? ''} repeated`);
    seen.add(key);
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: Family): void {
  const series = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const e = series.get(key) ?? { buckets: [] };
    series.set(key, e);
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`histogram ${f.name}: bucket without le`);
      e.buckets.push([parseValue(le, `${f.name} le`), s.value]);
    } else if (s.name === `${f.name}_count`) e.count = s.value;
    else if (s.name === `${f.name}_sum`) e.sum = s.value;
    else throw new Error(`histogram ${f.name}: unexpected sample ${s.name}`);
  }
  for (const [key, e] of series) {
    const sorted = [...e.buckets].sort((a, b) => a[0] - b[0]);
    if (!sorted.length || sorted[sorted.length - 1][0] !== Infinity) throw new Error(`histogram ${f.name}${key}: no +Inf bucket`);
    for (let i = 1; i < sorted.length; i++) if (sorted[i][1] < sorted[i - 1][1]) throw new Error(`histogram ${f.name}${key}: buckets go down`);
    if (e.count === undefined || e.sum === undefined) throw new Error(`histogram ${f.name}${key}: missing _count or _sum`);
    if (e.count !== sorted[sorted.length - 1][1]) throw new Error(`histogram ${f.name}${key}: _count ${e.count} != +Inf bucket`);
  }
}

/** The value of the one series `name{labels}` (0 when the series does not exist yet). */
function sample(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const f = families.get(familyOf(name, families));
  const want = JSON.stringify(Object.entries(labels).sort());
  const s = f?.samples.find((x) => x.name === name && JSON.stringify(Object.entries(x.labels).sort()) === want);
  return s?.value ?? 0;
}

/** GET /metrics, parsed; tend's own series (not the process defaults) are never NaN. */
async function metrics(): Promise<Map<string, Family>> {
  const r = await get('/metrics');
  assert.equal(r.status, 200, r.body);
  assert.match(r.contentType, /^text\/plain; version=0\.0\.4/);
  const m = parsePrometheusText(r.body);
  const own = [...m.values()].filter((f) => f.name.startsWith('tend_') && !/^tend_(process|nodejs)_/.test(f.name));
  const nan = own.flatMap((f) => f.samples).filter((x) => Number.isNaN(x.value));
  assert.deepEqual(nan, [], 'NaN in tend metrics');
  if (process.env.TEND_DEBUG_METRICS) console.error([...m.values()].flatMap((f) => f.samples).filter((x) => Number.isNaN(x.value)));
  return m;
}

// ---------------------------------------------------------------------------

before(async () => {
  if (process.platform !== 'linux') return;
  h = await createHarness();
  try {
    await h.start();
  } catch (err) {
    await h.cleanup();
    h = undefined;
    throw err;
  }
});

after(async () => {
  killCliChildren();
  await h?.cleanup();
});

/** Writes job files for one test and removes them when it ends, also on failure. */
async function withJobs(files: Record<string, string>, body: () => Promise<void>): Promise<void> {
  for (const [name, text] of Object.entries(files)) await H().writeJob(name, text);
  try {
    await body();
  } finally {
    for (const name of Object.keys(files)) await rm(path.join(H().jobsDir, name), { force: true });
  }
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('tendctl status: a crash-looping task shows its restart count and when it restarts next', async (t) => {
  if (!requireLinux(t)) return;
  const restart = `      restart {\n        attempts = 10\n        interval = "5m"\n        delay    = "2s"\n        mode     = "delay"\n      }\n`;
  await withJobs({ 'crash.hcl': shJob('crash', 'echo boom; exit 1', restart) }, async () => {
    const id = 'crash/g[0]/t';
    await waitFor(
      async () => {
        const v = (await apiJobs()).find((j) => j.id === 'crash')?.tasks[0];
        return v?.state === 'restarting' && v.restarts >= 1;
      },
      { what: 'the crash loop to restart once', timeoutMs: 15_000, intervalMs: 50 },
    );
    // The task is "restarting" all but the few ms it runs: a status taken then is retried.
    let line = '';
    let json: TaskView | undefined;
    let detail = '';
    for (let i = 0; i < 5; i++) {
      const [table, js, one] = await Promise.all([ctlOk(['status', '--no-stats']), ctlOk(['status', '--json', '--no-stats']), ctlOk(['status', id, '--no-stats'])]);
      line = table.split('\n').find((l) => l.startsWith('crash ')) ?? '';
      json = (JSON.parse(js) as { jobs: JobView[] }).jobs.find((j) => j.id === 'crash')?.tasks[0];
      detail = one;
      if (/ restarting /.test(line) && json?.state === 'restarting' && /^State\s+= restarting$/m.test(detail)) break;
    }
    // The table: RESTARTS ≥ 1, the last exit, and when the next restart is due.
    assert.match(line, /^crash\s+g\[0\]\s+t\s+raw_exec\s+restarting\s+-\s+-\s+[1-9]\d*\s+-\s+-\s+exit 1 (now|\d+s ago); restarting (in [\dms]+|now)$/);

    // --json carries the same: restarts and nextRestartAt, `delay` (± 25 % jitter) after the last exit.
    assert.equal(json?.state, 'restarting');
    assert.ok(json!.restarts >= 1, `restarts ${json!.restarts}`);
    assert.equal(json!.lastExit?.code, 1);
    assert.equal(json!.pid, undefined, 'no pid while waiting to restart');
    // Within the 10 attempts the next restart is `delay` (± 25 % jitter) after the exit; after them, at the end of the 5m interval.
    const gap = Date.parse(json!.nextRestartAt!) - Date.parse(json!.lastExit!.at);
    if (json!.restarts < 10) assert.ok(gap >= 1400 && gap <= 2600, `next restart ${gap} ms after the exit, expected 1.5 s to 2.5 s`);
    else assert.ok(gap > 0 && gap <= 300_000, `next restart ${gap} ms after the exit, expected within the 5m interval`);

    // One task's details: restarts, next restart, and events with the exit code.
    assert.match(detail, /^ID\s+= crash\/g\[0\]\/t$/m);
    assert.match(detail, /^Restarts\s+= [1-9]\d*$/m);
    assert.match(detail, /^Next Restart\s+= (in [\dms]+|now)$/m);
    assert.match(detail, /^Last Exit\s+= exit 1 \((now|\d+s ago)\)$/m);
    // The resolved spec in the job file's own terms, not the agent's internal model.
    const spec = detail.slice(detail.indexOf('Task Spec'), detail.indexOf('Recent Events:'));
    assert.match(spec, new RegExp(`^Task Spec \\(resolved, from ${esc(path.join(H().jobsDir, 'crash.hcl'))}\\)$`, 'm'));
    assert.match(spec, /^  config \{\n    args    = \["-c", "echo boom; exit 1"\]\n    command = "\/bin\/sh"\n  \}$/m);
    assert.match(spec, /^  restart \{\n    attempts = 10\n    interval = "5m"\n    delay    = "2s"\n    mode     = "delay"\n  \}$/m);
    assert.match(spec, /^  kill_timeout = "2s"$/m);
    assert.match(spec, /^    memory = 300$/m);
    assert.doesNotMatch(spec, /\b(pos|raw|intervalMs|memoryMB|capAdd)\b/);
    const events = detail.slice(detail.indexOf('Recent Events:'));
    assert.match(events, /^\S+( ago)?\s+Terminated\s+exit code 1$/m);
    assert.match(events, /^\S+( ago)?\s+Restarting\s+Task restarting in \d\.\d\ds$/m);
    assert.match(events, /^\S+( ago)?\s+Started\s+Task started by the agent$/m);
    const terminated = (await apiTask(id)).events!.filter((e) => e.type === 'Terminated');
    assert.ok(terminated.length >= 2, `expected ≥ 2 Terminated events, got ${terminated.length}`);
    for (const e of terminated) assert.equal(e.details?.code, 1);
  });
  await removeJob('crash.hcl', 'crash');
});

test('tendctl logs -f: follows a task across a log rotation, losing and repeating nothing', async (t) => {
  if (!requireLinux(t)) return;
  const LINES = 25_000; // × 57 bytes ≈ 1.4 MB: more than one 1 MB file
  const pad = ' .........................................';
  const script = `echo ready; while [ ! -e local/go ]; do sleep 0.05; done; seq -f 'line %06.0f${pad}' 0 ${LINES - 1}; while [ ! -e local/mark ]; do sleep 0.05; done; echo MARKER after rotation; exec sleep 1000`;
  const logs = `      logs {\n        max_files     = 3\n        max_file_size = 1\n      }\n`;
  await withJobs({ 'chatty.hcl': shJob('chatty', script, logs) }, async () => {
    const task = await waitRunning('chatty/g[0]/t');
    const logDir = task.dirs!.logs;
    const local = path.join(task.dirs!.task, 'local');

    const follow = spawnCtl(['logs', 'chatty', '-f']);
    await waitFor(() => follow.out.stdout.includes('ready\n') || follow.out.code !== null, { what: 'the follower to print the first line', timeoutMs: 15_000 });
    assert.equal(follow.out.code, null, follow.out.stderr);
    assert.equal(existsSync(path.join(logDir, 't.stdout.1')), false, 'no rotation before the burst');

    await writeFile(path.join(local, 'go'), '');
    await waitFor(() => existsSync(path.join(logDir, 't.stdout.1')), { what: 'the log to rotate (t.stdout.1)', timeoutMs: 15_000 });
    await writeFile(path.join(local, 'mark'), '');
    await waitFor(() => follow.out.stdout.includes('MARKER after rotation\n') || follow.out.code !== null, {
      what: 'the follower to print the marker written after the rotation',
      timeoutMs: 15_000,
    });
    assert.equal(follow.out.code, null, `the follower ended: ${follow.out.stderr}`);
    follow.child.kill('SIGINT');
    await follow.done;

    assert.ok(statSync(path.join(logDir, 't.stdout.0')).size <= 1024 * 1024, 'the first file stopped at max_file_size');
    const lines = follow.out.stdout.split('\n');
    assert.equal(lines.pop(), '');
    assert.equal(lines[0], 'ready');
    assert.equal(lines[lines.length - 1], 'MARKER after rotation');
    const body = lines.slice(1, -1);
    assert.equal(body.length, LINES, 'every line once');
    for (let i = 0; i < LINES; i++) {
      if (body[i] !== `line ${String(i).padStart(6, '0')}${pad}`) assert.fail(`line ${i} is ${JSON.stringify(body[i])}`);
    }
    // Reading after the fact gives the same stream; -n counts back across files.
    const [all, tail] = await Promise.all([spawnCtl(['logs', 'chatty']).done, spawnCtl(['logs', 'chatty', '-n', '2']).done]);
    assert.equal(all.code, 0, all.stderr);
    assert.ok(all.stdout === follow.out.stdout, 'tendctl logs prints what the follower saw');
    assert.equal(tail.code, 0, tail.stderr);
    assert.equal(tail.stdout, `line ${String(LINES - 1).padStart(6, '0')}${pad}\nMARKER after rotation\n`);
  });
  await removeJob('chatty.hcl', 'chatty');
});

test('tendctl exec: prints the command output and exits with its code; -i passes stdin', async (t) => {
  if (!requireLinux(t)) return;
  await withJobs({ 'shell.hcl': shJob('shell', 'exec sleep 1000') }, async () => {
    const task = await waitRunning('shell/g[0]/t');
    const [r, i, n, bad] = await Promise.all([
      spawnCtl(['exec', 'shell', '--', 'sh', '-c', 'echo hi; echo "$NOMAD_JOB_NAME in $(pwd)" >&2; exit 5']).done,
      spawnCtl(['exec', '-i', 'shell/g[0]/t', '--', 'sh', '-c', 'tr a-z A-Z; exit 3'], { input: 'from stdin\nsecond line\n' }).done,
      // Without -i the command's stdin is closed: cat ends at once.
      spawnCtl(['exec', 'shell', '--', 'cat'], { input: 'ignored\n' }).done,
      spawnCtl(['exec', 'shell', '--', '/nonexistent/cmd']).done,
    ]);
    assert.equal(r.code, 5, r.stderr);
    assert.equal(r.stdout, 'hi\n');
    assert.equal(r.stderr, `shell in ${task.dirs!.task}\n`);
    assert.equal(i.code, 3, i.stderr);
    assert.equal(i.stdout, 'FROM STDIN\nSECOND LINE\n');
    assert.equal(n.code, 0, n.stderr);
    assert.equal(n.stdout, '');
    // A command that cannot start: a clear error, not a hang.
    assert.equal(bad.code, 127, 'the shell\'s code for a command not found');
    assert.equal(bad.stderr, 'tendctl exec: command "/nonexistent/cmd" not found in the task (No such file or directory)\n');
    // exec left the task alone.
    // -t: a terminal (24×80 when tendctl has none); with -i a shell reads its input through it.
    const [tt, sh] = await Promise.all([
      spawnCtl(['exec', '-t', 'shell', '--', 'sh', '-c', 'test -t 0 && test -t 1 && echo tty; stty size; echo err >&2; exit 6']).done,
      spawnCtl(['exec', '-i', '-t', 'shell', '--', 'sh'], { input: 'echo $((6*7))\nexit 4\n' }).done,
    ]);
    assert.equal(tt.code, 6, tt.stderr);
    assert.equal(tt.stdout, 'tty\r\n24 80\r\nerr\r\n', 'one stream, with the terminal\'s line endings');
    assert.equal(sh.code, 4, sh.stderr);
    assert.match(sh.stdout, /(^|[#$] )42\r\n/m, "the shell's answer, after its prompt");
    const after = await apiTask('shell/g[0]/t');
    assert.equal(after.state, 'running');
    assert.equal(after.pid, task.pid);
  });
  await removeJob('shell.hcl', 'shell');
});

test('tendctl signal and restart: act on a real task; restart gives a new pid, the desired state stays', async (t) => {
  if (!requireLinux(t)) return;
  const text = shJob('sig', 'trap "echo got USR1" USR1; echo up; while true; do sleep 0.1; done');
  await withJobs({ 'sig.hcl': text }, async () => {
    const id = 'sig/g[0]/t';
    const before = await waitRunning(id);
    assert.ok(before.pid && isAlive(before.pid));
    const stdout = path.join(before.dirs!.logs, 't.stdout.0');
    const logText = () => (existsSync(stdout) ? readFileSync(stdout, 'utf8') : '');
    await waitFor(() => logText().includes('up\n'), { what: 'the trap installed', timeoutMs: 10_000 });

    const [sent, bad] = await Promise.all([H().tendctl(['signal', 'sig', 'usr1']), H().tendctl(['signal', 'sig', 'SIGNOPE'])]);
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal(sent.stdout, `Sent SIGUSR1 to ${id}\n`);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid signal: expected a name like SIGHUP or a number, got "SIGNOPE"/);
    await waitFor(() => logText().includes('got USR1\n'), { what: 'the task to handle SIGUSR1', timeoutMs: 10_000 });
    const afterSignal = await apiTask(id);
    assert.equal(afterSignal.state, 'running');
    assert.equal(afterSignal.pid, before.pid, 'a handled signal does not restart the task');
    assert.ok(afterSignal.events!.some((e) => e.type === 'Signaled'), 'a Signaled event');

    // Kill signal and timeout as the job says (Nomad's default SIGINT; kill_timeout 2s), and how to follow it.
    assert.equal(await ctlOk(['restart', 'sig']), `Restarting ${id}: SIGINT now, SIGKILL after 2s if it is still running, then it starts again.\nFollow it: tendctl events -f -task '${id}'\n`);
    let after: TaskView | undefined;
    await waitFor(
      async () => {
        after = await apiTask(id);
        return after.state === 'running' && after.pid !== undefined && after.pid !== before.pid;
      },
      { what: 'the task running again with a new pid', timeoutMs: 15_000, intervalMs: 50 },
    );
    await waitFor(() => !isAlive(before.pid!), { what: 'the old process gone', timeoutMs: 5000 });
    assert.equal(after!.restarts, before.restarts + 1);
    // Desired state unchanged: the same file, the same job, running.
    assert.equal(readFileSync(path.join(H().jobsDir, 'sig.hcl'), 'utf8'), text);
    const job = (await apiJobs()).find((j) => j.id === 'sig');
    assert.equal(job?.status, 'running');
    assert.equal(job?.tasks.length, 1);
    assert.equal(job?.file, path.join(H().jobsDir, 'sig.hcl'));
  });
  await removeJob('sig.hcl', 'sig');
});

test('/metrics: Prometheus text whose task gauge and counters move as a task starts, restarts and stops', async (t) => {
  if (!requireLinux(t)) return;
  // The task gauge follows changes within ~200 ms: start from the settled state of a node that runs nothing.
  const settled = (m: Map<string, Family>) => (m.get('tend_tasks')?.samples ?? []).every((x) => x.value === 0);
  let m0 = await metrics();
  await waitFor(
    async () => {
      m0 = await metrics();
      return (await apiJobs()).length === 0 && settled(m0);
    },
    { what: 'every tend_tasks series at 0 on an empty node', timeoutMs: 10_000, intervalMs: 50 },
  );
  assert.equal(m0.get('tend_tasks')?.type, 'gauge');
  assert.equal(m0.get('tend_task_starts_total')?.type, 'counter');
  assert.equal(m0.get('tend_task_restarts_total')?.type, 'counter');
  assert.equal(m0.get('tend_task_launch_duration_seconds')?.type, 'histogram');
  assert.ok(m0.get('tend_process_cpu_user_seconds_total'), 'default process metrics');
  const running = (m: Map<string, Family>) => sample(m, 'tend_tasks', { state: 'running', driver: 'raw_exec' });
  const starts = (m: Map<string, Family>) => sample(m, 'tend_task_starts_total', { driver: 'raw_exec' });
  const restarts = (m: Map<string, Family>) => sample(m, 'tend_task_restarts_total', { driver: 'raw_exec' });
  const exits = (m: Map<string, Family>) => (m.get('tend_task_exits_total')?.samples ?? []).filter((s) => s.labels.driver === 'raw_exec').reduce((n, s) => n + s.value, 0);
  const launches = (m: Map<string, Family>) => sample(m, 'tend_task_launch_duration_seconds_count', { driver: 'raw_exec' });

  let m1 = m0;
  let m2 = m0;
  await withJobs({ 'metered.hcl': shJob('metered', 'exec sleep 1000') }, async () => {
    await waitFor(
      async () => {
        m1 = await metrics();
        return running(m1) === running(m0) + 1;
      },
      { what: `tend_tasks{state="running"} to go up by one (from ${running(m0)})`, timeoutMs: 15_000, intervalMs: 50 },
    );
    assert.equal(starts(m1), starts(m0) + 1);
    assert.equal(launches(m1), launches(m0) + 1);

    const pid = (await apiTask('metered/g[0]/t')).pid;
    await ctlOk(['restart', 'metered']);
    await waitFor(
      async () => {
        m2 = await metrics();
        return starts(m2) === starts(m1) + 1 && running(m2) === running(m0) + 1;
      },
      { what: 'a second start after tendctl restart', timeoutMs: 15_000, intervalMs: 50 },
    );
    assert.notEqual((await apiTask('metered/g[0]/t')).pid, pid);
    assert.equal(restarts(m2), restarts(m1) + 1, 'tend_task_restarts_total{driver="raw_exec"} counts the restart');
    assert.equal(exits(m2), exits(m1) + 1, 'the restarted process counted as an exit');
  });
  await removeJob('metered.hcl', 'metered');
  let m3 = m2;
  await waitFor(
    async () => {
      m3 = await metrics();
      return running(m3) === running(m0);
    },
    { what: `tend_tasks{state="running"} back to ${running(m0)}`, timeoutMs: 15_000, intervalMs: 50 },
  );
  assert.equal(exits(m3), exits(m2) + 1, 'the stopped process counted as an exit');
  assert.equal(starts(m3), starts(m2));
});

test('tendctl status: an invalid job file shows file:line and why; a job whose driver is unavailable, or whose restart policy gave up, shows why', async (t) => {
  if (!requireLinux(t)) return;
  const broken = `job "broken" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
      resources {
        memroy = 64
      }
    }
  }
}
`;
  const isolated = `job "isolated" {
  group "g" {
    task "t" {
      driver = "exec"
      config {
        command = "/bin/sleep"
        args    = ["1000"]
      }
    }
  }
}
`;
  const giveup = shJob('giveup', 'echo giving up >&2; exit 3', `      restart {\n        attempts = 0\n        mode     = "fail"\n      }\n`);
  await withJobs({ 'broken.hcl': broken, 'isolated.hcl': isolated, 'giveup.hcl': giveup }, async () => {
    const brokenPath = path.join(H().jobsDir, 'broken.hcl');
    const isolatedPath = path.join(H().jobsDir, 'isolated.hcl');
    await waitFor(
      async () => {
        const files = await getJson<{ path: string; ok: boolean }[]>('/v1/files');
        const jobs = await apiJobs();
        return files.some((f) => f.path === brokenPath && !f.ok) && jobs.some((j) => j.id === 'isolated' && j.status === 'blocked') && jobs.some((j) => j.id === 'giveup' && j.status === 'failed');
      },
      { what: 'the agent to load both files', timeoutMs: 15_000, intervalMs: 50 },
    );
    const [out, job, v] = await Promise.all([ctlOk(['status', '--no-stats']), ctlOk(['status', 'isolated', '--no-stats']), spawnCtl(['validate', brokenPath]).done]);
    assert.match(out, new RegExp(`^File errors:\\n(.*\\n)*  ${esc(brokenPath)}:9:9: error: [^\\n]*"memroy"[^\\n]*\\n(.*\\n)*\\s+hint: did you mean "memory"\\?`, 'm'));
    const execReason = 'driver exec unavailable: needs the oci executor (root, runc and conmon); this agent runs "plain" (set executor = "auto": agent config or -executor)';
    assert.match(out, new RegExp(`^Jobs not running as written:\\n(.*\\n)*\\s+isolated\\s+blocked\\s+${esc(isolatedPath)}\\s+${esc(execReason)}$`, 'm'));
    // Printed once: the task's row points to the reason below.
    assert.match(out, /^isolated\s+g\[0\]\s+t\s+exec\s+pending\s+-\s+-\s+0\s+-\s+-\s+driver exec unavailable \(reason below\)$/m);
    assert.equal(out.split(execReason).length - 1, 1);
    // A task whose restart policy gave up: the job says which task and why.
    assert.match(out, /^giveup\s+g\[0\]\s+t\s+raw_exec\s+failed\s+-\s+-\s+0\s+-\s+-\s+Policy allows no restarts$/m);
    const giveupPath = path.join(H().jobsDir, 'giveup.hcl');
    assert.match(out, new RegExp(`^\\s+giveup\\s+failed\\s+${esc(giveupPath)}\\s+giveup/g\\[0\\]/t failed: Policy allows no restarts \\(last exit code 3\\)$`, 'm'));

    assert.match(job, /^Status\s+= blocked$/m);
    assert.match(job, /^Reason\s+= driver exec unavailable: \S/m);
    assert.match(job, /^Reason\s+= driver exec unavailable: needs the oci executor \(root, runc and conmon\); this agent runs "plain" \(set executor = "auto": agent config or -executor\)$/m);
    assert.match(job, /Driver Failure\s+driver exec unavailable: \S/);

    // The same place through `tendctl validate` on the file.
    assert.equal(v.code, 1, v.stderr);
    assert.match(v.stdout + v.stderr, new RegExp(`${esc(brokenPath)}:9:9: error:`));

    // Nothing of either job runs.
    assert.deepEqual([...H().taskProcs().keys()].filter((k) => /^(isolated|broken)\//.test(k)), []);
  });
  await removeJob('isolated.hcl', 'isolated');
  await removeJob('giveup.hcl', 'giveup');
  await waitFor(async () => (await getJson<unknown[]>('/v1/files')).length === 0, { what: 'the file error gone with its file', timeoutMs: 10_000, intervalMs: 50 });
});

test('tendctl status: with raw_exec disabled in the agent config, its jobs are blocked and say why', async (t) => {
  if (!requireLinux(t)) return;
  // A second agent of its own: the harness enables raw_exec, so its config is edited before the start.
  const h2 = await createHarness();
  try {
    const config = readFileSync(h2.configFile, 'utf8');
    assert.match(config, /enabled = true/);
    await writeFile(h2.configFile, config.replace('enabled = true', 'enabled = false'));
    await h2.start();
    await h2.writeJob('plain.hcl', shJob('plain', 'exec sleep 1000'));
    const addr = `unix://${path.join(h2.stateDir, 'tend.sock')}`;
    let out = '';
    await waitFor(
      async () => {
        const r = await h2.tendctl(['status', '--no-stats']);
        out = r.stdout;
        return /plain\s+blocked/.test(out);
      },
      { what: `status of ${addr} to show the job blocked`, timeoutMs: 15_000, intervalMs: 100 },
    );
    assert.match(out, /^plain\s+g\[0\]\s+t\s+raw_exec\s+pending\s+-\s+-\s+0\s+-\s+-\s+driver raw_exec unavailable \(reason below\)$/m);
    assert.match(out, new RegExp(`^\\s+plain\\s+blocked\\s+${esc(path.join(h2.jobsDir, 'plain.hcl'))}\\s+${esc('driver raw_exec unavailable: disabled in the agent config (enable: plugin "raw_exec" { config { enabled = true } })')}$`, 'm'));
    assert.equal(h2.taskProcs().size, 0, 'nothing runs');
  } finally {
    await h2.cleanup();
  }
});

test('tendctl status: after the tests above the agent runs nothing and shows no task', async (t) => {
  if (!requireLinux(t)) return;
  await waitFor(() => H().taskProcs().size === 0, { what: 'no task process left', timeoutMs: 10_000 });
  assert.deepEqual(await apiJobs(), []);
  assert.equal(await ctlOk(['status', '--no-stats']), 'No tasks.\n');
});
