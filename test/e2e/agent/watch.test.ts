/**
 * Watching and waiting through tendctl against a real agent (plain executor):
 * `wait` converging with progress (lines when piped, a bar on a terminal),
 * failing at once or timing out with the reason; `restart -wait`; `status -w`
 * under a pseudo-terminal (util-linux `script`) and piped, ending when the
 * agent goes away; `logs` of a job merged with prefixes, -timestamps, -since,
 * -tail, -f; the stderr lines of a failed task in `status TASK`.
 *
 * Run alone: TEND_SKIP_TYPECHECK=1 CI=true node scripts/test.mjs test/e2e/agent/watch.test.ts
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { waitFor } from '../../helpers/wait.js';
import { killCliChildren, startCli, TENDCTL, type Started } from '../../helpers/cli.js';
import { createHarness, running, type Harness } from './harness.js';

const T = 20_000;
let h: Harness;

function service(name: string, o: { count?: number; script?: string; restart?: string } = {}): string {
  return `job "${name}" {
  group "g" {
    count = ${o.count ?? 1}
    update {
      min_healthy_time = "0s"
    }
${o.restart ?? ''}    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", ${JSON.stringify(o.script ?? 'exec sleep 1000')}]
      }
      kill_timeout = "1s"
    }
  }
}
`;
}

function batch(name: string, script: string): string {
  return `job "${name}" {
  type = "batch"
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", ${JSON.stringify(script)}]
      }
    }
  }
}
`;
}

const failFast = '    restart {\n      attempts = 0\n      mode     = "fail"\n    }\n';
const slowLoop = '    restart {\n      attempts = 10\n      delay    = "30s"\n      mode     = "delay"\n    }\n';

/** tendctl COMMAND -address SOCKET ARGS…, output piped. */
function ctl(args: string[]): Started {
  return startCli([args[0], '-address', `unix://${h.socket}`, ...args.slice(1)], { env: { NO_COLOR: '' } });
}

/** tendctl under a pseudo-terminal of 200 × 60 (util-linux script); stdin stays open for keys. */
function onTerminal(args: string[]) {
  const cmd = `stty rows 60 cols 200; exec ${process.execPath} ${TENDCTL} ${args[0]} -address unix://${h.socket} ${args.slice(1).map((a) => `'${a}'`).join(' ')}`;
  const child = spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = { text: '', code: null as number | null };
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out.text += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out.text += d));
  const done = new Promise<number | null>((r) => child.once('close', (code) => r((out.code = code))));
  return { child, out, done, key: (s: string) => child.stdin.write(s) };
}

before(async () => {
  h = await createHarness();
  await h.start();
});

after(async () => {
  killCliChildren();
  await h?.cleanup();
});

test('tendctl wait: converges with a progress line each time it changes; a bar on a terminal', { timeout: 60_000 }, async () => {
  // Named jobs the agent does not know yet are waited for: the files come after the wait started.
  const w = ctl(['wait', '-timeout', '30s', 'web', 'report']);
  await waitFor(() => w.out.stdout.includes('job web is not known to the agent (yet)'), { what: 'wait to start', timeoutMs: T });
  await h.writeJob('web.hcl', service('web', { count: 3 }));
  await h.writeJob('report.hcl', batch('report', 'sleep 0.5; echo done'));
  const r = await w.done;
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines[0], '0/0 running; job web is not known to the agent (yet); job report is not known to the agent (yet)');
  assert.match(lines[lines.length - 1], /^converged: 4\/4 ready \(2 jobs\) in \d+\.\ds$/);
  const progress = lines.slice(1, -1);
  // (One file may be read before the other: 3 tasks of one job, the other not known yet.)
  for (const l of progress) assert.match(l, /^\d\/[34] (ready|running|complete)( \(.*\))?(; .*)?$/, l);
  assert.match(progress[progress.length - 1], /^4\/4 ready$/);
  // wait had the agent read the jobs dir first, not waiting for its watch.
  assert.match(h.agentLog(), /"reason":"api"[^\n]*"msg":"relisted jobs dir"/);
  for (let i = 1; i < lines.length - 1; i++) assert.notEqual(lines[i], lines[i - 1], 'a line only when it changes');
  assert.doesNotMatch(r.stdout, /\x1b\[/);
  // The store file follows within a write.
  await waitFor(() => running(h, 'web/g[2]/t') !== undefined && h.records()['report/g[0]/t']?.state === 'complete', { what: 'web running, report complete in the store', timeoutMs: 5000 });

  // On a terminal: one line redrawn (carriage returns), a bar, the cursor hidden and shown again.
  await h.writeJob('slow.hcl', batch('slow', 'sleep 1'));
  const tty = onTerminal(['wait', '-timeout', '20s', 'slow']);
  assert.equal(await tty.done, 0, tty.out.text);
  assert.match(tty.out.text, /\r\[[█░]+\] [01]\/1 complete/);
  assert.match(tty.out.text, /\x1b\[\?25l[\s\S]*converged: 1\/1 complete \(1 job\)/);
  assert.match(tty.out.text, /\x1b\[\?25h/);
});

test('tendctl wait: a failed task exits 4 at once, a crash loop times out (3), each with the task and its last event; status TASK shows its stderr', { timeout: 60_000 }, async () => {
  await h.writeJob('bad.hcl', service('bad', { script: 'echo boom >&2; exit 3', restart: failFast }));
  const bad = await ctl(['wait', '-timeout', '20s', 'bad']).done;
  assert.equal(bad.code, 4, bad.stderr + bad.stdout);
  assert.match(bad.stderr, /^tendctl wait: cannot converge without an operator \(0\/1 running \(1 failed\).*\):\n/);
  // The task, why, and its last event (the rollout's failure may be listed too).
  assert.match(bad.stderr, /^ {2}bad\/g\[0\]\/t: failed: .*\(last exit code 3\); last event \S+( ago)?: Not Restarting: /m);
  const st = await ctl(['status', 'bad/g[0]/t']).done;
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, /^Recent Stderr:\n {2}boom\n$/m);

  await h.writeJob('loop.hcl', service('loop', { script: 'exit 3', restart: slowLoop }));
  // performance.now(): a wall clock stepped meanwhile (NTP on a VM) is no slow wait.
  const t0 = performance.now();
  const loop = await ctl(['wait', '-timeout', '2s', 'loop']).done;
  assert.equal(loop.code, 3, loop.stderr + loop.stdout);
  const took = performance.now() - t0;
  assert.ok(took < 10_000, `wait -timeout 2s took ${Math.round(took)} ms`);
  assert.match(loop.stderr, /^tendctl wait: timed out after 2s \(0\/1 running \(1 restarting\)(; loop: rollout running)?\); not converged:\n/);
  assert.match(loop.stderr, /^ {2}loop\/g\[0\]\/t: restarting after exit code 3( \(\d restarts?\))?; last event .*: Restarting: Task restarting in /m);

  // A file that does not load fails every wait that covers it, at once.
  await h.writeJob('broken.hcl', 'job "broken" {\n  group "g" {\n');
  const broken = await ctl(['wait', '-timeout', '20s']).done;
  assert.equal(broken.code, 4, broken.stderr);
  assert.match(broken.stderr, /broken\.hcl:\d+: /);

  // Removed, the node converges again once their tasks are gone (no event says so: wait looks again).
  await Promise.all(['bad.hcl', 'loop.hcl', 'broken.hcl'].map((f) => rm(path.join(h.jobsDir, f))));
  const ok = await ctl(['wait', '-timeout', '20s']).done;
  assert.equal(ok.code, 0, ok.stderr + ok.stdout);
  assert.match(ok.stdout, /converged: 5\/5 ready \(3 jobs\)/);
  const views = JSON.parse((await ctl(['status', '-json', '-no-stats']).done).stdout) as { jobs: { id: string }[] };
  assert.deepEqual(views.jobs.map((j) => j.id).filter((id) => /^(bad|loop|broken)$/.test(id)), []);
  // The store file follows within a write.
  await waitFor(() => !Object.keys(h.records()).some((id) => /^(bad|loop)\//.test(id)), { what: 'the records gone from the store file', timeoutMs: 5000 });
});

test('tendctl restart -wait: returns once the new instance runs, with its new pid', { timeout: 30_000 }, async () => {
  const old = running(h, 'web/g[0]/t')!.handle!.pid;
  const r = await ctl(['restart', '-wait', '-timeout', '20s', 'web/g[0]/t']).done;
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const m = /^web\/g\[0\]\/t runs again: running \(pid (\d+)\), \d+\.\ds after the restart was asked$/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  const pid = Number(m[1]);
  assert.notEqual(pid, old);
  // The store file follows within a write.
  await waitFor(() => running(h, 'web/g[0]/t')?.handle?.pid === pid, { what: `web/g[0]/t running with pid ${pid} in the store`, timeoutMs: 5000 });
  assert.match(r.stdout, /^Restarting web\/g\[0\]\/t: SIGINT now, SIGKILL after 1s/m);
  assert.doesNotMatch(r.stdout, /Follow it/);
});

test('tendctl status -w on a terminal: redraws in place after events, coalesced; Ctrl-C restores the screen and leaves the last view', { timeout: 30_000 }, async () => {
  const w = onTerminal(['status', '-w', '-no-stats', 'web']);
  const frames = () => w.out.text.split('\x1b[H').length - 1;
  await waitFor(() => /\x1b\[\?1049h\x1b\[\?25l/.test(w.out.text) && /g\[1\]\s+t\s+raw_exec\s+\S*running/.test(w.out.text), { what: 'the first frame', timeoutMs: T });
  assert.match(w.out.text, /tendctl status -w web · \d\d:\d\d:\d\d · Ctrl-C to quit/);
  const before = frames();
  const t0 = performance.now();
  const pid = running(h, 'web/g[1]/t')!.handle!.pid;
  assert.equal((await ctl(['restart', 'web/g[1]/t']).done).code, 0);
  await waitFor(() => (running(h, 'web/g[1]/t')?.handle?.pid ?? pid) !== pid, { what: 'web/g[1]/t restarted', timeoutMs: T });
  const newPid = running(h, 'web/g[1]/t')!.handle!.pid;
  await waitFor(() => new RegExp(`g\\[1\\]\\s+t\\s+raw_exec\\s+\\S*running\\S*\\s+${newPid}\\s`).test(w.out.text.slice(w.out.text.lastIndexOf('\x1b[H'))), { what: 'a frame with the new pid', timeoutMs: T });
  // Restart Signaled, Killing, Killed, Started: a few frames, at most 5 a second (and one more for the burst's tail).
  const drawn = frames() - before;
  assert.ok(drawn >= 1 && drawn <= Math.ceil((performance.now() - t0) / 200) + 1, `${drawn} frames in ${Math.round(performance.now() - t0)} ms`);
  // In place: every frame starts at the top-left corner and clears what is left below it.
  for (const frame of w.out.text.split('\x1b[H').slice(1)) assert.match(frame, /\x1b\[J/);
  w.key('\x03');
  assert.equal(await w.done, 0, w.out.text.slice(-500));
  const tail = w.out.text.slice(w.out.text.lastIndexOf('\x1b[?25h\x1b[?1049l'));
  assert.match(tail, new RegExp(`g\\[1\\]\\s+t\\s+raw_exec\\s+\\S*running\\S*\\s+${newPid}\\s`));
});

test('tendctl logs: a job merged with [group[i]/task] prefixes, -timestamps, -since, -tail, -f; one task as written', { timeout: 60_000 }, async () => {
  await h.writeJob('chat.hcl', service('chat', { count: 2, script: 'i=0; while true; do i=$((i+1)); echo "line $i of $NOMAD_ALLOC_INDEX"; echo "err $i" >&2; sleep 0.1; done' }));
  const linesOf = (out: string) => out.trimEnd().split('\n').filter(Boolean);
  await waitFor(async () => {
    const r = await ctl(['logs', 'chat']).done;
    return r.code === 0 && /of 0\n[\s\S]*of 0\n[\s\S]*of 0\n/.test(r.stdout) && /of 1\n[\s\S]*of 1\n[\s\S]*of 1\n/.test(r.stdout);
  }, { what: 'three lines from each instance', timeoutMs: T, intervalMs: 200 });

  const ts = await ctl(['logs', '-timestamps', 'chat']).done;
  assert.equal(ts.code, 0, ts.stderr);
  const parsed = linesOf(ts.stdout).map((l) => {
    const m = /^\[g\[([01])\]\/t\] (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) line (\d+) of (\d)$/.exec(l);
    assert.ok(m, l);
    assert.equal(m[1], m[4], 'the prefix names the instance that wrote the line');
    return { index: m[1], time: Date.parse(m[2]), n: Number(m[3]) };
  });
  for (let i = 1; i < parsed.length; i++) assert.ok(parsed[i].time >= parsed[i - 1].time, 'merged in time order');
  for (const index of ['0', '1']) {
    const ns = parsed.filter((p) => p.index === index).map((p) => p.n);
    assert.deepEqual(ns, ns.map((_, i) => i + 1), `instance ${index}: every line, in order`);
  }

  const tail = await ctl(['logs', '-tail', '2', 'chat']).done;
  const tl = linesOf(tail.stdout);
  assert.equal(tl.length, 4, tail.stdout);
  assert.equal(tl.filter((l) => l.startsWith('[g[0]/t] line ')).length, 2);
  assert.equal(tl.filter((l) => l.startsWith('[g[1]/t] line ')).length, 2);

  // -since an RFC 3339 time: that line and later ones; -since a duration: everything of the last hour.
  const mid = parsed[Math.floor(parsed.length / 2)];
  const since = await ctl(['logs', '-timestamps', '-since', new Date(mid.time).toISOString(), 'chat']).done;
  assert.equal(since.code, 0, since.stderr);
  const sl = linesOf(since.stdout);
  assert.ok(sl.every((l) => Date.parse(l.split(' ')[1]) >= mid.time), since.stdout);
  assert.ok(sl.some((l) => l.endsWith(`line ${mid.n} of ${mid.index}`)), since.stdout);
  assert.ok(sl.length >= parsed.length - parsed.indexOf(mid), `${sl.length} lines since the middle one of ${parsed.length}`);
  const hour = await ctl(['logs', '-since', '1h', 'chat/g[1]']).done;
  assert.match(hour.stdout, /^line 1 of 1\nline 2 of 1\n/, 'one instance: no prefix');
  const bad = await ctl(['logs', '-since', 'yesterday', 'chat']).done;
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /flag -since: expected a duration \(10m, 1h30m\) or an RFC 3339 time/);

  // One task without the new flags: the bytes as written.
  const raw = await ctl(['logs', '-stderr', 'chat/g[0]/t']).done;
  assert.match(raw.stdout, /^err 1\nerr 2\n/);

  // -f follows every instance.
  const f = ctl(['logs', '-f', '-tail', '1', 'chat']);
  const last = Math.max(...parsed.map((p) => p.n));
  await waitFor(() => ['0', '1'].every((i) => new RegExp(`^\\[g\\[${i}\\]/t\\] line (\\d+) of ${i}$`, 'm').test(f.out.stdout) && Math.max(...[...f.out.stdout.matchAll(new RegExp(`line (\\d+) of ${i}`, 'g'))].map((m) => Number(m[1]))) > last + 3), { what: 'new lines of both instances', timeoutMs: T });
  f.child.kill('SIGTERM');
  await f.done;
});

test('tendctl status -w piped: a snapshot under a time header after events; exits 1 when the agent goes away', { timeout: 30_000 }, async () => {
  const w = ctl(['status', '-w', '-no-stats']);
  await waitFor(() => /^# \d{4}-\d\d-\d\dT[\d:.]+Z\nJOB\s+GROUP/m.test(w.out.stdout), { what: 'the first snapshot', timeoutMs: T });
  assert.doesNotMatch(w.out.stdout, /\x1b\[/);
  assert.equal((await ctl(['restart', 'chat/g[1]/t']).done).code, 0);
  await waitFor(() => (w.out.stdout.match(/^# /gm) ?? []).length >= 2, { what: 'a second snapshot', timeoutMs: T });
  assert.match(w.out.stdout, /\n\n# \d{4}-/, 'snapshots are separated by a blank line');
  await h.term();
  const r = await w.done;
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^tendctl status: the agent ended the event stream/m);
});

test('util-linux script is here (the pseudo-terminal tests need it)', () => {
  assert.equal(spawnSync('script', ['--version']).status, 0);
});
