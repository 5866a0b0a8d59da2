import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobView, TaskView } from '../../../src/api/api.js';
import { describeExit, renderEvents, renderJob, renderStatus, renderTask, taskNote } from '../../../src/cli/format/status.js';
import { palette, stripAnsi } from '../../../src/cli/format/color.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const iso = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();

function task(over: Partial<TaskView> = {}): TaskView {
  return {
    id: 'web/fe[0]/server',
    job: 'web',
    group: 'fe',
    index: 0,
    task: 'server',
    allocId: 'a1',
    driver: 'exec',
    state: 'running',
    pid: 4242,
    startedAt: iso(-192_000),
    restarts: 0,
    resources: { cpu: 100, memoryMB: 256 },
    file: '/jobs/web.hcl',
    ...over,
  };
}

const job = (tasks: TaskView[], over: Partial<JobView> = {}): JobView => ({ id: tasks[0]?.job ?? 'j', file: '/jobs/web.hcl', type: 'service', status: 'running', tasks, ...over });

test('status table: a running task shows pid, uptime, cpu and memory used/limit', () => {
  const out = renderStatus(
    { jobs: [job([task()])], files: [], stats: { 'web/fe[0]/server': { at: NOW, pids: 2, cpuPercent: 153.4, memoryBytes: 120 * 1024 ** 2, memoryLimitBytes: 256 * 1024 ** 2 } } },
    { now: NOW },
  );
  assert.equal(
    out,
    'JOB  GROUP  TASK    DRIVER  STATE    PID   UPTIME  RESTARTS  CPU   MEMORY             DETAILS\n' +
      'web  fe[0]  server  exec    running  4242  3m12s   0         153%  120 MiB / 256 MiB  -\n',
  );
});

test('status table: a crash-looping task shows restarts, last exit and the next restart time', () => {
  const t = task({ state: 'restarting', restarts: 5, nextRestartAt: iso(12_000), lastExit: { code: 2, signal: null, oomKilled: false, at: iso(-4_000), known: true } });
  const line = renderStatus({ jobs: [job([t])], files: [] }, { now: NOW }).split('\n')[1];
  assert.match(line, /restarting\s+-\s+-\s+5\s+-\s+-\s+exit 2 4s ago; restarting in 12s$/);
});

test('status table: tasks sorted within a job by group, index and task; jobs by id', () => {
  const out = renderStatus(
    {
      jobs: [
        job([task({ id: 'z/g[0]/t', job: 'z', group: 'g', task: 't' })]),
        job([task({ index: 10, id: 'web/fe[10]/server' }), task({ index: 2, id: 'web/fe[2]/server' })]),
      ],
      files: [],
    },
    { now: NOW },
  );
  const firstCells = out.trim().split('\n').slice(1).map((l) => l.split(/\s+/).slice(0, 2).join(' '));
  assert.deepEqual(firstCells, ['web fe[2]', 'web fe[10]', 'z g[0]']);
});

test('status: invalid, excluded and blocked jobs are listed with why', () => {
  const out = renderStatus(
    {
      jobs: [
        job([], { id: 'gpu', status: 'excluded', reason: 'not for this node: ${attr.kernel.name} = windows' }),
        job([], { id: 'iso', status: 'blocked', reason: 'driver exec unavailable: requires root' }),
      ],
      files: [{ path: '/jobs/bad.hcl', ok: false, jobs: [], diagnostics: [{ severity: 'error', kind: 'syntax', file: '/jobs/bad.hcl', line: 3, column: 1, path: '', message: 'unclosed block' }] }],
    },
    { now: NOW },
  );
  assert.match(out, /^No tasks\.\n\nJobs not running as written:\n/);
  assert.match(out, /gpu\s+excluded\s+\/jobs\/web\.hcl\s+not for this node/);
  assert.match(out, /iso\s+blocked\s+\/jobs\/web\.hcl\s+driver exec unavailable: requires root/);
  assert.match(out, /File errors:\n  \/jobs\/bad\.hcl:3:1: error: unclosed block\n$/);
});

test('status: colours only when the palette is on; the text is the same without them', () => {
  const input = { jobs: [job([task({ state: 'failed', error: 'failed to launch task: ENOENT' })])], files: [] };
  const plain = renderStatus(input, { now: NOW, palette: palette(false) });
  const colored = renderStatus(input, { now: NOW, palette: palette(true) });
  assert.doesNotMatch(plain, /\x1b\[/);
  assert.match(colored, /\x1b\[31mfailed\x1b\[39m/);
  assert.equal(stripAnsi(colored), plain);
});

test('describeExit: codes, signals, OOM and unknown exits', () => {
  const base = { code: null, signal: null, oomKilled: false, at: iso(0), known: true };
  assert.equal(describeExit({ ...base, code: 0 }), 'exit 0');
  assert.equal(describeExit({ ...base, signal: 'SIGKILL' }), 'killed by SIGKILL');
  assert.equal(describeExit({ ...base, code: 137, oomKilled: true }), 'OOM killed');
  assert.equal(describeExit({ ...base, known: false }), 'exit code not recorded');
});

test('taskNote: the current error wins over the last exit', () => {
  const t = task({ state: 'failed', error: 'driver exec unavailable', lastExit: { code: 1, signal: null, oomKilled: false, at: iso(-1000), known: true } });
  assert.equal(taskNote(t, NOW, palette(false)), 'driver exec unavailable');
});

test('renderTask: details, resolved spec and events newest first with relative times', () => {
  const out = renderTask(
    task({
      spec: { config: { command: '/bin/app', args: ['-p', '80'] } },
      events: [
        { seq: 1, time: iso(-3_725_000), task: 'web/fe[0]/server', type: 'Received', message: 'Task received by client' },
        { seq: 2, time: iso(-192_000), task: 'web/fe[0]/server', type: 'Started', message: 'Task started by client' },
      ],
    }),
    { now: NOW },
  );
  assert.match(out, /^Uptime\s+= 3m12s$/m);
  assert.match(out, /Task Spec \(resolved, from \/jobs\/web\.hcl\)\n  config \{\n    command = "\/bin\/app"\n    args    = \["-p", "80"\]\n  \}/);
  assert.match(out, /Recent Events:\nTime\s+Type\s+Description\n3m12s ago\s+Started\s+Task started by client\n1h2m ago\s+Received\s+Task received by client\n$/);
});

test('renderEvents: an unparsable time is shown as given', () => {
  assert.match(renderEvents([{ seq: 1, time: 'yesterday', type: 'Started', message: 'm' }], NOW), /^Time\s+Type\s+Description\nyesterday\s+Started\s+m\n$/);
});

test('status: a task shows its allocation\'s ports (host address and port; `-> to` when mapped; task-level ports named); a job lists them per allocation', () => {
  const ports = [
    { label: 'http', value: 23456, to: 0, hostIp: '127.0.0.1', hostNetwork: 'default' },
    { label: 'db', value: 23457, to: 5432, hostIp: '127.0.0.1', hostNetwork: 'default', static: false },
    { label: 'admin', value: 9000, to: 0, hostIp: 'fd00::1', hostNetwork: 'vpn', static: true, task: 'server' },
  ];
  const out = stripAnsi(renderTask(task({ ports }), { now: NOW, palette: palette(false) }));
  assert.match(out, /^Ports\s+= http: 127\.0\.0\.1:23456, db: 127\.0\.0\.1:23457 -> 5432, admin: \[fd00::1\]:9000 \[task server\]$/m);
  assert.doesNotMatch(stripAnsi(renderTask(task(), { now: NOW })), /^Ports/m);
  const j = renderJob(job([task({ ports: ports.slice(0, 1) }), task({ id: 'web/fe[1]/server', index: 1, allocId: 'a2', ports: [{ ...ports[0], value: 23999 }] })]), [], undefined, { now: NOW });
  assert.match(j, /^Ports\n  GROUP  PORTS\n  fe\[0\]  http: 127\.0\.0\.1:23456\n  fe\[1\]  http: 127\.0\.0\.1:23999\n/m);
});

test('status table: a limit the executor does not enforce (no limit in its stats: the plain executor) says so, never "used / limit"', () => {
  const stats = { 'web/fe[0]/server': { at: NOW, pids: 1, cpuPercent: 1, memoryBytes: 208 * 1024 ** 2 } };
  const out = renderStatus({ jobs: [job([task({ resources: { cpu: 100, memoryMB: 32 } })])], files: [], stats }, { now: NOW });
  assert.match(out.split('\n')[1], /\s208 MiB \(not enforced\)\s+-$/);
  assert.doesNotMatch(out, /\/ 32 MiB/);
  const detail = renderTask(task({ resources: { cpu: 100, memoryMB: 32 }, stats: stats['web/fe[0]/server'] }), { now: NOW });
  assert.match(detail, /^Memory\s+= 208 MiB \(limit 32 MiB not enforced by this agent's executor\)$/m);
});

test('status table: the last exit of a task that runs again is labelled "last exit:", not shown as the running process dying', () => {
  const t = task({ restarts: 1, lastExit: { code: null, signal: 'SIGTERM', oomKilled: false, at: iso(-3_000), known: true } });
  const out = renderStatus({ jobs: [job([t])], files: [] }, { now: NOW });
  assert.match(out.split('\n')[1], /running\s+4242\s+3m12s\s+1\s+-\s+-\s+last exit: killed by SIGTERM 3s ago$/);
  const dead = task({ state: 'failed', pid: undefined, lastExit: { code: 3, signal: null, oomKilled: false, at: iso(-3_000), known: true } });
  assert.match(renderStatus({ jobs: [job([dead])], files: [] }, { now: NOW }).split('\n')[1], /failed\s+-\s+-\s+0\s+-\s+-\s+exit 3 3s ago$/);
});

test('status table: a reason the jobs section prints in full is printed once; the task row keeps its first clause', () => {
  const error = 'driver exec unavailable: needs the oci executor (root, runc and conmon); this agent runs "plain" (set executor = "auto": agent config or -executor)';
  const t = task({ state: 'pending', pid: undefined, startedAt: undefined, error });
  const out = renderStatus({ jobs: [job([t], { status: 'blocked', reason: error })], files: [] }, { now: NOW });
  assert.match(out.split('\n')[1], /pending\s+-\s+-\s+0\s+-\s+-\s+driver exec unavailable \(reason below\)$/);
  assert.equal(out.split(error).length - 1, 1, 'the reason appears once');
  // A job view: its Reason line says it; the row too points there.
  const jv = renderJob(job([t], { status: 'blocked', reason: error }), [], undefined, { now: NOW });
  assert.equal(jv.split(error).length - 1, 1);
  // An error the jobs section does not carry stays in full.
  const alone = renderStatus({ jobs: [job([task({ state: 'pending', pid: undefined, error: 'waiting' })])], files: [] }, { now: NOW });
  assert.match(alone.split('\n')[1], /waiting$/);
});

test('status task view: -verbose adds the full error chain of the last failure (Error Detail); without it, only the reason', () => {
  const t = task({
    state: 'failed',
    pid: undefined,
    error: 'failed to start task: command "/bin/nope" not found in the task\'s root',
    events: [{ seq: 1, time: iso(-1000), task: 'web/fe[0]/server', type: 'Driver Failure', message: 'failed to start task: command "/bin/nope" not found in the task\'s root', details: { error: 'failed to launch task 1234-server: runc create failed: exec: "/bin/nope": stat /bin/nope: no such file or directory' } }],
  });
  assert.doesNotMatch(renderTask(t, { now: NOW }), /runc|1234/);
  assert.match(renderTask(t, { now: NOW, verbose: true }), /^Error Detail = failed to launch task 1234-server: runc create failed: exec: "\/bin\/nope": stat \/bin\/nope: no such file or directory$/m);
});
