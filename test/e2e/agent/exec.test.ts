/**
 * The exec driver through a real agent: `bin/tend.js agent -executor oci`
 * as a subprocess, real job files with `driver = "exec"` (and one raw_exec
 * under oci), real runc and conmon. What a task sees is read from its own
 * stdout log; limits from the cgroup fs; leftovers from /proc, the mount
 * table and every cgroup hierarchy.
 * Run alone: TEND_SKIP_TYPECHECK=1 CI=true node scripts/test.mjs test/e2e/agent/exec.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { isAlive, listPids, readEnviron, readStat } from '../../../src/executor/proc.js';
import { platform } from '../../../src/platform.js';
import type { TaskRecord } from '../../../src/store/store.js';
import { requireConmon, requireRoot, requireRunc } from '../../helpers/gates.js';
import { waitFor } from '../../helpers/wait.js';
import { createHarness, running, type Harness } from './harness.js';
import { cgroupRoots, cgroupTree, mountsUnder, procsMentioning } from './oci-cleanup.js';

const T = { timeoutMs: 20_000 };
const MiB = 1024 * 1024;

function gates(t: TestContext): boolean {
  return requireRoot(t) && requireRunc(t) && requireConmon(t);
}

interface JobOpts {
  driver?: 'exec' | 'raw_exec';
  user?: string;
  script: string;
  memory?: number;
  /** A group `restart` block body. */
  restart?: string;
}

/** One task `t` in group `g`; E2E_ROOT tells it the harness's root (which an exec task must not see). */
function jobFile(h: Harness, name: string, o: JobOpts): string {
  return `job "${name}" {
  type = "service"
  group "g" {
${o.restart ? `    restart {\n${o.restart}\n    }\n` : ''}    task "t" {
      driver = "${o.driver ?? 'exec'}"
${o.user ? `      user   = "${o.user}"\n` : ''}      config {
        command = "/bin/sh"
        args    = ["-c", ${JSON.stringify(o.script)}]
      }
      env {
        E2E_ROOT = "${h.root}"
      }
      kill_signal  = "SIGTERM"
      kill_timeout = "2s"
      resources {
        cpu    = 100
        memory = ${o.memory ?? 64}
      }
    }
  }
}
`;
}

/** A running task's tail: say ready, then wait for SIGTERM (pid 1 of a pid namespace ignores signals it does not handle). */
const IDLE = "trap 'exit 0' TERM; echo ready; sleep 1000 & wait";

/** What an exec task reports about its own view, one `key: value` line each. */
const ISO_SCRIPT = [
  'echo "uid: $(id -u)"',
  'echo "pid1: $(cat /proc/1/comm)"',
  'echo "pids: $(cd /proc && echo [0-9]*)"',
  // Every mount at the path, in mount order (the last one is what the task sees).
  'echo "usr: $(grep \' /usr \' /proc/self/mounts | cut -d\' \' -f4 | tr \'\\n\' \'|\')"',
  'echo "rootfs: $(grep \' / \' /proc/self/mounts | cut -d\' \' -f4 | tr \'\\n\' \'|\')"',
  'echo "top: $(ls -A / | tr \'\\n\' \' \')"',
  'echo "tmp: $(ls -A /tmp | tr \'\\n\' \' \')"',
  'for p in /root /work /work/main "$E2E_ROOT"; do test -e "$p" && echo "visible: $p"; done',
  'touch /usr/x 2>/dev/null && echo "usr-writable: yes"',
  'touch /local/ok && echo "local-writable: yes"',
  IDLE,
].join('\n');

/** The task's stdout as the log monitor wrote it (<data_dir>/logs/<alloc>/<task>.stdout.0). */
function stdout(h: Harness, r: TaskRecord): string {
  try {
    return readFileSync(path.join(h.stateDir, 'logs', r.allocId, `${r.task}.stdout.0`), 'utf8');
  } catch {
    return '';
  }
}

function field(out: string, key: string): string | undefined {
  return new RegExp(`^${key}: ?(.*)$`, 'm').exec(out)?.[1];
}

function dump(h: Harness): string {
  return `records: ${JSON.stringify(Object.values(h.records()).map((r) => [r.id, r.state, r.error, r.lastExit?.code]))}\nlog tail:\n${h.agentLog().split('\n').slice(-40).join('\n')}`;
}

async function until(h: Harness, fn: () => boolean, what: string, timeoutMs = T.timeoutMs): Promise<void> {
  await waitFor(fn, { timeoutMs, what }).catch((e: Error) => assert.fail(`${e.message}\n${dump(h)}`));
}

/** Live processes of a task: its environment names its alloc, or its command line names its exec id. */
function procsOf(allocId: string, execId: string): string[] {
  const out: string[] = [];
  for (const pid of listPids()) {
    if (pid === process.pid) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const st = readStat(pid);
    if (!st || st.state === 'Z') continue;
    if (readEnviron(pid).NOMAD_ALLOC_ID === allocId || cmd.split('\0').some((a) => a.includes(execId))) out.push(`${pid} ${cmd.replace(/\0/g, ' ')}`);
  }
  return out;
}

/** Everything of a task left on the host after it was stopped. */
function leftovers(h: Harness, r: Pick<TaskRecord, 'allocId' | 'execId'>): string[] {
  const out: string[] = procsOf(r.allocId, r.execId).map((p) => `process ${p}`);
  const bundle = path.join(h.stateDir, 'oci', r.execId);
  if (existsSync(bundle)) out.push(`bundle ${bundle}`);
  if (existsSync(path.join(h.stateDir, 'oci', 'exits', r.execId))) out.push(`exit file of ${r.execId}`);
  if (existsSync(path.join(h.stateDir, 'alloc', r.allocId))) out.push(`alloc dir ${r.allocId}`);
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) if (line.includes(r.execId) || line.includes(bundle)) out.push(`mount ${line}`);
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) if (line.includes(r.execId) || line.includes(bundle)) out.push(`mountinfo ${line}`);
  for (const root of cgroupRoots()) for (const d of cgroupTree(root)) if (d.includes(r.execId)) out.push(`cgroup ${d}`);
  return out;
}

function memoryDir(h: Harness, execId: string): string {
  return path.join(platform().cgroups.v1.memory ?? platform().cgroups.unified!, h.cgroupParent!, execId);
}

describe('agent e2e with the oci executor', { concurrency: false }, () => {
  let h: Harness;
  /** Records seen while running, by job: what the deletion test checks for leftovers. */
  const seen = new Map<string, TaskRecord>();
  const rec = (job: string) => running(h, `${job}/g[0]/t`);

  before(async () => {
    if (!(platform().isRoot && platform().which('runc') && platform().which('conmon'))) return;
    h = await createHarness({
      executor: 'oci',
      config: `plugin "exec" {\n  config {\n    denied_host_uids = "0-1"\n  }\n}\n`,
    });
    await h.start();
  });
  after(async () => {
    if (process.env.E2E_KEEP_LOG && h) writeFileSync(process.env.E2E_KEEP_LOG, h.agentLog());
    await h?.cleanup();
    // Nothing of the harness is left: its cgroup parent, processes, mounts.
    if (h) {
      for (const root of cgroupRoots()) assert.equal(existsSync(path.join(root, h.cgroupParent!)), false, `cgroup parent left in ${root}`);
      assert.deepEqual(mountsUnder(h.root), []);
      assert.equal(existsSync(h.root), false);
    }
  });

  test('agent oci: an exec task sees only itself, a read-only root without the host, and runs as its user; raw_exec sees the host in its own cgroup', { timeout: 60_000 }, async (t) => {
    if (!gates(t)) return;
    await h.writeJob('iso.hcl', jobFile(h, 'iso', { user: 'nobody', script: ISO_SCRIPT }));
    await h.writeJob('raw.hcl', jobFile(h, 'raw', { driver: 'raw_exec', script: `test -d ${process.cwd()} && echo "host: yes"; echo "cgroup: $(grep :memory: /proc/self/cgroup)"; ${IDLE}` }));
    await until(h, () => Boolean(rec('iso') && rec('raw')), 'iso and raw running');
    const iso = rec('iso')!;
    const raw = rec('raw')!;
    seen.set('iso', iso);
    seen.set('raw', raw);
    await until(h, () => /^ready$/m.test(stdout(h, iso)) && /^ready$/m.test(stdout(h, raw)), 'both tasks to print ready');
    const out = stdout(h, iso);

    assert.equal(field(out, 'uid'), '65534', `expected user nobody:\n${out}`);
    assert.equal(field(out, 'pid1'), 'sh');
    const pids = field(out, 'pids')!.split(' ').filter(Boolean);
    assert.ok(pids.includes('1') && pids.length <= 3, `expected only the task's processes in its pid namespace, got ${pids.join(' ')}`);
    const top1 = (key: string) => field(out, key)!.split('|').filter(Boolean).at(-1) ?? '';
    assert.match(top1('usr'), /^ro(,|$)/, `expected /usr mounted read-only:\n${out}`);
    assert.match(top1('rootfs'), /^ro(,|$)/, `expected the root read-only:\n${out}`);
    assert.equal(field(out, 'usr-writable'), undefined);
    assert.equal(field(out, 'local-writable'), 'yes', 'expected /local writable by the task user');
    assert.doesNotMatch(out, /^visible: /m);
    const top = field(out, 'top')!.split(' ').filter(Boolean);
    const allowed = new Set(['bin', 'etc', 'lib', 'lib32', 'lib64', 'libx32', 'run', 'sbin', 'usr', 'proc', 'dev', 'sys', 'alloc', 'local', 'secrets', 'tmp']);
    assert.deepEqual(top.filter((e) => !allowed.has(e)), [], `expected only chroot_env and the task dirs at /, got ${top.join(' ')}`);
    assert.ok(!top.includes('root') && !top.includes('work'));
    assert.equal(field(out, 'tmp'), '', 'expected /tmp to be the task\'s own, empty (the host /tmp holds the state dir)');
    // The agent's own view of the task: pid is the host pid of the container's init, in its cgroup.
    assert.ok(isAlive(iso.handle!.pid, iso.handle!.pidStartTime));
    assert.match(readFileSync(`/proc/${iso.handle!.pid}/cgroup`, 'utf8'), new RegExp(`:memory:/${h.cgroupParent}/${iso.execId}$`, 'm'));

    const rawOut = stdout(h, raw);
    assert.equal(field(rawOut, 'host'), 'yes', `expected raw_exec to see the host:\n${rawOut}`);
    assert.match(field(rawOut, 'cgroup')!, new RegExp(`^\\d+:memory:/${h.cgroupParent}/${raw.execId}$`));
  });

  test('agent oci: tendctl node reports the exec driver available', { timeout: 30_000 }, async (t) => {
    if (!gates(t)) return;
    const r = await h.tendctl(['node', '-json']);
    assert.equal(r.code, 0, r.stderr);
    const node = JSON.parse(r.stdout) as { executor: string; drivers: Record<string, { ok: boolean; enabled: boolean; reason?: string }>; attributes: Record<string, string> };
    assert.equal(node.executor, 'oci');
    assert.deepEqual(node.drivers.exec, { ok: true, enabled: true });
    assert.equal(node.drivers.raw_exec.ok, true);
    assert.equal(node.attributes['driver.exec'], '1');
    const text = await h.tendctl(['node', '-no-color']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /exec/);
  });

  test('agent oci: a user in denied_host_uids is refused before anything starts', { timeout: 30_000 }, async (t) => {
    if (!gates(t)) return;
    await h.writeJob('denied.hcl', jobFile(h, 'denied', { user: 'daemon', script: IDLE }));
    const id = 'denied/g[0]/t';
    await until(h, () => h.records()[id]?.state === 'failed', 'denied task failed');
    const r = h.records()[id];
    seen.set('denied', r);
    assert.match(r.error ?? '', /failed to start task: .*"daemon".*uid 1 is in denied_host_uids/);
    assert.equal(r.handle, undefined);
    assert.equal(r.restarts, 0);
    assert.ok(r.events.some((e) => e.type === 'Not Restarting'), 'expected no restart of an unrecoverable error');
    const status = await h.tendctl(['status', '-json', '-no-stats']);
    assert.equal(status.code, 0, status.stderr);
    const task = (JSON.parse(status.stdout) as { jobs: { id: string; tasks: { id: string; state: string; error?: string }[] }[] }).jobs.find((j) => j.id === 'denied')!.tasks[0];
    assert.equal(task.state, 'failed');
    assert.match(task.error ?? '', /uid 1 is in denied_host_uids/);
    assert.deepEqual(leftovers(h, r), [], 'expected no process, bundle, mount, cgroup or alloc dir of a refused task');
  });

  test('agent oci: editing memory of a running exec task changes its cgroup limit and keeps its pid', { timeout: 30_000 }, async (t) => {
    if (!gates(t)) return;
    const before = rec('iso');
    assert.ok(before, 'expected iso running');
    const limit = path.join(memoryDir(h, before.execId), 'memory.limit_in_bytes');
    const soft = path.join(memoryDir(h, before.execId), 'memory.soft_limit_in_bytes');
    assert.equal(Number(readFileSync(limit, 'utf8')), 64 * MiB);
    await h.writeJob('iso.hcl', jobFile(h, 'iso', { user: 'nobody', script: ISO_SCRIPT, memory: 96 }));
    await until(h, () => h.records()['iso/g[0]/t']?.resources.memoryMB === 96, 'memory updated in the record');
    assert.equal(Number(readFileSync(limit, 'utf8')), 96 * MiB);
    assert.equal(Number(readFileSync(soft, 'utf8')), 96 * MiB);
    const after = rec('iso')!;
    assert.equal(after.handle!.pid, before.handle!.pid);
    assert.ok(isAlive(before.handle!.pid, before.handle!.pidStartTime), 'expected the same process to keep running');
    assert.ok(after.events.some((e) => e.type === 'Updated' && e.message.includes('resources.memory')));
    assert.equal(after.restarts, 0);
  });

  test('agent oci: kill -9 of the agent leaves tasks running; an exit while it is down is collected with its code and the restart policy applies', { timeout: 60_000 }, async (t) => {
    if (!gates(t)) return;
    await h.writeJob(
      'seven.hcl',
      jobFile(h, 'seven', {
        user: 'nobody',
        script: 'echo ready; while [ ! -e /local/go ]; do sleep 0.05; done; echo bye; exit 7',
        restart: '      attempts = 1\n      interval = "1h"\n      delay    = "1s"\n      mode     = "fail"',
      }),
    );
    await until(h, () => Boolean(rec('seven')) && /^ready$/m.test(stdout(h, rec('seven')!)), 'seven running');
    const seven = rec('seven')!;
    seen.set('seven', seven);
    const iso = rec('iso')!;
    const raw = rec('raw')!;
    await h.kill9();
    // The log monitor goes down too: what the task prints meanwhile still reaches its log, once.
    const logmons = procsMentioning(h.stateDir).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('logmon'));
    assert.equal(logmons.length, 1, 'expected one log monitor');
    process.kill(logmons[0], 'SIGKILL');
    await until(h, () => !existsSync(`/proc/${logmons[0]}`) || readStat(logmons[0])?.state === 'Z', 'log monitor gone');
    writeFileSync(path.join(h.stateDir, 'alloc', seven.allocId, 't', 'local', 'go'), '');
    const exitFile = path.join(h.stateDir, 'oci', 'exits', seven.execId);
    await until(h, () => existsSync(exitFile) && readFileSync(exitFile, 'utf8').trim() !== '', 'conmon to record the exit while the agent is down');
    assert.equal(readFileSync(exitFile, 'utf8').trim(), '7');
    assert.ok(isAlive(iso.handle!.pid, iso.handle!.pidStartTime), 'expected iso to keep running without the agent');
    assert.ok(isAlive(raw.handle!.pid, raw.handle!.pidStartTime), 'expected raw to keep running without the agent');

    await h.start();
    await until(h, () => h.agentLog().includes('recovery done'), 'recovery');
    assert.equal(rec('iso')?.handle?.pid, iso.handle!.pid, 'expected iso adopted with its pid');
    assert.equal(rec('raw')?.handle?.pid, raw.handle!.pid, 'expected raw adopted with its pid');
    // The exit recorded while down: code 7, then one restart (attempts = 1) that exits 7 again, then failed.
    await until(h, () => h.records()['seven/g[0]/t']?.state === 'failed', 'seven failed after its one restart');
    const r = h.records()['seven/g[0]/t'];
    assert.equal(r.lastExit?.code, 7);
    assert.equal(r.restarts, 1);
    const types = r.events.map((e) => e.type);
    const rec0 = types.indexOf('Recovered');
    assert.ok(rec0 >= 0, `expected a Recovered event, got ${types.join(', ')}`);
    const term = r.events.slice(rec0).find((e) => e.type === 'Terminated');
    assert.equal(term?.details?.code, 7, `expected the exit while down recorded as 7, got ${JSON.stringify(term)}`);
    assert.ok(types.slice(rec0).includes('Restarting') && types.slice(rec0).includes('Started') && types.at(-1) === 'Not Restarting', `expected restart then give up, got ${types.join(', ')}`);
    const status = await h.tendctl(['status', '-json', '-no-stats']);
    const task = (JSON.parse(status.stdout) as { jobs: { id: string; tasks: { state: string; lastExit?: { code: number | null } }[] }[] }).jobs.find((j) => j.id === 'seven')!.tasks[0];
    assert.deepEqual([task.state, task.lastExit?.code], ['failed', 7]);
    // Both runs' output, each line once: the one printed while agent and monitor were down included.
    await until(h, () => (stdout(h, r).match(/^bye$/gm) ?? []).length === 2, `both runs' output in the log, got:\n${stdout(h, r)}`, 5000);
    assert.equal(stdout(h, r), 'ready\nbye\nready\nbye\n');
  });

  test('agent oci: a task restarted without delay launches cleanly every time (the previous run is cleaned up first)', { timeout: 30_000 }, async (t) => {
    if (!gates(t)) return;
    await h.writeJob('flap.hcl', jobFile(h, 'flap', { user: 'nobody', script: 'echo "run $(date +%s%N)"; exit 3', restart: '      attempts = 3\n      interval = "1h"\n      delay    = "0s"\n      mode     = "fail"' }));
    const id = 'flap/g[0]/t';
    await until(h, () => h.records()[id]?.state === 'failed', 'flap failed after its restarts');
    const r = h.records()[id];
    seen.set('flap', r);
    const types = r.events.map((e) => e.type);
    assert.equal(r.restarts, 3);
    assert.deepEqual(
      r.events.filter((e) => e.type === 'Terminated').map((e) => e.message),
      ['exit code 3', 'exit code 3', 'exit code 3', 'exit code 3'],
      `expected 4 runs that each exited 3, got ${types.join(', ')}`,
    );
    assert.equal(types.filter((e) => e === 'Started').length, 4);
    assert.ok(!types.includes('Driver Failure'), `expected no failed launch, got ${JSON.stringify(r.events.filter((e) => e.type === 'Driver Failure'))}`);
    // Each run's output reached its log: the cleanup of one run never removed the next one's collection.
    await until(h, () => (stdout(h, r).match(/^run \d+$/gm) ?? []).length === 4, `4 runs in the log, got:\n${stdout(h, r)}`, 5000);
  });

  test('agent oci: deleting the job files leaves no process, mount, bundle or cgroup', { timeout: 30_000 }, async (t) => {
    if (!gates(t)) return;
    assert.ok(seen.size >= 3, `expected the earlier tests to have run tasks, got ${[...seen.keys()].join(', ')}`);
    for (const name of ['iso.hcl', 'raw.hcl', 'denied.hcl', 'seven.hcl', 'flap.hcl']) await unlink(path.join(h.jobsDir, name)).catch(() => undefined);
    await until(h, () => Object.keys(h.records()).length === 0, 'records gone');
    for (const [job, r] of seen) assert.deepEqual(leftovers(h, r), [], `leftovers of ${job}`);
    assert.deepEqual(cgroupRoots().flatMap((root) => cgroupTree(path.join(root, h.cgroupParent!)).filter((d) => d !== path.join(root, h.cgroupParent!))), [], 'expected no task cgroup under the parent');
    assert.deepEqual(mountsUnder(h.stateDir), []);
    const conmons = listPids().filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('conmon') && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(h.stateDir);
      } catch {
        return false;
      }
    });
    assert.deepEqual(conmons, []);
  });
});
