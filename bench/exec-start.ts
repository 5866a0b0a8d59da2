/**
 * Start latency of one exec task through the oci executor (conmon + runc
 * create + start), and the time to converge N exec tasks with concurrency 8,
 * each next to the floor measured in the same run: a bare `runc run -d` of
 * the same bundle. Also memory per running task: conmon's RSS next to the
 * task's own. Appends a section to bench/README.md.
 *
 *   node --import tsx bench/exec-start.ts [samples=30] [tasks=200]
 * Needs root, runc and conmon.
 */
import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import PQueue from 'p-queue';
import { createCgroupManager } from '../src/cgroups/factory.js';
import { DEFAULT_CHROOT_ENV, existingChrootEnv, NOMAD_DEFAULT_CAPS, ociCap } from '../src/drivers/exec-isolation.js';
import type { LaunchSpec, TaskHandle } from '../src/executor/executor.js';
import type { LogMonitorClient } from '../src/executor/logs/logs.js';
import { OciExecutor } from '../src/executor/oci/executor.js';
import { platform } from '../src/platform.js';

const run = promisify(execFile);
const samples = Number(process.argv[2] ?? 30);
const tasks = Number(process.argv[3] ?? 200);
const p = platform();
if (!p.isRoot || !p.which('runc') || !p.which('conmon')) {
  console.error('exec-start: needs root, runc and conmon');
  process.exit(1);
}

const noopLogs: LogMonitorClient = {
  ensure: async () => undefined,
  add: async () => undefined,
  remove: async () => undefined,
  sync: async () => undefined,
  pid: async () => undefined,
  stop: async () => undefined,
};

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tend-bench-exec-'));
const parent = `tend-bench-${process.pid}`;
const cgroups = createCgroupManager({ parent });
const executor = new OciExecutor({ dataDir, runtime: 'runc', conmon: 'conmon', cgroups, logs: noopLogs, pidsLimit: 256 });
const bareRoot = path.join(dataDir, 'bare-runc-root');
const caps = NOMAD_DEFAULT_CAPS.map(ociCap);

function spec(id: string): LaunchSpec {
  const allocDir = path.join(dataDir, 'alloc', id, 'alloc');
  const taskDir = path.join(dataDir, 'alloc', id, 't');
  for (const d of [path.join(allocDir, 'logs'), path.join(taskDir, 'local'), path.join(taskDir, 'secrets'), path.join(taskDir, 'tmp')]) mkdirSync(d, { recursive: true });
  return {
    id,
    identity: { job: 'bench', group: 'g', index: 0, task: 't', allocId: id },
    driver: 'exec',
    command: '/bin/sleep',
    args: ['600'],
    env: { PATH: '/usr/bin:/bin' },
    allocDir,
    taskDir,
    cwd: '/',
    logDir: path.join(allocDir, 'logs'),
    logs: { maxFiles: 2, maxFileSizeBytes: 1 << 20 },
    resources: { cpuShares: 100, memoryBytes: 32 << 20, memoryMaxBytes: 32 << 20 },
    isolation: { chrootEnv: existingChrootEnv(DEFAULT_CHROOT_ENV), pidMode: 'private', ipcMode: 'private', noPivotRoot: false, capabilities: caps, mounts: [] },
  };
}

function stats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const q = (f: number) => s[Math.min(s.length - 1, Math.floor(f * s.length))];
  return { median: q(0.5), p99: q(0.99), n: s.length };
}

/** A bare-runc copy of a task's bundle (same config, its own cgroup path). */
function bareBundle(fromId: string, id: string): string {
  const dir = path.join(dataDir, 'bare', id);
  mkdirSync(dir, { recursive: true });
  const cfg = JSON.parse(readFileSync(path.join(dataDir, 'oci', fromId, 'config.json'), 'utf8'));
  cfg.linux.cgroupsPath = `/${parent}-bare/${id}`;
  cfg.root.path = path.join(dir, 'rootfs');
  mkdirSync(cfg.root.path, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
  return dir;
}

async function bareRun(bundle: string, id: string): Promise<number> {
  const t0 = performance.now();
  await run('runc', [`--root=${bareRoot}`, 'run', '-d', '--bundle', bundle, id], { timeout: 60_000 });
  return performance.now() - t0;
}

async function bareDelete(id: string): Promise<void> {
  await run('runc', [`--root=${bareRoot}`, 'delete', '--force', id]).catch(() => undefined);
}

function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function stopAll(handles: TaskHandle[]): Promise<void> {
  const q = new PQueue({ concurrency: 8 });
  await Promise.all(handles.map((h) => q.add(async () => {
    await executor.shutdown(h, 'SIGKILL', 0).catch(() => undefined);
    await executor.cleanup(h.id).catch(() => undefined);
  })));
}

function removeCgroupParents(): void {
  const roots = [...new Set([...Object.values(p.cgroups.v1), ...(p.cgroups.unified ? [p.cgroups.unified] : [])])];
  for (const root of roots) {
    for (const name of [parent, `${parent}-bare`]) {
      const dir = path.join(root, name);
      if (!existsSync(dir)) continue;
      for (const c of readdirSync(dir, { withFileTypes: true })) if (c.isDirectory()) rmdirSync(path.join(dir, c.name));
      rmdirSync(dir);
    }
  }
}

const out: string[] = [];
try {
  // Warm up (page cache, binaries) and keep a bundle to copy for the bare runs.
  const warm = await executor.launch(spec('warm'));
  cpSync(path.join(dataDir, 'oci', 'warm', 'config.json'), path.join(dataDir, 'warm-config.json'));

  // 1. One task at a time.
  const launchMs: number[] = [];
  const bareMs: number[] = [];
  for (let i = 0; i < samples; i++) {
    const id = `one-${i}`;
    const t0 = performance.now();
    const h = await executor.launch(spec(id));
    launchMs.push(performance.now() - t0);
    await stopAll([h]);
    const bid = `bare-one-${i}`;
    bareMs.push(await bareRun(bareBundle('warm', bid), bid));
    await bareDelete(bid);
  }
  const one = stats(launchMs);
  const bareOne = stats(bareMs);

  // 2. Converge N tasks, concurrency 8.
  const q = new PQueue({ concurrency: 8 });
  const handles: TaskHandle[] = [];
  let t0 = performance.now();
  await Promise.all(Array.from({ length: tasks }, (_, i) => q.add(async () => handles.push(await executor.launch(spec(`many-${i}`))))));
  const convergeMs = performance.now() - t0;
  const conmonRss = handles.map((h) => rssKb((h.data as { conmonPid: number }).conmonPid));
  const taskRss = handles.map((h) => rssKb(h.pid));
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  await stopAll(handles);

  const bq = new PQueue({ concurrency: 8 });
  const bareIds = Array.from({ length: tasks }, (_, i) => `bare-many-${i}`);
  const bundles = bareIds.map((id) => bareBundle('warm', id));
  t0 = performance.now();
  await Promise.all(bareIds.map((id, i) => bq.add(() => bareRun(bundles[i], id))));
  const bareConvergeMs = performance.now() - t0;
  await Promise.all(bareIds.map((id) => bq.add(() => bareDelete(id))));
  await stopAll([warm]);

  const f = (n: number) => n.toFixed(1);
  out.push(
    `\n## exec-start (${new Date().toISOString().slice(0, 10)}, ${samples} samples, ${tasks} tasks, load avg ${os.loadavg()[0].toFixed(1)})\n`,
    '| what | tend oci executor | floor: bare `runc run -d`, same bundle | added |',
    '|---|---|---|---|',
    `| start one exec task, median | ${f(one.median)} ms | ${f(bareOne.median)} ms | ${f(one.median - bareOne.median)} ms |`,
    `| start one exec task, p99 | ${f(one.p99)} ms | ${f(bareOne.p99)} ms | ${f(one.p99 - bareOne.p99)} ms |`,
    `| converge ${tasks} exec tasks, concurrency 8 | ${f(convergeMs / 1000)} s | ${f(bareConvergeMs / 1000)} s | ${f((convergeMs - bareConvergeMs) / 1000)} s |`,
    `| memory per running task: conmon RSS (avg) | ${f(avg(conmonRss) / 1024)} MiB | task's own RSS (sleep): ${f(avg(taskRss) / 1024)} MiB | no runc process remains |`,
    '',
    'tend adds conmon (the monitor that outlives the agent and records the exit code), the cgroup',
    'created and limited by the cgroup manager before runc joins it, and the wait for conmon\'s sync pipe.',
  );
  console.log(out.join('\n'));
  appendFileSync(new URL('./README.md', import.meta.url), `${out.join('\n')}\n`);
} finally {
  await executor.gc(new Set()).catch(() => undefined);
  await executor.close();
  try {
    const { stdout } = await run('runc', [`--root=${bareRoot}`, 'list', '-q']);
    for (const id of stdout.split('\n').filter(Boolean)) await bareDelete(id);
  } catch {
    /* no bare containers */
  }
  removeCgroupParents();
  rmSync(dataDir, { recursive: true, force: true });
}
