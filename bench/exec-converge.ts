/**
 * Converge N exec tasks through a real `tend agent -executor oci` subprocess
 * (one job file, count = N, driver exec, `sh -c 'exec sleep 1000'`, 32 MiB),
 * from empty until the store says all running; then memory per running task
 * (conmon, any runtime process that stays, the task's own processes, the
 * agent and its log monitor); then the job file removed until the store says
 * none runs. Next to the floor in the same run: N bare `runc run -d` of the
 * same config.json (own rootfs and task dirs, own cgroup), 8 at a time (the
 * agent's default concurrency), and N `runc delete --force`, 8 at a time.
 * Everything is verified gone afterwards (runc containers, cgroups, mounts,
 * processes).
 *
 *   node --import tsx bench/exec-converge.ts [N=200]
 *   CPU_PROF=<dir> node --import tsx bench/exec-converge.ts   (the agent writes a .cpuprofile there)
 * Needs root, runc and conmon.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import PQueue from 'p-queue';
import { platform } from '../src/platform.js';
import type { OciHandleData } from '../src/executor/oci/oci.js';
import { createHarness, type Harness } from '../test/e2e/agent/harness.js';
import { cgroupRoots, cgroupTree, mountsUnder, procsMentioning } from '../test/e2e/agent/oci-cleanup.js';
import { waitFor } from '../test/helpers/wait.js';
import { cpuTicks, fmt } from './agent-common.js';
import { removeCgroups, runc, runcList } from './oci-common.js';

const N = Number(process.argv[2] ?? 200);
const CONCURRENCY = 8;
const p = platform();
if (!p.isRoot || !p.which('runc') || !p.which('conmon')) {
  console.error('exec-converge: needs root, runc and conmon');
  process.exit(1);
}
const memRoot = p.cgroups.v1.memory ?? p.cgroups.unified;
if (!memRoot) {
  console.error('exec-converge: no memory cgroup hierarchy');
  process.exit(1);
}

const JOB = `job "many" {
  type = "service"
  group "g" {
    count = ${N}
    task "t" {
      driver = "exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "exec sleep 1000"]
      }
      # sleep is pid 1 of its pid namespace and ignores SIGINT: the stop would only measure kill_timeout.
      kill_signal = "SIGKILL"
      resources {
        cpu    = 100
        memory = 32
      }
    }
  }
}
`;

const KiB = (pid: number): number => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
};
/** Proportional set size: shared pages (conmon's libraries) divided among the processes mapping them. */
const pssKiB = (pid: number): number => {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
};
const comm = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pids = (cgroupDir: string): number[] =>
  readFileSync(path.join(cgroupDir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

/** Every leftover of a cgroup parent, a runc root, a dir's mounts and processes naming the dir. */
async function leftovers(o: { parent: string; runcRoot: string; dir: string; keepParent?: boolean }): Promise<string[]> {
  const out: string[] = [];
  for (const id of await runcList(o.runcRoot)) out.push(`runc container ${id}`);
  for (const root of cgroupRoots()) {
    for (const d of cgroupTree(path.join(root, o.parent))) if (!(o.keepParent && d === path.join(root, o.parent))) out.push(`cgroup ${d}`);
  }
  for (const mp of mountsUnder(o.dir)) out.push(`mount ${mp}`);
  for (const pid of procsMentioning(o.dir)) out.push(`process ${pid} ${comm(pid)}`);
  return out;
}

const rows: string[] = [];
const notes: string[] = [];
let h: Harness | undefined;
let bareDir = '';
let bareRoot = '';
const bareParent = `tend-bench-bare-${process.pid}`;
let config = '';
try {
  h = await createHarness({ executor: 'oci', nodeArgs: process.env.CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CPU_PROF}`] : [] });
  const { stateDir } = h;
  const cgParent = h.cgroupParent!;
  await h.start(['-log-level', 'warn', '-stop-tasks-on-exit']);
  const agentPid = h.agent!.pid!;
  const agentEmpty = KiB(agentPid);
  const load0 = load();
  const logmonPids = () => procsMentioning(stateDir).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('logmon'));
  const ticks = (pid: number | undefined) => (pid ? cpuTicks(pid) : 0);
  const a0 = ticks(agentPid);

  // 1. tend: file lands → all N running in the store.
  const t0 = performance.now();
  await h.writeJob('many.hcl', JOB);
  await waitFor(() => Object.values(h!.records()).filter((r) => r.state === 'running' && r.handle).length === N, {
    what: `${N} exec tasks running`,
    timeoutMs: 900_000,
    intervalMs: 25,
  });
  const convergeMs = performance.now() - t0;
  const convergeTicks = ticks(agentPid) - a0;
  const load1 = load();

  // 2. Memory with N running.
  const recs = Object.values(h.records());
  const conmonKiB: number[] = [];
  const taskKiB: number[] = [];
  let taskProcs = 0;
  let conmonInTaskCgroup = 0;
  for (const r of recs) {
    const d = r.handle!.data as unknown as OciHandleData;
    conmonKiB.push(KiB(d.conmonPid));
    const inCg = pids(path.join(memRoot, cgParent, r.handle!.id));
    taskProcs += inCg.length;
    if (inCg.includes(d.conmonPid)) conmonInTaskCgroup++;
    taskKiB.push(sum(inCg.map(KiB)));
  }
  const tendProcs = procsMentioning(stateDir);
  const runtimeLeft = [...new Set(tendProcs.map(comm))].filter((c) => c.startsWith('runc'));
  const logmon = logmonPids();
  const logmonKiB = sum(logmon.map(KiB));
  const conmonPssKiB = sum(recs.map((r) => pssKiB((r.handle!.data as unknown as OciHandleData).conmonPid)));
  const agentFull = KiB(agentPid);
  config = readFileSync(path.join(stateDir, 'oci', recs[0].handle!.id, 'config.json'), 'utf8');

  // 3. tend: file removed → none running in the store.
  const a1 = ticks(agentPid);
  const s0 = performance.now();
  await unlink(path.join(h.jobsDir, 'many.hcl'));
  await waitFor(() => !Object.values(h!.records()).some((r) => r.state === 'running' || r.state === 'pending'), {
    what: 'all exec tasks stopped',
    timeoutMs: 900_000,
    intervalMs: 25,
  });
  const stopMs = performance.now() - s0;
  const stopTicks = ticks(agentPid) - a1;
  const code = await h.term();
  const tendLeft = await leftovers({ parent: cgParent, runcRoot: path.join(stateDir, 'oci', 'runc-root'), dir: h.root, keepParent: true });
  notes.push(`agent exit code ${code}; after the job file's removal and the agent's exit: ${tendLeft.length ? `LEFTOVERS: ${tendLeft.join(', ')}` : 'no runc container, task cgroup, mount or process of the agent left'}`);
  if (tendLeft.length) process.exitCode = 1;

  // 4. Floor: N bare `runc run -d` of the same config.json, 8 at a time.
  bareDir = path.join(h.root, 'bare');
  bareRoot = path.join(bareDir, 'runc-root');
  const bundles: string[] = [];
  for (let i = 0; i < N; i++) {
    const dir = path.join(bareDir, `b${i}`);
    const cfg = JSON.parse(config) as { root: { path: string }; linux: { cgroupsPath: string }; mounts: { destination: string; source: string }[] };
    cfg.root.path = path.join(dir, 'rootfs');
    cfg.linux.cgroupsPath = `/${bareParent}/b${i}`;
    for (const m of cfg.mounts) {
      if (['/alloc', '/alloc/logs', '/local', '/secrets', '/tmp'].includes(m.destination)) {
        m.source = path.join(dir, m.destination.slice(1));
        mkdirSync(m.source, { recursive: true });
      }
    }
    mkdirSync(cfg.root.path, { recursive: true });
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
    bundles.push(dir);
  }
  const q = new PQueue({ concurrency: CONCURRENCY });
  const load2 = load();
  const b0 = performance.now();
  await Promise.all(bundles.map((b, i) => q.add(() => runc(bareRoot, ['run', '-d', '--bundle', b, `b${i}`]))));
  const bareMs = performance.now() - b0;
  const bareTaskKiB = bundles.map((_, i) => sum(pids(path.join(memRoot, bareParent, `b${i}`)).map(KiB)));
  const d0 = performance.now();
  await Promise.all(bundles.map((_, i) => q.add(() => runc(bareRoot, ['delete', '--force', `b${i}`]))));
  const bareDeleteMs = performance.now() - d0;
  removeCgroups(bareParent);
  const bareLeft = await leftovers({ parent: bareParent, runcRoot: bareRoot, dir: bareDir });
  notes.push(`floor: ${bareLeft.length ? `LEFTOVERS: ${bareLeft.join(', ')}` : 'no runc container, cgroup, mount or process left'}`);
  if (bareLeft.length) process.exitCode = 1;

  const mib = (k: number) => fmt(k / 1024);
  rows.push(
    `exec-converge: N=${N}, ${new Date().toISOString().slice(0, 10)}, node ${process.version}; load average ${load0} before tend's converge, ${load1} after it, ${load2} before the floor\n`,
    '| what | value | note |',
    '|---|---:|---|',
    `| floor: bare \`runc run -d\` of ${N} copies of the same config.json, ${CONCURRENCY} at a time | ${fmt(bareMs)} ms | ${fmt(bareMs / N)} ms/task |`,
    `| tend: converge ${N} exec tasks from empty (file → all running in the store) | ${fmt(convergeMs)} ms | ${fmt(convergeMs / N)} ms/task; agent CPU ${fmt(convergeTicks / 100)} s |`,
    `| floor: bare \`runc delete --force\` of the ${N}, ${CONCURRENCY} at a time | ${fmt(bareDeleteMs)} ms | ${fmt(bareDeleteMs / N)} ms/task |`,
    `| tend: job file removed → none running in the store (kill_signal SIGKILL) | ${fmt(stopMs)} ms | ${fmt(stopMs / N)} ms/task; agent CPU ${fmt(stopTicks / 100)} s |`,
    '',
    '| memory with all running | RSS | note |',
    '|---|---:|---|',
    `| floor: a bare task's own processes (sum of VmRSS in its cgroup) | ${mib(median(bareTaskKiB))} MiB | median |`,
    `| a tend task's own processes (sum of VmRSS in its cgroup) | ${mib(median(taskKiB))} MiB | median; ${fmt(taskProcs / N)} process(es) per task |`,
    `| conmon per task (the monitor) | ${mib(median(conmonKiB))} MiB | median, ${mib(sum(conmonKiB))} MiB summed over ${N}; PSS ${mib(conmonPssKiB / N)} MiB per conmon (shared pages split); conmon in a task's cgroup: ${conmonInTaskCgroup} |`,
    `| runtime processes left once running | ${runtimeLeft.length} | ${runtimeLeft.join(', ') || 'no runc process stays'} |`,
    `| tend agent, no tasks | ${mib(agentEmpty)} MiB | |`,
    `| tend agent, ${N} tasks | ${mib(agentFull)} MiB | ${fmt((agentFull - agentEmpty) / N)} KiB/task over empty |`,
    `| log monitor, ${N} tasks | ${mib(logmonKiB)} MiB | ${logmon.length} process(es) |`,
    '',
    ...notes,
  );
  console.log(rows.join('\n'));
} finally {
  if (bareRoot) for (const id of await runcList(bareRoot)) await runc(bareRoot, ['delete', '--force', id]).catch(() => undefined);
  removeCgroups(bareParent);
  await h?.cleanup();
  if (existsSync(path.join(memRoot, bareParent)) || (h && readdirSync(os.tmpdir()).includes(path.basename(h.root)))) console.error('exec-converge: cleanup left something behind');
}
