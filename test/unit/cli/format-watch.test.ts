import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutLine, fitFrame, frameBytes, FullScreen, StatusLine, visibleWidth } from '../../../src/cli/format/screen.js';
import { formatElapsed, problemLine, problemLines, progressBar, progressText } from '../../../src/cli/format/progress.js';
import { showsStderr, renderTask } from '../../../src/cli/format/status.js';
import { formatLogLine, linePrefixes } from '../../../src/api/routes-logs.js';
import { parseSince } from '../../../src/api/since.js';
import { isNewRun, restartOutcome } from '../../../src/cli/commands/restart.js';
import { parseTimeout } from '../../../src/cli/commands/wait.js';
import type { Convergence } from '../../../src/api/converge.js';
import type { TaskView } from '../../../src/api/api.js';

const conv = (over: Partial<Convergence> = {}): Convergence => ({ converged: false, failed: false, ready: 12, total: 200, label: 'running', notReady: {}, jobs: [], problems: [], ...over });

test('progress: "12/200 running" with the states of the rest, and the rollouts holding it', () => {
  assert.equal(progressText(conv()), '12/200 running');
  assert.equal(progressText(conv({ notReady: { starting: 8, pending: 180 } })), '12/200 running (180 pending, 8 starting)');
  assert.equal(progressText(conv({ problems: [{ job: 'web', why: 'rollout running: Deployment is running', fatal: false }] })), '12/200 running; web: rollout running');
  assert.equal(progressBar(conv({ ready: 5, total: 10 }), 10, 3200), '[█████░░░░░] 5/10 running 3s');
  assert.equal(progressBar(conv({ ready: 0, total: 0 }), 4, 0), '[████] 0/0 running 0s');
  assert.equal(formatElapsed(420), '0.4s');
  assert.equal(formatElapsed(65_000), '1m5s');
});

test('progress: the report names each task with its last event, fatal ones first, at most max', () => {
  const now = Date.parse('2026-11-30T12:00:10Z');
  const ev = { seq: 1, time: '2026-11-30T12:00:07Z', task: 'web/g[1]/t', type: 'Terminated' as const, message: 'exit code 1' };
  assert.equal(problemLine({ job: 'web', task: 'web/g[1]/t', why: 'restarting after exit code 1', fatal: false }, ev, now), '  web/g[1]/t: restarting after exit code 1; last event 3s ago: Terminated: exit code 1');
  const lines = problemLines(
    [
      { job: 'a', why: 'rollout running: x', fatal: false },
      { job: 'b', task: 'b/g[0]/t', why: 'failed: boom', fatal: true },
      { job: 'c', why: 'x', fatal: false },
    ],
    new Map(),
    now,
    2,
  );
  assert.deepEqual(lines, ['  b/g[0]/t: failed: boom', '  a: rollout running: x', '  … and 1 more']);
});

test('screen: lines are cut to the width without counting escape sequences; a tall frame says what it hides', () => {
  const red = '\x1b[31mred\x1b[39m';
  assert.equal(visibleWidth(`ab ${red}`), 6);
  assert.equal(cutLine('abcdef', 4), 'abc…');
  assert.equal(cutLine('abcd', 4), 'abcd');
  assert.equal(cutLine(`x${red}yz`, 4), 'x\x1b[31mre…\x1b[0m');
  assert.deepEqual(fitFrame('1\n2\n3\n4\n', 10, 3), ['1', '2', '… 2 more lines (a taller terminal shows them)'.slice(0, 9) + '…']);
  assert.deepEqual(fitFrame('1\n2\n', 10, 0), ['1', '2']);
  assert.equal(frameBytes(['a', 'b']), '\x1b[Ha\x1b[K\r\nb\x1b[K\x1b[J');
});

test('screen: a full-screen view draws on the alternate screen, redraws on resize and restores the terminal once', () => {
  const writes: string[] = [];
  let onResize: (() => void) | undefined;
  const tty = { columns: 20, rows: 5, write: (s: string) => writes.push(s), on: (_e: 'resize', fn: () => void) => (onResize = fn), off: () => (onResize = undefined) };
  const s = new FullScreen(tty);
  s.draw('hello\nworld\n');
  assert.deepEqual(writes, ['\x1b[?1049h\x1b[?25l', '\x1b[Hhello\x1b[K\r\nworld\x1b[K\x1b[J']);
  tty.columns = 3;
  onResize!();
  assert.equal(writes[2], '\x1b[Hhe…\x1b[K\r\nwo…\x1b[K\x1b[J');
  s.close();
  s.close();
  assert.deepEqual(writes.slice(3), ['\x1b[?25h\x1b[?1049l']);
  assert.equal(onResize, undefined);
  const lineWrites: string[] = [];
  const line = new StatusLine({ columns: 0, write: (x: string) => lineWrites.push(x) });
  line.draw('1/2 running');
  line.close();
  assert.deepEqual(lineWrites, ['\x1b[?25l', '\r1/2 running\x1b[K', '\n\x1b[?25h']);
});

function task(over: Partial<TaskView> = {}): TaskView {
  return { id: 'w/g[0]/t', job: 'w', group: 'g', index: 0, task: 't', allocId: 'a', driver: 'raw_exec', state: 'running', pid: 10, startedAt: '2026-11-30T12:00:00Z', restarts: 0, resources: { cpu: 100, memoryMB: 64 }, file: '/j/w.hcl', ...over };
}
const exit = (code: number | null, signal: string | null = null) => ({ code, signal, oomKilled: false, at: '2026-11-30T12:00:05Z', known: true });

test('status TASK: the last stderr lines of a task that failed, waits to restart or ended badly', () => {
  assert.equal(showsStderr(task({ state: 'failed' })), true);
  assert.equal(showsStderr(task({ state: 'restarting' })), true);
  assert.equal(showsStderr(task({ state: 'dead', lastExit: exit(3) })), true);
  assert.equal(showsStderr(task({ state: 'dead', lastExit: exit(null, 'SIGKILL') })), true);
  assert.equal(showsStderr(task({ state: 'complete', lastExit: exit(0) })), false);
  assert.equal(showsStderr(task({ state: 'running', lastExit: exit(1) })), false);
  const text = renderTask(task({ state: 'failed' }), { now: Date.parse('2026-11-30T12:01:00Z'), stderr: 'boom\nbang\n' });
  assert.match(text, /\nRecent Stderr:\n {2}boom\n {2}bang\n\n/);
  assert.match(renderTask(task({ state: 'failed' }), { now: 0, stderr: '' }), /Recent Stderr:\n {2}\(empty\)\n/);
});

test('logs: prefixes drop the job when all instances share it; lines get [prefix] then the time', () => {
  assert.deepEqual(linePrefixes(['web/g[0]/t', 'web/g[1]/t']), ['g[0]/t', 'g[1]/t']);
  assert.deepEqual(linePrefixes(['web/g[0]/t', 'west/g[0]/t']), ['web/g[0]/t', 'west/g[0]/t']);
  const line = { text: Buffer.from('hello'), time: Date.parse('2026-11-30T12:00:00.123Z') };
  assert.equal(formatLogLine(line, { prefix: 'g[1]/t', timestamps: true }).toString(), '[g[1]/t] 2026-11-30T12:00:00.123Z hello\n');
  assert.equal(formatLogLine({ text: Buffer.from('old') }, { timestamps: true }).toString(), '- old\n');
  assert.equal(formatLogLine(line, {}).toString(), 'hello\n');
});

test('logs -since: a duration back from now or an RFC 3339 time; nothing else', () => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  assert.equal(parseSince('10m', now), now - 600_000);
  assert.equal(parseSince('1h30m', now), now - 5_400_000);
  assert.equal(parseSince('2026-11-30T11:00:00Z', now), now - 3_600_000);
  assert.equal(parseSince('2026-11-30T13:00:00.5+02:00', now), now - 3_600_000 + 500);
  for (const bad of ['10', 'yesterday', '2026-11-30', '-5m', '']) assert.equal(parseSince(bad, now), undefined, bad);
});

test('restart -wait: done once a new run is ready; failed once started again it ends; -timeout parses', () => {
  const before = task({ pid: 10, startedAt: '2026-11-30T12:00:00Z', restarts: 1 });
  assert.equal(isNewRun(before, task({ pid: 11, startedAt: '2026-11-30T12:00:09Z' })), true);
  assert.equal(isNewRun(before, task({ state: 'stopping' })), false);
  assert.deepEqual(restartOutcome(before, task({ state: 'stopping', restarts: 1 }), 'service'), { kind: 'waiting', why: 'stopping' });
  assert.deepEqual(restartOutcome(before, task({ pid: 11, startedAt: '2026-11-30T12:00:09Z', restarts: 2 }), 'service'), { kind: 'done', why: 'running (pid 11)' });
  assert.deepEqual(restartOutcome(before, task({ state: 'restarting', pid: undefined, startedAt: '2026-11-30T12:00:09Z', restarts: 2, lastExit: exit(3) }), 'service'), { kind: 'failed', why: 'ended again (exit code 3) and waits to restart' });
  assert.deepEqual(restartOutcome(before, task({ state: 'failed', restarts: 2, error: 'failed to start task: no such file' }), 'service'), { kind: 'failed', why: 'failed: failed to start task: no such file' });
  // Before the restart is taken up, an old crash loop is not this restart's failure.
  assert.equal(restartOutcome(before, task({ state: 'restarting', restarts: 1, lastExit: exit(1) }), 'service').kind, 'waiting');
  assert.equal(restartOutcome(before, task({ state: 'complete', pid: 12, startedAt: '2026-11-30T12:00:09Z', restarts: 2 }), 'batch').kind, 'done');
  assert.equal(parseTimeout('90s'), 90_000);
  assert.equal(parseTimeout('0'), 0);
  assert.throws(() => parseTimeout('soon'), /flag -timeout: expected a duration \(90s, 5m, 0 for no limit\), got "soon"/);
});
