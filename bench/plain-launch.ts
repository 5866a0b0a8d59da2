/**
 * Plain executor: launch and shutdown latency and memory per task, next to
 * the floor measured in the same run (a bare detached spawn of the same
 * command, a bare SIGTERM + wait). N tasks `sleep 600`, launched one after
 * the other through the real executor and log monitor, then stopped.
 *
 *   node --import tsx bench/plain-launch.ts [N]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LaunchSpec, TaskHandle } from '../src/executor/executor.js';
import { createLogMonitorClient } from '../src/executor/logs/client.js';
import { createPlainExecutor } from '../src/executor/plain.js';
import { isAlive } from '../src/executor/proc.js';

const N = Number(process.argv[2] ?? 200);

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const row = (what: string, xs: number[]) => `| ${what} | ${pct(xs, 50).toFixed(2)} | ${pct(xs, 99).toFixed(2)} | ${Math.max(...xs).toFixed(2)} |`;

async function waitGone(pid: number) {
  while (isAlive(pid)) await new Promise((r) => setTimeout(r, 1));
}

// Floor: bare detached spawn, then SIGTERM and wait for the exit.
const floorLaunch: number[] = [];
const floorStop: number[] = [];
const floorRss: number[] = [];
const bare: number[] = [];
for (let i = 0; i < N; i++) {
  const t0 = performance.now();
  const child = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
  await new Promise((r) => child.once('spawn', r));
  floorLaunch.push(performance.now() - t0);
  child.unref();
  bare.push(child.pid!);
}
for (const pid of bare) floorRss.push(rssKiB(pid));
for (const pid of bare) {
  const t0 = performance.now();
  process.kill(pid, 'SIGTERM');
  await waitGone(pid);
  floorStop.push(performance.now() - t0);
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'bp-'));
const logs = createLogMonitorClient({ dataDir });
const executor = createPlainExecutor({ dataDir, logs });
const handles: TaskHandle[] = [];
try {
  const t0 = performance.now();
  await logs.ensure();
  const monitorStart = performance.now() - t0;
  const launch: number[] = [];
  for (let i = 0; i < N; i++) {
    const allocDir = path.join(dataDir, 'alloc', `a${i}`, 'alloc');
    mkdirSync(path.join(allocDir, 'logs'), { recursive: true });
    const spec: LaunchSpec = {
      id: `a${i}-t`,
      identity: { job: 'j', group: 'g', index: i, task: 't', allocId: `a${i}` },
      driver: 'raw_exec',
      command: 'sleep',
      args: ['600'],
      env: { PATH: '/usr/bin:/bin' },
      allocDir,
      taskDir: allocDir,
      cwd: allocDir,
      logDir: path.join(allocDir, 'logs'),
      logs: { maxFiles: 2, maxFileSizeBytes: 1 << 20 },
      resources: { cpuShares: 100, memoryBytes: 1 << 28, memoryMaxBytes: 1 << 28 },
    };
    const s = performance.now();
    handles.push(await executor.launch(spec));
    launch.push(performance.now() - s);
  }
  const wrapperRss = handles.map((h) => rssKiB(Number(h.data.wrapperPid)));
  const taskRss = handles.map((h) => rssKiB(h.pid));
  const monitorRss = rssKiB((await logs.pid())!);
  const stop: number[] = [];
  for (const h of handles) {
    const s = performance.now();
    await executor.shutdown(h, 'SIGTERM', 5000);
    stop.push(performance.now() - s);
    await executor.cleanup(h.id);
  }
  handles.length = 0;
  console.log(`N=${N}, ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} load\n`);
  console.log('| what | median ms | p99 ms | max ms |\n|---|---:|---:|---:|');
  console.log(row('floor: bare detached spawn of `sleep 600`', floorLaunch));
  console.log(row('plain launch (wrapper, FIFOs, monitor add, handle.json)', launch));
  console.log(row('floor: SIGTERM + wait for exit', floorStop));
  console.log(row('plain shutdown(SIGTERM) incl. /proc sweep for marked descendants', stop));
  console.log(`\nmonitor start (ensure): ${monitorStart.toFixed(0)} ms; /proc holds ${readFileSync('/proc/loadavg', 'utf8').split(' ')[3]} (runnable/total) tasks`);
  console.log(`RSS per task: sleep ${pct(floorRss, 50)} KiB (floor), wrapper sh ${pct(wrapperRss, 50)} KiB, task ${pct(taskRss, 50)} KiB; log monitor with ${N} tasks: ${(monitorRss / 1024).toFixed(1)} MiB`);
} finally {
  for (const h of handles) await executor.shutdown(h, 'SIGKILL', 0).catch(() => undefined);
  await logs.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
