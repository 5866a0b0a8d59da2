/**
 * What one child_process.spawn costs the caller's event loop, by the
 * caller's resident size: the synchronous part of spawn() (libuv forks the
 * whole process, then waits for the child's exec) and spawn → exit of
 * `runc --version`. Run at this process's own size, then with ballast that
 * brings it to about an agent's size with a few hundred tasks.
 *
 *   node --import tsx bench/spawn-cost.ts [n=100] [ballastMiB=150]
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { platform } from '../src/platform.js';
import { fmt, summary } from './agent-common.js';

const n = Number(process.argv[2] ?? 100);
const ballastMiB = Number(process.argv[3] ?? 150);
const bin = platform().which('runc') ?? '/bin/true';
const args = bin.endsWith('runc') ? ['--version'] : [];

async function measure(): Promise<{ sync: number[]; total: number[] }> {
  const sync: number[] = [];
  const total: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const c = spawn(bin, args, { stdio: 'ignore' });
    sync.push(performance.now() - t0);
    await new Promise((r) => c.once('exit', r));
    total.push(performance.now() - t0);
  }
  return { sync, total };
}

const rssMiB = () => process.memoryUsage().rss / 2 ** 20;
console.log(`spawn-cost: n=${n}, ${new Date().toISOString().slice(0, 10)}, node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, \`${[bin, ...args].join(' ')}\`\n`);
console.log('| caller RSS | spawn() returns, median ms | p99 ms | spawn → exit, median ms | p99 ms |\n|---|---:|---:|---:|---:|');
const rows: string[] = [];
const small = rssMiB();
const a = await measure();
rows.push(`| ${fmt(small)} MiB | ${fmt(summary(a.sync).median)} | ${fmt(summary(a.sync).p99)} | ${fmt(summary(a.total).median)} | ${fmt(summary(a.total).p99)} |`);
// Touched memory (page tables to copy on fork), as a long-lived agent's heap is.
const ballast = Array.from({ length: ballastMiB }, () => Buffer.alloc(1 << 20, 1));
const big = rssMiB();
const b = await measure();
rows.push(`| ${fmt(big)} MiB | ${fmt(summary(b.sync).median)} | ${fmt(summary(b.sync).p99)} | ${fmt(summary(b.total).median)} | ${fmt(summary(b.total).p99)} |`);
console.log(rows.join('\n'));
void ballast.length;
