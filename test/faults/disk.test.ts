/**
 * Fault: the data dir's filesystem fills up. A real agent (plain executor)
 * runs on a data dir that is an 8 MiB tmpfs; a task prints continuously and a
 * quiet neighbour sleeps. A file fills the filesystem. Nothing may die: both
 * tasks keep their pids, the log monitor keeps its pid, and a monitor killed
 * while the disk is full is started again by the agent. Status, node and
 * events say so (once per episode). Once the file is gone, new lines reach
 * `tendctl logs`, preceded by the drop marker. Last, a monitor that cannot
 * start at all (its start lock held) refuses no task: a new task starts
 * without it and its output arrives once the monitor is back.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { DiskView, NodeView, TaskEvent } from '../../src/api/api.js';
import { isNoSpace } from '../../src/executor/logs/rotator.js';
import { isAlive, listPids } from '../../src/executor/proc.js';
import { platform } from '../../src/platform.js';
import { requireLinux, requireRoot } from '../helpers/gates.js';
import { createHarness, running, type Harness } from '../e2e/agent/harness.js';
import { waitFor } from '../helpers/wait.js';

const DEADLINE_MS = 20_000;

function printingJob(name: string, script: string): string {
  return `job "${name}" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", ${JSON.stringify(script)}]
      }
      kill_timeout = "1s"
      logs {
        max_files     = 2
        max_file_size = 1
      }
    }
  }
}
`;
}

const CHATTY = printingJob('chatty', 'i=0; while :; do i=$((i+1)); echo "chatty line $i"; sleep 0.02; done');
const QUIET = printingJob('quiet', 'echo quiet started; exec sleep 1000');
const LATE = printingJob('late', 'echo late started; exec sleep 1000');

let h: Harness | undefined;
let mounted: string | undefined;

function logmonPids(stateDir: string): number[] {
  const out: number[] = [];
  for (const pid of listPids()) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes('logmon') && cmd.includes(stateDir)) out.push(pid);
    } catch {
      /* gone */
    }
  }
  return out;
}

async function node(hh: Harness): Promise<NodeView> {
  const r = await hh.tendctl(['node', '-json']);
  assert.equal(r.code, 0, `${r.stderr}\nthe agent's log ends:\n${hh.agentLog().split('\n').slice(-30).join('\n')}`);
  return JSON.parse(r.stdout) as NodeView;
}

async function disk(hh: Harness): Promise<DiskView | undefined> {
  return (await node(hh)).disk;
}

async function events(hh: Harness): Promise<TaskEvent[]> {
  const r = await hh.tendctl(['events', '-json']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as TaskEvent);
}

/** Fill the filesystem of `file` until ENOSPC. */
function fill(file: string): void {
  try {
    writeFileSync(file, Buffer.alloc(64 * 1024 * 1024));
  } catch (err) {
    if (isNoSpace(err)) return;
    throw err;
  }
  assert.fail(`expected ${file} to fill its filesystem`);
}

before(async () => {
  if (!platform().isLinux || !platform().isRoot) return;
  h = await createHarness();
  mkdirSync(h.stateDir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0711', 'tmpfs', h.stateDir]);
  mounted = h.stateDir;
});

after(async () => {
  if (!h) return;
  await h.kill9();
  for (let i = 0; i < 3; i++) for (const pids of h.taskProcs(true).values()) for (const pid of pids) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  for (const pid of logmonPids(h.stateDir)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  await waitFor(() => h!.taskProcs(true).size === 0 && logmonPids(h!.stateDir).length === 0, { what: 'tasks and log monitor gone', timeoutMs: 5000 }).catch(() => {});
  if (mounted) {
    try {
      execFileSync('umount', [mounted]);
    } catch {
      execFileSync('umount', ['-l', mounted]);
    }
  }
  await h.cleanup();
});

test('disk: a full data dir drops task output, kills nothing, is reported, and logs resume with a marker', async (t) => {
  // mounts a tmpfs: skips with the reason on a laptop, fails under CI=true
  if (!requireLinux(t) || !requireRoot(t) || !h) return;
  await h.writeJob('chatty.hcl', CHATTY);
  await h.writeJob('quiet.hcl', QUIET);
  await h.start();
  const chattyId = 'chatty/g[0]/t';
  const quietId = 'quiet/g[0]/t';
  await waitFor(() => !!running(h!, chattyId) && !!running(h!, quietId), { what: 'both tasks running', timeoutMs: DEADLINE_MS });
  const chattyPid = running(h, chattyId)!.handle!.pid;
  const quietPid = running(h, quietId)!.handle!.pid;
  await waitFor(async () => /chatty line \d+/.test((await h!.tendctl(['logs', chattyId])).stdout), { what: 'chatty output in its log', timeoutMs: DEADLINE_MS });
  const monitor = logmonPids(h.stateDir);
  assert.equal(monitor.length, 1, 'one log monitor');
  await waitFor(async () => (await disk(h!))?.low === false, { what: 'a first disk check, not low', timeoutMs: DEADLINE_MS });

  fill(path.join(h.stateDir, 'filler'));

  // Reported: low space, output dropped for the chatty task.
  await waitFor(
    async () => {
      const d = await disk(h!);
      return !!d?.low && d.freeBytes < d.lowBytes && d.logs.droppingTasks.includes(chattyId);
    },
    { what: 'node view: disk low and chatty dropping', timeoutMs: DEADLINE_MS },
  );
  const status = await h.tendctl(['status', '-no-stats']);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /Node warnings:/);
  assert.match(status.stdout, /low on space/);
  assert.match(status.stdout, /dropped for lack of space: chatty\/g\[0\]\/t/);
  const nodeText = await h.tendctl(['node', '-no-color']);
  assert.match(nodeText.stdout, /Data Dir Free += \S+ (B|KiB) of 8 MiB \(low: below/);
  assert.match(nodeText.stdout, /Logs Dropped += .*dropping now: chatty\/g\[0\]\/t/);

  // Nothing died.
  assert.ok(isAlive(chattyPid) && isAlive(quietPid), 'both tasks still run');
  assert.deepEqual(logmonPids(h.stateDir), monitor, 'the log monitor is the same process');

  // A monitor killed while the disk is full is started again by the agent; nothing else changes.
  process.kill(monitor[0], 'SIGKILL');
  await waitFor(() => !isAlive(monitor[0]), { what: 'old monitor gone', timeoutMs: 5000 });
  await waitFor(
    async () => {
      const pids = logmonPids(h!.stateDir);
      const d = await disk(h!);
      return pids.length === 1 && pids[0] !== monitor[0] && d?.logs.monitorPid === pids[0];
    },
    { what: 'a new log monitor started by the agent', timeoutMs: DEADLINE_MS },
  );
  const monitor2 = logmonPids(h.stateDir)[0];
  await waitFor(async () => (await disk(h!))?.logs.droppingTasks.includes(chattyId) ?? false, { what: 'the new monitor drops chatty output too', timeoutMs: DEADLINE_MS });

  // Each episode is one event, however many lines were dropped and checks ran.
  const checkedAt = (await disk(h))!.checkedAt;
  await waitFor(async () => (await disk(h!))!.checkedAt !== checkedAt, { what: 'another disk check', timeoutMs: DEADLINE_MS });
  let evs = await events(h);
  assert.equal(evs.filter((e) => e.type === 'Disk Full').length, 1, 'one Disk Full event');
  assert.equal(evs.filter((e) => e.type === 'Logs Dropped' && e.task === chattyId).length, 1, 'one Logs Dropped event for chatty');
  assert.equal(evs.filter((e) => e.type === 'Logs Dropped' && e.task === quietId).length, 0, 'the quiet task dropped nothing');

  // Space again: new lines arrive, after the marker.
  const before = (await h.tendctl(['logs', chattyId])).stdout;
  const lastBefore = Math.max(...[...before.matchAll(/chatty line (\d+)/g)].map((m) => Number(m[1])));
  rmSync(path.join(h.stateDir, 'filler'));
  await waitFor(
    async () => {
      const out = (await h!.tendctl(['logs', chattyId])).stdout;
      const m = /\[tend: (\d+) bytes dropped: no space left on device\]\nchatty line (\d+)/.exec(out);
      return !!m && Number(m[1]) > 0 && Number(m[2]) > lastBefore + 1;
    },
    { what: 'a drop marker followed by new chatty lines', timeoutMs: DEADLINE_MS },
  );
  await waitFor(async () => {
    const d = await disk(h!);
    return d?.low === false && d.logs.droppingTasks.length === 0 && d.logs.droppedBytes > 0;
  }, { what: 'node view: space again, nothing dropping', timeoutMs: DEADLINE_MS });
  evs = await events(h);
  assert.equal(evs.filter((e) => e.type === 'Disk Space Recovered').length, 1);
  assert.equal(evs.filter((e) => e.type === 'Logs Resumed' && e.task === chattyId).length, 1);
  assert.equal(evs.filter((e) => e.type === 'Log Monitor Down').length, 0, 'the monitor could be started on a full disk');

  assert.equal(running(h, chattyId)?.handle?.pid, chattyPid, 'chatty kept its pid');
  assert.equal(running(h, quietId)?.handle?.pid, quietPid, 'quiet kept its pid');
  assert.ok(isAlive(chattyPid) && isAlive(quietPid));
  assert.ok(isAlive(monitor2), 'the restarted monitor runs');
  assert.match((await h.tendctl(['logs', quietId])).stdout, /quiet started/);

  // A log monitor that cannot start (its start lock held by a live process) refuses no task:
  // the task starts without it, the problem is reported, and its output arrives once the monitor is back.
  const lock = path.join(h.stateDir, 'logmon.lock');
  writeFileSync(lock, String(process.pid));
  process.kill(monitor2, 'SIGKILL');
  await waitFor(() => !isAlive(monitor2), { what: 'monitor gone', timeoutMs: 5000 });
  await h.writeJob('late.hcl', LATE);
  await waitFor(() => !!running(h!, 'late/g[0]/t'), { what: 'late task running without a log monitor', timeoutMs: DEADLINE_MS + 10_000 });
  await waitFor(async () => (await events(h!)).some((e) => e.type === 'Log Monitor Down'), { what: 'Log Monitor Down event', timeoutMs: DEADLINE_MS + 10_000 });
  const down = (await disk(h))!;
  assert.equal(down.logs.monitorPid, undefined);
  assert.ok(down.warnings.some((w) => /log monitor not running/.test(w)), down.warnings.join('; '));
  assert.deepEqual(logmonPids(h.stateDir), [], 'no monitor runs while its lock is held');
  const latePid = running(h, 'late/g[0]/t')!.handle!.pid;
  rmSync(lock);
  await waitFor(async () => /late started/.test((await h!.tendctl(['logs', 'late/g[0]/t'])).stdout), { what: 'late output once the monitor is back', timeoutMs: DEADLINE_MS + 10_000 });
  await waitFor(async () => (await events(h!)).some((e) => e.type === 'Log Monitor Back'), { what: 'Log Monitor Back event', timeoutMs: DEADLINE_MS });
  evs = await events(h);
  assert.equal(evs.filter((e) => e.type === 'Log Monitor Down').length, 1, 'one Log Monitor Down event for the episode');
  assert.equal(running(h, 'late/g[0]/t')?.handle?.pid, latePid, 'late kept its pid');
  assert.equal(running(h, chattyId)?.handle?.pid, chattyPid);
  assert.equal(running(h, quietId)?.handle?.pid, quietPid);
  assert.equal(logmonPids(h.stateDir).length, 1, 'one monitor again');
});
