/**
 * Start latency of one exec task through the oci executor (cgroup, bundle,
 * conmon → runc create, runc start), next to the floor measured in the same
 * run on a copy of the same config.json: a bare `runc run -d`, and a bare
 * `runc create` + `runc start` (what tend does, without the monitor). The
 * three are interleaved sample by sample (rotating which goes first), one
 * container at a time, each stopped and removed before the next.
 *
 *   node --import tsx bench/exec-start.ts [samples=50]
 * Needs root, runc and conmon. Prints a markdown table; bench/README.md
 * holds the recorded figures.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { cgroupRoots, cgroupTree, mountsUnder, procsMentioning } from '../test/e2e/agent/oci-cleanup.js';
import { createCgroupManager } from '../src/cgroups/factory.js';
import type { LaunchSpec, TaskHandle } from '../src/executor/executor.js';
import type { LogMonitorClient } from '../src/executor/logs/logs.js';
import { OciExecutor } from '../src/executor/oci/executor.js';
import { platform } from '../src/platform.js';
import { fmt, summary } from './agent-common.js';
import { execLaunchSpec, runc as runcAt, runcList } from './oci-common.js';

const samples = Number(process.argv[2] ?? 50);
const p = platform();
if (!p.isRoot || !p.which('runc') || !p.which('conmon')) {
  console.error('exec-start: needs root, runc and conmon');
  process.exit(1);
}

// The log monitor is a separate process in the agent; here its registration is a no-op.
const noopLogs: LogMonitorClient = {
  ensure: async () => undefined,
  add: async () => undefined,
  collect: async () => undefined,
  revive: async () => undefined,
  unregistered: () => [],
  status: async () => undefined,
  remove: async () => undefined,
  sync: async () => undefined,
  pid: async () => undefined,
  stop: async () => undefined,
};

/** The executor's own phase timings, from its debug line "task launched". */
const phases: { prepareMs: number; createMs: number; startMs: number }[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, cb) {
    for (const line of chunk.toString().split('\n')) {
      if (!line.includes('"task launched"')) continue;
      const o = JSON.parse(line) as { prepareMs: number; createMs: number; startMs: number };
      phases.push({ prepareMs: o.prepareMs, createMs: o.createMs, startMs: o.startMs });
    }
    cb();
  },
});

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tend-bench-exec-'));
const parent = `tend-bench-${process.pid}`;
const bareParent = `${parent}-bare`;
const cgroups = createCgroupManager({ parent });
const executor = new OciExecutor({ dataDir, runtime: 'runc', conmon: 'conmon', cgroups, logs: noopLogs, pidsLimit: 256, logger: pino({ level: 'debug' }, sink) });
const bareRoot = path.join(dataDir, 'bare-runc-root');
const runc = (args: string[]) => runcAt(bareRoot, args);

const spec = (id: string): LaunchSpec => execLaunchSpec(dataDir, id);

/** A bare copy of a tend bundle: the same config.json, its own rootfs dir and a cgroup under the bare parent. */
function bareBundle(config: string, id: string): string {
  const dir = path.join(dataDir, 'bare', id);
  mkdirSync(path.join(dir, 'rootfs'), { recursive: true });
  const cfg = JSON.parse(config) as { root: { path: string }; linux: { cgroupsPath: string } };
  cfg.linux.cgroupsPath = `/${bareParent}/${id}`;
  cfg.root.path = path.join(dir, 'rootfs');
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
  return dir;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const loadBefore = os.loadavg();
const tendMs: number[] = [];
const runMs: number[] = [];
const createStartMs: number[] = [];
const createMs: number[] = [];
let warm: TaskHandle | undefined;
const leftovers: string[] = [];
try {
  // Warm up (page cache, binaries, the cgroup parent) and keep its config for the bare bundles.
  warm = await executor.launch(spec('warm'));
  const config = readFileSync(path.join(dataDir, 'oci', 'warm', 'config.json'), 'utf8');
  await runc(['run', '-d', '--bundle', bareBundle(config, 'bare-warm'), 'bare-warm']);
  await runc(['delete', '--force', 'bare-warm']);
  phases.length = 0;

  const kinds = ['tend', 'run', 'create+start'] as const;
  for (let i = 0; i < samples; i++) {
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[(i + k) % kinds.length];
      if (kind === 'tend') {
        const s = spec(`one-${i}`);
        let h: TaskHandle | undefined;
        tendMs.push(await timed(async () => (h = await executor.launch(s))));
        await executor.shutdown(h!, 'SIGKILL', 0);
        await executor.cleanup(h!.id);
      } else if (kind === 'run') {
        const id = `bare-run-${i}`;
        const b = bareBundle(config, id);
        runMs.push(await timed(() => runc(['run', '-d', '--bundle', b, id])));
        await runc(['delete', '--force', id]);
      } else {
        const id = `bare-cs-${i}`;
        const b = bareBundle(config, id);
        const t0 = performance.now();
        await runc(['create', '--bundle', b, id]);
        createMs.push(performance.now() - t0);
        await runc(['start', id]);
        createStartMs.push(performance.now() - t0);
        await runc(['delete', '--force', id]);
      }
    }
  }
} finally {
  if (warm) await executor.shutdown(warm, 'SIGKILL', 0).catch(() => undefined);
  await executor.gc(new Set()).catch(() => undefined);
  await executor.close();
  for (const id of await runcList(bareRoot)) await runc(['delete', '--force', id]).catch(() => undefined);
  for (const root of [bareRoot, executor.layout.runcRoot]) for (const id of await runcList(root)) leftovers.push(`runc container ${id} under ${root}`);
  // runc leaves the bare containers' (empty) cgroups behind; remove them and the parents, deepest first.
  for (const root of cgroupRoots()) {
    for (const name of [parent, bareParent]) {
      for (const d of cgroupTree(path.join(root, name))) {
        try {
          rmdirSync(d);
        } catch (err) {
          leftovers.push(`cgroup ${d}: ${(err as Error).message}`);
        }
      }
    }
  }
  for (const mp of mountsUnder(dataDir)) leftovers.push(`mount ${mp}`);
  for (const pid of procsMentioning(dataDir)) leftovers.push(`process ${pid}`);
  if (!leftovers.length) rmSync(dataDir, { recursive: true, force: true });
}

const load = `${loadBefore.map((l) => l.toFixed(1)).join(' ')} before, ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} after`;
const row = (what: string, xs: number[]) => {
  const s = summary(xs);
  return `| ${what} | ${fmt(s.median)} | ${fmt(s.p99)} | ${fmt(s.max)} |`;
};
const ph = (k: 'prepareMs' | 'createMs' | 'startMs') => summary(phases.map((x) => x[k])).median;
console.log(`exec-start: n=${samples} each, ${new Date().toISOString().slice(0, 10)}, node ${process.version}, load average ${load}\n`);
console.log('| what | median ms | p99 ms | max ms |\n|---|---:|---:|---:|');
console.log(row('floor: bare `runc run -d`, same config.json', runMs));
console.log(row('floor: bare `runc create` + `runc start`, same config.json', createStartMs));
console.log(row('  of which `runc create`', createMs));
console.log(row('tend: OciExecutor.launch of the exec task → running', tendMs));
const rest = summary(tendMs.map((t, i) => t - (phases[i] ? phases[i].prepareMs + phases[i].createMs + phases[i].startMs : NaN))).median;
console.log(`\ntend phases (medians): before prepare (\`runc delete\` of a stale id, dirs) ${fmt(rest)} ms, prepare (cgroup, bundle) ${ph('prepareMs')} ms, conmon → runc create → sync pipe ${ph('createMs')} ms, runc start + handle ${ph('startMs')} ms (whole ms, from the executor's debug log)`);
console.log(leftovers.length ? `LEFTOVERS (data dir kept: ${dataDir}):\n${leftovers.join('\n')}` : 'cleanup verified: no runc containers, cgroups, mounts or processes left');
if (leftovers.length) process.exitCode = 1;
