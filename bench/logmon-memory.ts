/**
 * The log monitor's footprint alone (`tend logmon`, src/executor/logs/),
 * without an agent or tasks: N plain tasks' FIFO pairs, or N oci tasks'
 * conmon logs (k8s-file, written by this bench; their ctl FIFOs have no
 * reader, so conmon's file is never rotated), registered through the
 * monitor's protocol; then a line into every stream, twice, and the
 * monitor's RSS, PSS and CPU. Each variant is a set of node options for the
 * monitor process (`;`-separated; "default" is the monitor as the agent
 * starts it).
 *
 *   node --import tsx bench/logmon-memory.ts [--n 200,1000] [--kind fifo|k8s] [--variants 'default;--max-semi-space-size=1']
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { tendBin } from '../src/paths.js';
import { createLogMonitorClient } from '../src/executor/logs/client.js';
import { logPaths, type LogSource, type LogTarget } from '../src/executor/logs/logs.js';
import { cpuTicks, fmt, pssBytes, rssBytes } from './agent-common.js';

const { values: opt } = parseArgs({
  options: {
    n: { type: 'string', default: '200,1000' },
    kind: { type: 'string', default: 'fifo' },
    variants: { type: 'string', default: 'default' },
    settle: { type: 'string', default: '5' },
  },
});
const NS = opt.n!.split(',').map(Number);
const kind = opt.kind === 'k8s' ? 'k8s' : 'fifo';
const SETTLE_MS = Number(opt.settle) * 1000;
const bundleEntry = path.resolve(import.meta.dirname, '../dist/tend.js');

function threads(pid: number): number {
  return Number(/Threads:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

/** One k8s-file record per stream, as conmon writes them. */
const k8sLines = (i: number) => `${new Date().toISOString()} stdout F task ${i} says hello\n${new Date().toISOString()} stderr F task ${i} complains\n`;

async function measure(n: number, variant: string): Promise<string> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'tend-logmon-mem-'));
  const dataDir = path.join(root, 'd');
  const flags = variant === 'default' ? undefined : variant.split(/\s+/).filter(Boolean);
  // The bundle's entry, as an agent running from the bundle starts the monitor (client.ts defaultCommand).
  const entry = existsSync(bundleEntry) ? bundleEntry : tendBin();
  const client = createLogMonitorClient({ dataDir, command: [process.execPath, ...(flags ?? []), entry] });
  try {
    const all: { source: LogSource; target: LogTarget }[] = [];
    const fifos: string[] = [];
    for (let i = 0; i < n; i++) {
      const logDir = path.join(root, 'logs', `a${i}`);
      mkdirSync(logDir, { recursive: true });
      const p = logPaths(logDir, 't');
      const target: LogTarget = { id: `a${i}/t`, logDir, task: 't', maxFiles: 10, maxFileSizeBytes: 10 << 20 };
      if (kind === 'fifo') {
        fifos.push(p.stdoutFifo, p.stderrFifo);
        all.push({ source: { kind: 'fifo', stdoutFifo: p.stdoutFifo, stderrFifo: p.stderrFifo }, target });
      } else {
        const ctl = path.join(logDir, 'ctl');
        fifos.push(ctl);
        appendFileSync(p.conmonLog, '');
        all.push({ source: { kind: 'k8s-file', path: p.conmonLog, ctlFifo: ctl }, target });
      }
    }
    for (let i = 0; i < fifos.length; i += 500) execFileSync('mkfifo', fifos.slice(i, i + 500));
    await client.ensure();
    const pid = (await client.pid())!;
    const rss0 = rssBytes(pid);
    await client.sync(all);
    const write = () => {
      for (let i = 0; i < n; i++) {
        const e = all[i];
        if (e.source.kind === 'fifo') {
          for (const f of [e.source.stdoutFifo, e.source.stderrFifo]) {
            const fd = openSync(f, constants.O_WRONLY | constants.O_NONBLOCK);
            writeSync(fd, `task ${i} says hello on ${path.basename(f)}\n`);
            closeSync(fd);
          }
        } else appendFileSync(e.source.path, k8sLines(i));
      }
    };
    write();
    await sleep(SETTLE_MS);
    write();
    await sleep(SETTLE_MS);
    const t0 = cpuTicks(pid);
    await sleep(10_000);
    const idle = cpuTicks(pid) - t0;
    return `| ${variant} | ${n} | ${fmt(rss0 / 1048576)} | ${fmt(rssBytes(pid) / 1048576)} | ${fmt(pssBytes(pid) / 1048576)} | ${threads(pid)} | ${idle} |`;
  } finally {
    await client.stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }
}

console.log(`log monitor, ${kind} sources, ${new Date().toISOString()}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
console.log('| node options | tasks | RSS empty, MiB | RSS, MiB | PSS, MiB | threads | CPU ticks over 10 s idle |\n|---|---:|---:|---:|---:|---:|---:|');
for (const n of NS) for (const v of opt.variants!.split(';')) console.log(await measure(n, v.trim()));
