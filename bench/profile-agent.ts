/**
 * Where the agent's CPU goes, phase by phase (issue 14): a real `tend agent`
 * (the dist/ bundle) under `--cpu-prof`, N job files renamed into its jobs
 * dir at once (converge), an idle window, K files one at a time (one new),
 * K edits of one file (kill_timeout only: stored, no restart), K crashes
 * (SIGKILL of a task's sleep), then every file removed. The
 * profile is cut by the phases' wall-clock windows and each phase's top
 * functions (self time) and files are printed.
 *
 *   node --import tsx bench/profile-agent.ts [--n 200] [--executor plain|oci] [--driver raw_exec|exec]
 *     [--settle 3] [--idle 20] [--one 10] [--top 25] [--keep DIR] [--analyze DIR] [--sys 9]
 *     [--prof-interval 500]   (µs between samples; 0 or --no-prof: no profiler, the CPU figures alone)
 *     [--log-level warn] [--agent-log FILE]   (the agent's log, kept)
 *     [--resync 30s]   (the agent's resync_interval: its periodic relist re-reads every job file)
 *     [--node-arg=--trace-gc …]   (flags for the agent's node; what they print is in --agent-log)
 *
 * Only the agent's own threads are profiled; the HCL parser, the launcher and
 * the log monitor are separate processes (their CPU is in the tree's figures). As root
 * on a host with cgroup v1's cpuacct, the bench also runs in a cgroup of its
 * own and prints, per phase, the CPU of the agent's whole tree: agent,
 * launcher, log monitor, conmon, runc and the plain wrappers (a task's own
 * processes are in the task's cgroup, not counted), without the bench's own.
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { platform } from '../src/platform.js';
import { createHarness } from '../test/e2e/agent/harness.js';
import { waitFor } from '../test/helpers/wait.js';
import { cpuTicks } from './agent-common.js';
import { markerOf, SleepWatch } from './peers-proc.js';

const { values: opt } = parseArgs({
  options: {
    n: { type: 'string', default: '200' },
    executor: { type: 'string', default: 'plain' },
    driver: { type: 'string', default: 'raw_exec' },
    settle: { type: 'string', default: '3' },
    idle: { type: 'string', default: '20' },
    top: { type: 'string', default: '25' },
    one: { type: 'string', default: '10' },
    keep: { type: 'string' },
    analyze: { type: 'string' },
    'prof-interval': { type: 'string', default: '500' },
    /** The profiler samples 2,000 times a second and costs the agent ~15 % more CPU: without it, the process CPU alone. */
    'no-prof': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'warn' },
    resync: { type: 'string', default: '30s' },
    'agent-log': { type: 'string' },
    sys: { type: 'string', default: '9' },
    /** More flags for the agent's node (repeat: --node-arg=--trace-gc); its output is in --agent-log. */
    'node-arg': { type: 'string', multiple: true, default: [] },
  },
});
const N = Number(opt.n);
const ONE = Number(opt.one);
/** The sleeps' marker prefix (markerOf): another value keeps apart two runs on one machine. */
const SYS = Number(opt.sys);
const PROF_INTERVAL = opt['no-prof'] ? '0' : opt['prof-interval']!;

interface Phase { name: string; from: number; to: number; treeCpuMs?: number; agentCpuMs?: number }
const phases: Phase[] = [];

function job(i: number, killTimeout = '5s'): string {
  const m = markerOf(SYS, i);
  return `job "p${m}" {
  group "g" {
    task "t" {
      driver = "${opt.driver}"
${opt.driver === 'exec' ? '      kill_signal = "SIGKILL"\n' : ''}      config {
        command = "/bin/sleep"
        args    = ["${m}"]
      }
      restart {
        attempts = 10
        interval = "30m"
        delay    = "0s"
        mode     = "delay"
      }
      kill_timeout = "${killTimeout}"
      resources {
        cpu    = 100
        memory = 32
      }
    }
  }
}
`;
}

/**
 * The bench's own cpuacct cgroup (v1): every process it starts is counted there, the agent's tree
 * included, except what moves to a task cgroup. Undefined where there is none (not root, v2 only).
 */
const treeCg = (() => {
  const mount = platform().cgroups.v1.cpuacct;
  if (!mount || opt.analyze || process.getuid?.() !== 0) return undefined;
  const dir = path.join(mount, `tend-profile-${process.pid}`);
  try {
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'cgroup.procs'), String(process.pid));
    return dir;
  } catch {
    return undefined;
  }
})();
/** CPU ms of the bench's cgroup less the bench process's own. */
function treeCpuMs(): number | undefined {
  if (!treeCg) return undefined;
  const own = process.cpuUsage();
  return Number(readFileSync(path.join(treeCg, 'cpuacct.usage'), 'utf8')) / 1e6 - (own.user + own.system) / 1000;
}
function leaveTreeCg(): void {
  if (!treeCg) return;
  writeFileSync(path.join(path.dirname(treeCg), 'cgroup.procs'), String(process.pid));
  try {
    rmdirSync(treeCg);
  } catch (err) {
    console.log(`cgroup ${treeCg} left: ${(err as Error).message}`);
  }
}

/** What a process of the agent's tree is, from its command line. */
function kindOf(pid: number): string {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return 'gone';
  }
  const line = argv.join(' ');
  if (line.includes('launcher-child')) return 'launcher';
  if (/tend\.js logmon/.test(line)) return 'log monitor';
  if (/tend\.js agent/.test(line)) return 'agent';
  return path.basename(argv[0] ?? '?');
}
/** CPU ticks (utime + stime, 1/100 s) and RSS (KiB) of each live process of the bench's cgroup but the bench itself. */
function treeTicks(): Map<number, { kind: string; ticks: number; rssKiB: number }> {
  const out = new Map<number, { kind: string; ticks: number; rssKiB: number }>();
  if (!treeCg) return out;
  for (const pid of readFileSync(path.join(treeCg, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number)) {
    if (pid === process.pid) continue;
    try {
      const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      out.set(pid, { kind: kindOf(pid), ticks: Number(f[11]) + Number(f[12]), rssKiB: (Number(f[21]) * 4096) / 1024 });
    } catch {
      /* gone */
    }
  }
  return out;
}

/** The agent's pid once started: each phase prints the CPU of its whole process (every thread, the thread pool's too): robust to the machine's load, unlike the profile's samples. */
let agentPid: number | undefined;
const agentCpuMs = () => (agentPid ? cpuTicks(agentPid) * 10 : NaN);
/** The agent's CPU ticks per thread (the main thread, V8's GC and compiler workers, libuv's pool), by tid. */
function threadTicks(): Map<number, { name: string; ticks: number }> {
  const out = new Map<number, { name: string; ticks: number }>();
  if (!agentPid) return out;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${agentPid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const text = readFileSync(`/proc/${agentPid}/task/${tid}/stat`, 'utf8');
      const name = Number(tid) === agentPid ? 'main' : text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')).replace(/[\d-]+$/, '').trim();
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), { name, ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      /* gone */
    }
  }
  return out;
}

async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const from = performance.timeOrigin + performance.now();
  const agent0 = agentCpuMs();
  const cpu0 = treeCpuMs();
  const ticks0 = treeTicks();
  const threads0 = threadTicks();
  try {
    return await fn();
  } finally {
    const cpu1 = treeCpuMs();
    const ticks1 = treeTicks();
    const treeCpu = cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0;
    const agentCpu = agentCpuMs() - agent0;
    phases.push({ name, from, to: performance.timeOrigin + performance.now(), agentCpuMs: agentCpu, ...(treeCpu === undefined ? {} : { treeCpuMs: treeCpu }) });
    console.log(`${name}: ${((phases.at(-1)!.to - from) / 1000).toFixed(2)} s; agent process CPU ${agentCpu.toFixed(0)} ms${treeCpu === undefined ? '' : `; agent tree CPU ${treeCpu.toFixed(0)} ms`}`);
    // Where the agent's CPU went by thread: JS and its own GC work on main, the rest beside it.
    // Node names none of its threads: in tid order, V8's platform workers (GC, compiler) come first, libuv's pool
    // after its first use (fs, dns, crypto), so the list is printed in that order.
    const threads = [...threadTicks()].sort((a, b) => a[0] - b[0]).map(([tid, b]) => ({ tid, name: b.name, ms: (b.ticks - (threads0.get(tid)?.ticks ?? 0)) * 10 }));
    console.log(`  agent by thread (tid order): ${threads.map((t) => `${t.name === 'main' ? 'main' : `${t.name}#${t.tid}`} ${t.ms}`).join(', ')} ms`);
    if (treeCpu !== undefined) {
      // Processes alive at both ends, by kind; the rest of the tree's CPU went to processes that came or went meanwhile.
      const byKind = new Map<string, { ms: number; n: number; rssKiB: number }>();
      for (const [pid, b] of ticks1) {
        const a = ticks0.get(pid);
        if (!a) continue;
        const k = byKind.get(b.kind) ?? { ms: 0, n: 0, rssKiB: 0 };
        k.ms += (b.ticks - a.ticks) * 10;
        k.n++;
        k.rssKiB += b.rssKiB;
        byKind.set(b.kind, k);
      }
      const known = [...byKind.values()].reduce((a, k) => a + k.ms, 0);
      const parts = [...byKind].sort((a, b) => b[1].ms - a[1].ms).map(([kind, k]) => `${kind} ×${k.n} ${k.ms} ms (RSS ${(k.rssKiB / 1024).toFixed(0)} MiB)`);
      console.log(`  by process: ${parts.join(', ')}, processes that came or went ${Math.max(0, treeCpu - known).toFixed(0)} ms`);
    }
  }
}

const profDir = opt.analyze ?? opt.keep ?? path.join('/tmp', `tend-prof-${process.pid}`);
let spawnedAt = 0;
if (opt.analyze) {
  const saved = JSON.parse(readFileSync(path.join(profDir, 'phases.json'), 'utf8')) as { spawnedAt: number; phases: Phase[] };
  spawnedAt = saved.spawnedAt;
  phases.push(...saved.phases);
} else {
  await mkdir(profDir, { recursive: true });
  const h = await createHarness({ executor: opt.executor as 'plain' | 'oci', resync: opt.resync, nodeArgs: [...(PROF_INTERVAL === '0' ? [] : ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', PROF_INTERVAL]), ...opt['node-arg']!] });
  const stage = path.join(h.root, 'stage');
  await mkdir(stage, { recursive: true });
  const watch = new SleepWatch();
  const count = () => (watch.scan(), watch.count(SYS));
  const pidsOf = (i: number) => (watch.scan(), watch.pids(markerOf(SYS, i)));
  spawnedAt = performance.timeOrigin + performance.now();
  try {
    await h.start(['-log-level', opt['log-level']!]);
    agentPid = h.agent?.pid;
    const all = Array.from({ length: N + ONE }, (_, i) => i);
    for (const i of all) await writeFile(path.join(stage, `p${markerOf(SYS, i)}.hcl`), job(i));
    await phase('converge', async () => {
      for (let i = 0; i < N; i++) await rename(path.join(stage, `p${markerOf(SYS, i)}.hcl`), path.join(h.jobsDir, `p${markerOf(SYS, i)}.hcl`));
      await waitFor(() => count() >= N, { what: `${N} sleeps`, timeoutMs: 600_000, intervalMs: 20 });
    });
    await sleep(Number(opt.settle) * 1000);
    await phase('idle', () => sleep(Number(opt.idle) * 1000));
    await phase('one new', async () => {
      const took: string[] = [];
      for (let i = N; i < N + ONE; i++) {
        const at = performance.timeOrigin + performance.now();
        await rename(path.join(stage, `p${markerOf(SYS, i)}.hcl`), path.join(h.jobsDir, `p${markerOf(SYS, i)}.hcl`));
        await waitFor(() => pidsOf(i).length > 0, { what: `sleep ${i}`, timeoutMs: 30_000, intervalMs: 2 });
        took.push(`${(performance.timeOrigin + performance.now() - at).toFixed(0)} (at ${at.toFixed(0)})`);
        await sleep(300);
      }
      // Each file from its rename until its sleep is seen in /proc (2 ms polls); the epoch ms lines it up with the agent's log.
      console.log(`one new, rename → running ms: ${took.join(', ')}`);
    });
    // An edit that only changes kill_timeout (stored, no restart): what the pipeline costs for one file among N.
    await phase('edit', async () => {
      for (let i = 0; i < ONE; i++) {
        const name = `p${markerOf(SYS, i)}.hcl`;
        await writeFile(path.join(stage, name), job(i, `${6 + i}s`));
        await rename(path.join(stage, name), path.join(h.jobsDir, name));
        await sleep(300);
      }
    });
    await phase('crash', async () => {
      const took: string[] = [];
      for (let i = 0; i < ONE; i++) {
        const before = pidsOf(i)[0];
        const at = performance.timeOrigin + performance.now();
        process.kill(before, 'SIGKILL');
        await waitFor(() => (watch.dropZombies(SYS), pidsOf(i).some((p) => p !== before)), { what: `restart ${i}`, timeoutMs: 30_000, intervalMs: 2 });
        took.push(`${(performance.timeOrigin + performance.now() - at).toFixed(0)} (at ${at.toFixed(0)})`);
        await sleep(300);
      }
      console.log(`crash, kill → running again ms: ${took.join(', ')}`);
    });
    // The phase ends when no task runs; the agent may still be removing dirs and records: the line after says until when.
    const removeFrom = performance.now();
    const removeCpu = agentCpuMs();
    // The plain executor's stop reads /proc: what else runs on the machine weighs on it.
    console.log(`processes on the machine at the remove: ${readdirSync('/proc').filter((f) => /^\d+$/.test(f)).length}`);
    await phase('remove all', async () => {
      for (const f of await readdir(h.jobsDir)) await unlink(path.join(h.jobsDir, f));
      await waitFor(() => (watch.dropZombies(SYS), count() === 0), { what: 'no sleeps', timeoutMs: 600_000, intervalMs: 20 });
    });
    await waitFor(() => Object.keys(h.records()).length === 0, { what: 'no task records', timeoutMs: 600_000, intervalMs: 100 });
    console.log(`remove all, until no task record is left: ${((performance.now() - removeFrom) / 1000).toFixed(2)} s (agent process CPU ${((agentCpuMs() - removeCpu) / 1000).toFixed(2)} s)`);
    await h.term();
    if (opt['agent-log']) writeFileSync(opt['agent-log'], h.agentLog());
  } finally {
    await h.cleanup();
    leaveTreeCg();
  }

  writeFileSync(path.join(profDir, 'phases.json'), JSON.stringify({ spawnedAt, phases }));
}

// The profile: nodes with self samples, cut by phase.
interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
for (const file of readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(profDir, f)).sort()) {
console.log(`\n# ${path.basename(file)} (pid.thread: ${path.basename(file).split('.').slice(3, 5).join('.')})`);
const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; startTime: number; samples: number[]; timeDeltas: number[] };
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
// The profile's clock is monotonic: anchor its start at the agent's spawn (±tens of ms).
let t = prof.startTime;
const t0 = prof.startTime;
const short = (url: string) => url.replace(/^.*\/(dist|node_modules)\//, '$1/').replace(/^file:\/\//, '');
for (const ph of [...phases, { name: 'whole run', from: -Infinity, to: Infinity }]) {
  const self = new Map<string, number>();
  const files = new Map<string, number>();
  let total = 0;
  t = t0;
  for (let k = 0; k < prof.samples.length; k++) {
    t += prof.timeDeltas[k];
    const wall = spawnedAt + (t - t0) / 1000;
    if (wall < ph.from || wall > ph.to) continue;
    const n = byId.get(prof.samples[k])!;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)' || name === '(program)') continue;
    const dt = prof.timeDeltas[k] / 1000;
    total += dt;
    const key = `${name} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const f = short(n.callFrame.url) || `(${name})`;
    files.set(f, (files.get(f) ?? 0) + dt);
  }
  const span = ph.to === Infinity ? 0 : ph.to - ph.from;
  const proc = 'agentCpuMs' in ph && ph.agentCpuMs !== undefined ? `; agent process ${ph.agentCpuMs.toFixed(0)} ms` : '';
  const tree = 'treeCpuMs' in ph && ph.treeCpuMs !== undefined ? `; agent tree ${ph.treeCpuMs.toFixed(0)} ms (${span ? ((ph.treeCpuMs / span) * 100).toFixed(1) : '?'} %)` : '';
  console.log(`\n## ${ph.name}: ${total.toFixed(0)} ms of this thread's samples${span ? ` over ${(span / 1000).toFixed(2)} s (${((total / span) * 100).toFixed(1)} %)` : ''}${proc}${tree}`);
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(opt.top))) console.log(`  ${v.toFixed(1).padStart(8)} ms  ${k}`);
  console.log('  by file:');
  for (const [k, v] of [...files].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${v.toFixed(1).padStart(8)} ms  ${k}`);
}
}
console.log(`\nprofiles: ${profDir}`);
