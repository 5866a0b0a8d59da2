/**
 * Fault: a task's monitor is killed. Under the oci executor every task runs
 * under its own conmon, which owns the task's stdout/stderr pipes and writes
 * its exit file. `kill -9` of that conmon leaves the container running,
 * reparented to the host's init, with nobody reading its output and nobody
 * to record its exit. The agent must notice within seconds, report it (a
 * `Monitor Lost` event in `tendctl events` and `tendctl status TASK`), stop
 * what is left of the task, and restart it per its policy under a new conmon
 * whose output reaches `tendctl logs`; also when the monitor dies while the
 * agent is down.
 *
 * A real agent (`bin/tend.js agent -executor oci`), real runc and conmon;
 * what runs is read from /proc, leftovers from /proc, the mount table and
 * every cgroup hierarchy.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { isAlive, listPids, readEnviron, readStat } from '../../src/executor/proc.js';
import type { OciHandleData } from '../../src/executor/oci/oci.js';
import { platform } from '../../src/platform.js';
import type { TaskRecord } from '../../src/store/store.js';
import { createHarness, running, type Harness } from '../e2e/agent/harness.js';
import { cgroupRoots, cgroupTree, mountsUnder } from '../e2e/agent/oci-cleanup.js';
import { requireConmon, requireRoot, requireRunc } from '../helpers/gates.js';
import { waitFor } from '../helpers/wait.js';

const DEADLINE_MS = 20_000;
/** How soon a dead monitor must be noticed (the executor polls every second). */
const DETECT_MS = 5_000;

function gates(t: TestContext): boolean {
  return requireRoot(t) && requireRunc(t) && requireConmon(t);
}

/**
 * A service task printing a numbered line every 0.2 s, each tagged with the
 * run it belongs to (its start time in ns), and a child that stays in the
 * task's cgroup: the orphan a lost monitor would leave. Restarts after 0.5 s.
 */
function printer(name: string, driver: 'exec' | 'raw_exec'): string {
  const script = 'run=$(date +%s%N); sleep 1000 & i=0; while :; do i=$((i+1)); echo "run=$run line=$i"; sleep 0.2; done';
  return `job "${name}" {
  type = "service"
  group "g" {
    restart {
      attempts = 3
      interval = "1h"
      delay    = "500ms"
      mode     = "fail"
    }
    task "t" {
      driver = "${driver}"
      config {
        command = "/bin/sh"
        args    = [${JSON.stringify('-c')}, ${JSON.stringify(script)}]
      }
      kill_signal  = "SIGKILL"
      kill_timeout = "1s"
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`;
}

interface Proc {
  pid: number;
  startTime: number;
}

/** Live processes of an allocation (its tasks' environment names it), with their start times. */
function procsOfAlloc(allocId: string): Proc[] {
  const out: Proc[] = [];
  for (const pid of listPids()) {
    if (pid === process.pid || readEnviron(pid).NOMAD_ALLOC_ID !== allocId) continue;
    const st = readStat(pid);
    if (st && st.state !== 'Z') out.push({ pid, startTime: st.startTime });
  }
  return out;
}

function monitorOf(r: TaskRecord): { pid: number; startTime: number } {
  const d = r.handle!.data as unknown as OciHandleData;
  return { pid: d.conmonPid, startTime: d.conmonStartTime };
}

/** Run tags seen in the task's logs through `tendctl logs`, in order. */
async function runsInLogs(h: Harness, job: string): Promise<string[]> {
  const out = await h.tendctl(['logs', job]);
  const runs: string[] = [];
  for (const m of out.stdout.matchAll(/^run=(\d+) line=\d+$/gm)) if (runs.at(-1) !== m[1]) runs.push(m[1]);
  return runs;
}

function dump(h: Harness): string {
  return `records: ${JSON.stringify(Object.values(h.records()).map((r) => [r.id, r.state, r.handle?.pid, r.lastExit]))}\nlog tail:\n${h.agentLog().split('\n').slice(-30).join('\n')}`;
}

async function until(h: Harness, fn: () => boolean | Promise<boolean>, what: string, timeoutMs = DEADLINE_MS): Promise<void> {
  await waitFor(fn, { timeoutMs, what, intervalMs: 50 }).catch((e: Error) => assert.fail(`${e.message}\n${dump(h)}`));
}

/** Everything the test asserts once the task runs again after its monitor died. */
async function assertRecovered(h: Harness, job: string, old: { record: TaskRecord; procs: Proc[]; run: string }): Promise<void> {
  const id = `${job}/g[0]/t`;
  const oldMonitor = monitorOf(old.record);
  const ev = await h.tendctl(['events', '-task', id, '-no-color']);
  assert.match(ev.stdout, /Monitor Lost\s+Task monitor \(pid \d+\) died/, `expected a Monitor Lost event:\n${ev.stdout}\n${ev.stderr}`);
  assert.match(ev.stdout, /Terminated\s+monitor \(conmon\) died; task stopped/);
  assert.match(ev.stdout, /Restarting\s+Task restarting/);

  // No orphan: every process of the old run is gone, the sleeping child as well as the init.
  assert.ok(old.procs.length >= 2, `expected the task's init and its child, got ${JSON.stringify(old.procs)}`);
  const survivors = old.procs.filter((p) => isAlive(p.pid, p.startTime));
  assert.deepEqual(survivors, [], 'processes of the old run survived');

  // A new run: a new pid under a new, live conmon, and every process of the alloc is the new run's.
  const now = running(h, id)!;
  assert.notEqual(now.handle!.pid, old.record.handle!.pid);
  const monitor = monitorOf(now);
  assert.notEqual(monitor.pid, oldMonitor.pid);
  assert.ok(isAlive(monitor.pid, monitor.startTime), 'expected the new conmon alive');
  assert.ok(isAlive(now.handle!.pid, now.handle!.pidStartTime), 'expected the new task alive');
  assert.equal(now.restarts, old.record.restarts + 1);
  assert.equal(now.lastExit?.monitorLost?.pid, oldMonitor.pid);
  assert.equal(now.lastExit?.message, 'monitor (conmon) died; task stopped');

  // Its output reaches the logs, after what the old run wrote.
  await until(h, async () => (await runsInLogs(h, job)).some((r) => r !== old.run), 'output of the new run in tendctl logs');
  const runs = await runsInLogs(h, job);
  assert.ok(runs.indexOf(old.run) >= 0 && runs.indexOf(old.run) < runs.length - 1, `expected the old run's lines, then the new one's: ${runs.join(', ')}`);

  // tendctl status TASK shows the event too.
  const status = await h.tendctl(['status', id, '-no-color', '-no-stats']);
  assert.match(status.stdout, /Monitor Lost/, `expected the event in tendctl status:\n${status.stdout}\n${status.stderr}`);
}

/** Start `job`, wait until it prints; returns its record, its processes and its run tag. */
async function startPrinter(h: Harness, job: string, driver: 'exec' | 'raw_exec'): Promise<{ record: TaskRecord; procs: Proc[]; run: string }> {
  await h.writeJob(`${job}.hcl`, printer(job, driver));
  const id = `${job}/g[0]/t`;
  await until(h, () => Boolean(running(h, id)), `${job} running`);
  const record = running(h, id)!;
  await until(h, async () => (await runsInLogs(h, job)).length > 0, `${job} output in tendctl logs`);
  const [run] = await runsInLogs(h, job);
  // sh and its `sleep 1000` child (the loop's short sleeps come and go).
  await until(h, () => procsOfAlloc(record.allocId).length >= 2, `${job}'s processes`);
  const procs = procsOfAlloc(record.allocId);
  return { record, procs, run };
}

describe('fault: a task monitor killed', { concurrency: false }, () => {
  let h: Harness | undefined;

  before(async () => {
    if (!(platform().isRoot && platform().which('runc') && platform().which('conmon'))) return;
    h = await createHarness({ executor: 'oci' });
    await h.start();
  });
  after(async () => {
    if (process.env.E2E_KEEP_LOG && h) writeFileSync(process.env.E2E_KEEP_LOG, h.agentLog());
    await h?.cleanup();
    if (h) {
      for (const root of cgroupRoots()) assert.deepEqual(cgroupTree(path.join(root, h.cgroupParent!)), [], `cgroup parent left in ${root}`);
      assert.deepEqual(mountsUnder(h.root), []);
      assert.equal(existsSync(h.root), false);
    }
  });

  test('monitor: kill -9 of a running task\'s conmon is an event; the task is stopped, nothing of it survives, and it restarts under a new conmon whose output reaches the logs', { timeout: 90_000 }, async (t) => {
    if (!gates(t) || !h) return;
    // exec: the task's sh is pid 1 of its namespace, which ignores the SIGPIPE of its next write
    // and runs on: the case that used to stay `running` for good.
    const old = await startPrinter(h, 'printer', 'exec');
    const monitor = monitorOf(old.record);
    assert.ok(isAlive(monitor.pid, monitor.startTime));
    const killedAt = Date.now();
    process.kill(monitor.pid, 'SIGKILL');
    await until(h, () => h!.records()['printer/g[0]/t']?.lastExit?.monitorLost !== undefined, 'the lost monitor noticed', DETECT_MS);
    t.diagnostic(`noticed in ${Date.now() - killedAt} ms`);
    await until(h, () => {
      const r = running(h!, 'printer/g[0]/t');
      return Boolean(r && r.handle!.pid !== old.record.handle!.pid);
    }, 'printer running again');
    await assertRecovered(h, 'printer', old);
  });

  test('monitor: a conmon that died while the agent was down is noticed at reattach; the task is stopped and restarted, not adopted', { timeout: 90_000 }, async (t) => {
    if (!gates(t) || !h) return;
    const old = await startPrinter(h, 'downtime', 'raw_exec');
    await h.kill9();
    process.kill(monitorOf(old.record).pid, 'SIGKILL');
    await h.start();
    await until(h, () => h!.records()['downtime/g[0]/t']?.lastExit?.monitorLost !== undefined, 'the lost monitor noticed at reattach');
    await until(h, () => {
      const r = running(h!, 'downtime/g[0]/t');
      return Boolean(r && r.handle!.pid !== old.record.handle!.pid);
    }, 'downtime running again');
    await assertRecovered(h, 'downtime', old);
    const ev = await h.tendctl(['events', '-task', 'downtime/g[0]/t', '-no-color']);
    assert.match(ev.stdout, /Recovered\s+Task's monitor found dead/);
  });
});
