/** Shared by the agent benchmarks: stats, a bare fork/exec floor, /proc readers. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function summary(xs: number[]): { median: number; p99: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: pct(s, 50), p99: pct(s, 99), max: s[s.length - 1] };
}

/** Bare floor: spawn `sh -c 'exec sleep 1000'` detached, resolve once it runs (pid known). */
export function bareSpawn(): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn('/bin/sh', ['-c', 'exec sleep 1000'], { detached: true, stdio: 'ignore' });
    c.once('error', reject);
    c.once('spawn', () => {
      c.unref();
      resolve(c.pid!);
    });
  });
}

/** SIGKILL each pid; the ones that were there to kill. */
export function killAll(pids: number[]): number[] {
  const hit: number[] = [];
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
      hit.push(p);
    } catch {
      /* gone */
    }
  }
  return hit;
}

/** utime + stime of a process, in clock ticks. */
export function cpuTicks(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]);
}

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Proportional set size (shared pages divided among the processes mapping them), from smaps_rollup. */
export function pssBytes(pid: number): number {
  const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

export const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
