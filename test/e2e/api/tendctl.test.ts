/**
 * tendctl as an operator runs it: the real `bin/tendctl.js` as a subprocess,
 * against the real API server on a temp unix socket, backed by a fake
 * AgentApi (in-memory tasks and events, a real `sh` for exec, real log files).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { startApiServer, type ApiServer } from '../../../src/api/server.js';
import { PromMetrics } from '../../../src/api/metrics.js';
import type { JobView } from '../../../src/api/api.js';
import { FakeAgent, makeTask } from './fake-agent.js';
import { waitFor } from '../../helpers/wait.js';
import { killCliChildren, startCli, type Run, type Started } from '../../helpers/cli.js';
import { requireRoot } from '../../helpers/gates.js';
import { platform } from '../../../src/platform.js';

const BIN = fileURLToPath(new URL('../../../bin/tendctl.js', import.meta.url));
let root: string;
let sock: string;
let logDir: string;
let agent: FakeAgent;
let server: ApiServer;
const children = new Set<ChildProcess>();

function fixture(): JobView[] {
  const now = Date.now();
  return [
    {
      id: 'web',
      file: '/jobs/web.hcl',
      type: 'service',
      status: 'running',
      tasks: [makeTask('web', 'frontend', 0, 'server'), makeTask('web', 'frontend', 1, 'server', { pid: 2001 })],
    },
    {
      id: 'api',
      file: '/jobs/api.hcl',
      type: 'service',
      status: 'running',
      tasks: [
        makeTask('api', 'api', 0, 'app', {
          state: 'restarting',
          pid: undefined,
          restarts: 4,
          nextRestartAt: new Date(now + 12_900).toISOString(),
          lastExit: { code: 1, signal: null, oomKilled: false, at: new Date(now - 3000).toISOString(), known: true },
        }),
      ],
    },
    {
      id: 'broken',
      file: '/jobs/broken.hcl',
      type: 'service',
      status: 'invalid',
      reason: 'file invalid (last good version in force)',
      tasks: [],
      diagnostics: [
        { severity: 'error', kind: 'schema', file: '/jobs/broken.hcl', line: 12, column: 7, path: 'job "broken" › group "g" › task "t" › resources', message: 'unknown field "memroy"', hint: 'did you mean "memory"?' },
      ],
    },
    { id: 'gpu', file: '/jobs/gpu.hcl', type: 'batch', status: 'excluded', reason: 'not for this node: ${attr.kernel.name} = windows', tasks: [] },
    { id: 'logger', file: '/jobs/logger.hcl', type: 'service', status: 'running', tasks: [makeTask('logger', 'main', 0, 'log', { dirs: { alloc: '/a', task: '/t', logs: '', logKey: 'log' } })] },
  ];
}

/** Starts tendctl; its output accumulates on the returned object. */
function start(args: string[], o: { env?: NodeJS.ProcessEnv; input?: string; prefix?: string[] } = {}): Started {
  return startCli(args, { ...o, env: { TEND_ADDR: `unix://${sock}`, TEND_TOKEN: '', NO_COLOR: '', CI: process.env.CI ?? '', ...o.env } });
}

const tendctl = (args: string[], o: Parameters<typeof start>[1] = {}) => start(args, o).done;

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'tend-tendctl-'));
  sock = path.join(root, 'tend.sock');
  logDir = path.join(root, 'logs');
  await mkdir(logDir);
  const jobs = fixture();
  jobs[4].tasks[0].dirs!.logs = logDir;
  agent = new FakeAgent(jobs, [
    { path: '/jobs/broken.hcl', ok: false, jobs: ['broken'], diagnostics: jobs[2].diagnostics!, lastGoodAt: new Date(Date.now() - 600_000).toISOString() },
  ]);
  agent.statsById['web/frontend[0]/server'] = { at: Date.now(), pids: 1, cpuPercent: 12.4, memoryBytes: 50 * 1024 * 1024, memoryLimitBytes: 300 * 1024 * 1024 };
  agent.publish({ task: 'web/frontend[0]/server', job: 'web', type: 'Started', message: 'Task started by client', time: new Date(Date.now() - 65_000).toISOString() });
  agent.publish({ file: '/jobs/broken.hcl', job: 'broken', type: 'File Error', message: 'unknown field "memroy"' });
  server = await startApiServer(agent, {
    socket: sock,
    logger: pino({ level: 'silent' }),
    metrics: new PromMetrics({ defaultMetrics: false }),
    heartbeatMs: 200,
  });
});

after(async () => {
  killCliChildren();
  for (const c of children) c.kill('SIGKILL');
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

test('tendctl status: one line per instance grouped by job, crash loop and troubled jobs, no ANSI when piped', async () => {
  const t0 = Date.now();
  agent.jobList[1].tasks[0].nextRestartAt = new Date(t0 + 12_900).toISOString();
  const r = await tendctl(['status']);
  const elapsedS = (Date.now() - t0) / 1000;
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /\x1b\[/);
  const lines = r.stdout.split('\n');
  assert.match(lines[0], /^JOB\s+GROUP\s+TASK\s+DRIVER\s+STATE\s+PID\s+UPTIME\s+RESTARTS\s+CPU\s+MEMORY\s+DETAILS$/);
  const web0 = lines.find((l) => l.includes('frontend[0]'))!;
  assert.match(web0, /^web\s+frontend\[0\]\s+server\s+raw_exec\s+running\s+1000\s+1m\d+s\s+0\s+12%\s+50 MiB \/ 300 MiB\s+-$/);
  const app = lines.find((l) => l.startsWith('api'))!;
  const m = /restarting\s+-\s+-\s+4\s+-\s+-\s+exit 1 \d+s ago; restarting in (\d+)s$/.exec(app);
  assert.ok(m, app);
  // 12.9 s ahead when the call started: what is left when tendctl printed it (a loaded machine is slow to start node).
  const left = Number(m[1]);
  assert.ok(left <= 12 && left >= Math.floor(12.9 - elapsedS) - 1, `${left}s left after ${elapsedS}s: ${app}`);
  // grouped by job: api's line comes before both web lines
  assert.ok(lines.indexOf(app) < lines.indexOf(web0));
  assert.match(r.stdout, /Jobs not running as written:\n\s+JOB\s+STATUS\s+FILE\s+REASON/);
  assert.match(r.stdout, /broken\s+invalid\s+\/jobs\/broken\.hcl\s+file invalid \(last good version in force\)/);
  assert.match(r.stdout, /gpu\s+excluded\s+\/jobs\/gpu\.hcl\s+not for this node/);
  assert.match(r.stdout, /File errors:\n.*last good version .*stays in force\n  \/jobs\/broken\.hcl:12:7: error: unknown field "memroy"\n    at job "broken" › group "g" › task "t" › resources\n    hint: did you mean "memory"\?/);
});

test('tendctl status: -json and --json print the views for scripts', async () => {
  for (const r of await Promise.all(['-json', '--json'].map((flag) => tendctl(['status', flag])))) {
    assert.equal(r.code, 0, r.stderr);
    const v = JSON.parse(r.stdout) as { jobs: JobView[] };
    assert.deepEqual(v.jobs.map((j) => j.id), ['web', 'api', 'broken', 'gpu', 'logger']);
    assert.equal(v.jobs[0].tasks[0].stats?.cpuPercent, 12.4);
  }
});

test('tendctl status: JOB shows its tasks, a task shows spec and recent events with relative times', async () => {
  const [job, task] = await Promise.all([tendctl(['status', 'web']), tendctl(['status', 'web/frontend[0]/server'])]);
  assert.equal(job.code, 0, job.stderr);
  assert.match(job.stdout, /^ID\s+= web$/m);
  assert.equal(job.stdout.match(/^frontend\[\d\]/gm)?.length, 2);
  assert.match(job.stdout, /Recent Events:\nTime\s+Task\s+Type\s+Description\n1m\d+s ago\s+web\/frontend\[0\]\/server\s+Started\s+Task started by client\n$/);
  assert.equal(task.code, 0, task.stderr);
  assert.match(task.stdout, /^State\s+= running$/m);
  assert.match(task.stdout, /Task Spec \(resolved, from \/jobs\/web\.hcl\)/);
  assert.match(task.stdout, /command = "\/bin\/sh"/);
  assert.match(task.stdout, /Recent Events:\nTime\s+Type\s+Description\n1m\d+s ago\s+Started\s+Task started by client/);
});

test('tendctl status: unambiguous prefixes resolve, ambiguous ones list the matches', async () => {
  const [one, many] = await Promise.all([tendctl(['status', 'api/app']), tendctl(['restart', 'web/frontend'])]);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /^ID\s+= api\/api\[0\]\/app$/m);
  assert.equal(many.code, 1);
  // The error code ends the first line, not the list.
  assert.equal(many.stderr, 'tendctl restart: task "web/frontend" matches 2 instances; name one: [E_TASK_AMBIGUOUS]\n  web/frontend[0]/server\n  web/frontend[1]/server\n');
  assert.equal(agent.calls.length, 0);
});

test('tendctl logs: unknown task is a 404 naming it, exit 1, no stack', async () => {
  const [r, s] = await Promise.all([tendctl(['logs', 'nope']), tendctl(['status', 'nope'])]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'tendctl logs: task "nope" not found (tendctl status lists the tasks) [E_TASK_NOT_FOUND]\n');
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.equal(s.code, 1);
  assert.equal(s.stderr, 'tendctl status: no job or task matches "nope" (tendctl status lists them) [E_TASK_NOT_FOUND]\n');
});

test('tendctl events: lists the backlog, -f receives a published event, -job filters', async () => {
  const list = await tendctl(['events']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /web\/frontend\[0\]\/server  Started  Task started by client\n.*broken  File Error  unknown field/);
  const before = agent.subscribers;
  const f = start(['events', '-f', '-job', 'web']);
  await waitFor(() => agent.subscribers > before && f.out.stdout.includes('Task started by client'), { what: 'events -f to subscribe', timeoutMs: 10_000 });
  agent.publish({ task: 'api/api[0]/app', job: 'api', type: 'Restarting', message: 'other job' });
  agent.publish({ task: 'web/frontend[1]/server', job: 'web', type: 'Signaled', message: 'Task received signal SIGHUP' });
  await waitFor(() => f.out.stdout.includes('Task received signal SIGHUP'), { what: 'the published event' });
  assert.doesNotMatch(f.out.stdout, /other job|File Error/);
  f.child.kill('SIGTERM');
  await f.done;
  await waitFor(() => agent.subscribers === before, { what: 'the server to drop the subscription' });
});

test('tendctl logs: -n tails, -stderr picks the stream, -f follows across a rotation', async () => {
  await writeFile(path.join(logDir, 'log.stdout.0'), 'line1\nline2\n');
  await writeFile(path.join(logDir, 'log.stderr.0'), 'oops\n');
  const [all, tail, err] = await Promise.all([tendctl(['logs', 'logger']), tendctl(['logs', '-n', '1', 'logger']), tendctl(['logs', '-stderr', 'logger'])]);
  assert.equal(all.code, 0, all.stderr);
  assert.equal(all.stdout, 'line1\nline2\n');
  assert.equal(tail.stdout, 'line2\n');
  assert.equal(err.stdout, 'oops\n');
  const f = start(['logs', '-f', 'logger/main']);
  await waitFor(() => f.out.stdout === 'line1\nline2\n', { what: 'the existing lines', timeoutMs: 10_000 });
  await appendFile(path.join(logDir, 'log.stdout.0'), 'line3\n');
  await waitFor(() => f.out.stdout.endsWith('line3\n'), { what: 'an appended line' });
  // rotation: the writer moves on to a new, higher-numbered file
  await writeFile(path.join(logDir, 'log.stdout.1'), 'line4\n');
  await waitFor(() => f.out.stdout.endsWith('line4\n'), { what: 'a line of the rotated-to file' });
  assert.equal(f.out.stdout, 'line1\nline2\nline3\nline4\n');
  f.child.kill('SIGTERM');
  await f.done;
});

test('tendctl exec: output and exit code of the command, -i passes stdin', async () => {
  const [r, i] = await Promise.all([
    tendctl(['exec', 'web/frontend[0]/server', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']),
    tendctl(['exec', '-i', 'web/frontend[1]', '--', 'sh', '-c', 'tr a-z A-Z'], { input: 'hello\n' }),
  ]);
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
  assert.equal(i.code, 0, i.stderr);
  assert.equal(i.stdout, 'HELLO\n');
  await waitFor(() => agent.execPids.size === 0, { what: 'exec children to end' });
});

test('tendctl signal and restart: call through to the agent with the resolved id', async () => {
  agent.calls.length = 0;
  const s = await tendctl(['signal', 'web/frontend[1]', 'hup']);
  assert.equal(s.code, 0, s.stderr);
  assert.equal(s.stdout, 'Sent SIGHUP to web/frontend[1]/server\n');
  const r = await tendctl(['restart', 'api/app']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(agent.calls, [
    { kind: 'signal', id: 'web/frontend[1]/server', signal: 'SIGHUP' },
    { kind: 'restart', id: 'api/api[0]/app' },
  ]);
  const bad = await tendctl(['signal', 'web/frontend[1]', 'SIGNOPE']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid signal: expected a name like SIGHUP or a number, got "SIGNOPE"/);
});

test('tendctl node: drivers with why not, cgroup mode, cores, attributes', async () => {
  const r = await tendctl(['node']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Cgroup Mode\s+= hybrid$/m);
  assert.match(r.stdout, /^Cores\s+= 0-1$/m);
  assert.match(r.stdout, /exec\s+yes\s+no\s+requires root/);
  assert.match(r.stdout, /^  kernel\.name\s+= linux$/m);
});

test('tendctl: agent not running is a clear one-line error and exit 1', async () => {
  const r = await tendctl(['status'], { env: { TEND_ADDR: `unix://${root}/missing.sock` } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^tendctl status: cannot reach the tend agent at unix:\/\/.*missing\.sock: no such socket \(is the agent running\? set -address or TEND_ADDR\)/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('tendctl: a non-root user cannot talk to the socket (mode 0600)', async (t) => {
  if (!requireRoot(t)) return;
  await chmod(root, 0o755); // only the socket's own mode stands in the way
  try {
    const r = await tendctl(['status'], { prefix: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'], env: { HOME: '/tmp' } });
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`permission denied on ${sock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: run as the agent's user or root`));
  } finally {
    await chmod(root, 0o700);
  }
});

test('tendctl events -f: the agent going away ends it with exit 1 and says so', async (t) => {
  const other = new FakeAgent();
  const otherSock = path.join(root, 'other.sock');
  const s = await startApiServer(other, { socket: otherSock, logger: pino({ level: 'silent' }), metrics: new PromMetrics({ defaultMetrics: false }) });
  t.after(() => s.close());
  const f = start(['events', '-f'], { env: { TEND_ADDR: `unix://${otherSock}` } });
  await waitFor(() => other.subscribers === 1, { what: 'events -f to subscribe', timeoutMs: 10_000 });
  await s.close();
  const r = await f.done;
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'tendctl events: the agent ended the stream (did it stop?)\n');
});

test('tendctl status: colours on a terminal', async (t) => {
  if (!platform().which('script')) return t.skip('script(1) not installed');
  const r = await new Promise<Run>((resolve) => {
    // script(1) gives tendctl a pseudo-terminal as stdout.
    const child = spawn('script', ['-qec', `${process.execPath} ${BIN} status`, '/dev/null'], {
      env: { ...process.env, TEND_ADDR: `unix://${sock}`, NO_COLOR: '', TERM: 'xterm' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    const out: Run = { code: null, stdout: '', stderr: '' };
    child.stdout.on('data', (d) => (out.stdout += d));
    child.stderr.on('data', (d) => (out.stderr += d));
    child.once('close', (code) => {
      children.delete(child);
      resolve({ ...out, code });
    });
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\x1b\[32mrunning\x1b\[39m/);
  assert.match(r.stdout, /\x1b\[33mrestarting\x1b\[39m/);
  assert.match(r.stdout, /\x1b\[1mJOB\x1b\[22m/);
});
