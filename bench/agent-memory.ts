/**
 * Where the agent's memory goes (issue 14: agent RSS ≤ 100 MiB with 1,000
 * tasks). One real `tend agent` (the dist/ bundle, as bench/peers.ts runs
 * it: one job file per task, `/bin/sleep <marker>`), grown from no tasks to
 * each N in turn; at each step, after a settle, with the HCL parser alive
 * and again once it was released (idle), it reads:
 *
 *  - /proc/<pid>/smaps of the agent, by kind of mapping: the node binary's
 *    file pages, other files, the brk heap (malloc), anonymous memory (V8's
 *    heaps, wasm memory, thread stacks and malloc's mmap arenas);
 *  - what V8 says of each thread (bench/mem-probe.mjs, preloaded through
 *    NODE_OPTIONS into every tend process): heap used and committed,
 *    external and array buffers, code;
 *  - RSS and PSS of the log monitor and the launcher.
 *
 * With `--snapshot DIR`, a V8 heap snapshot of the agent is written to DIR
 * at each step (SIGUSR2, `--heapsnapshot-signal`); `bench/heap-summary.ts`
 * sums one by constructor.
 *
 * `--agent-v8 FLAGS` has the agent set V8 flags on itself first thing
 * (v8.setFlagsFromString, through the probe): a way to try runtime flags.
 *
 *   node --import tsx bench/agent-memory.ts [--n 200,1000] [--executor plain|oci] [--settle 15] [--release-wait 120] [--idle 30] [--snapshot DIR] [--agent-v8=FLAGS] [--sys 9]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../test/helpers/wait.js';
import { cpuTicks, fmt } from './agent-common.js';
import { cmdlineOf, SleepWatch, type Parts } from './peers-proc.js';
import { TendPeer } from './peers-tend.js';

const { values: opt } = parseArgs({
  options: {
    n: { type: 'string', default: '200,1000' },
    executor: { type: 'string', default: 'plain' },
    settle: { type: 'string', default: '15' },
    'release-wait': { type: 'string', default: '120' },
    idle: { type: 'string', default: '30' },
    snapshot: { type: 'string' },
    'agent-v8': { type: 'string' },
    sys: { type: 'string', default: '9' },
  },
});
const NS = opt.n!.split(',').map(Number);
const SETTLE_S = Number(opt.settle);
const RELEASE_WAIT_S = Number(opt['release-wait']);
const IDLE_S = Number(opt.idle);
const executor = opt.executor === 'oci' ? 'oci' : 'plain';

const probeDir = mkdtempSync(path.join(os.tmpdir(), 'tend-memprobe-'));
process.env.TEND_MEMPROBE = probeDir;
// V8 flags the agent sets on itself at start, tried without changing it (mem-probe.mjs sets them first thing).
if (opt['agent-v8']) process.env.TEND_MEMPROBE_AGENT_V8 = opt['agent-v8'];
const snapshotOptions = opt.snapshot ? ` --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${path.resolve(opt.snapshot)}` : '';
process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import ${fileURLToPath(new URL('./mem-probe.mjs', import.meta.url))}${snapshotOptions}`.trim();

interface Probe {
  at: number;
  pid: number;
  threadId: number;
  argv: string[];
  mem: NodeJS.MemoryUsage;
  heap: { total_heap_size: number; used_heap_size: number; malloced_memory: number; external_memory: number; total_physical_size: number };
  code: { code_and_metadata_size: number; bytecode_and_metadata_size: number; external_script_source_size: number };
  spaces: Record<string, { size: number; used: number; physical: number }>;
}

/** The fresh probes of a pid (written in the last 3 s), by thread. */
function probes(pid: number): Probe[] {
  const out: Probe[] = [];
  for (const f of readdirSync(probeDir)) {
    if (!f.startsWith(`${pid}.`)) continue;
    const file = path.join(probeDir, f);
    if (Date.now() - statSync(file).mtimeMs > 3000) continue;
    try {
      out.push(JSON.parse(readFileSync(file, 'utf8')) as Probe);
    } catch {
      /* being written */
    }
  }
  return out.sort((a, b) => a.threadId - b.threadId);
}

/** RSS of a pid's mappings by kind, KiB. */
function smapsByKind(pid: number): Record<string, { rss: number; pss: number }> {
  const out: Record<string, { rss: number; pss: number }> = {};
  let kind = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1];
      kind =
        name === '' ? 'anonymous'
        : name === '[heap]' ? 'brk heap (malloc)'
        : name.startsWith('[stack') ? 'main stack'
        : name.startsWith('[') ? 'other special'
        : path.basename(name) === path.basename(process.execPath) ? 'node binary'
        : 'other files';
      out[kind] ??= { rss: 0, pss: 0 };
      continue;
    }
    const m = /^(Rss|Pss):\s+(\d+) kB/.exec(line);
    if (m && kind) out[kind][m[1] === 'Rss' ? 'rss' : 'pss'] += Number(m[2]);
  }
  return out;
}

function status(pid: number): { rss: number; threads: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: Number(/VmRSS:\s+(\d+)/.exec(s)![1]), threads: Number(/Threads:\s+(\d+)/.exec(s)![1]) };
}

function pss(pid: number): number {
  return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))![1]);
}

const mib = (kib: number) => fmt(kib / 1024);
const mb = (bytes: number) => fmt(bytes / 1048576);

function report(label: string, parts: Parts): string[] {
  const agent = parts.get('agent')![0];
  const lines: string[] = [];
  const st = status(agent);
  lines.push(`### ${label}`, '', `agent pid ${agent}: RSS ${mib(st.rss)} MiB, PSS ${mib(pss(agent))} MiB, ${st.threads} threads`, '');
  lines.push('| agent mappings | RSS MiB | PSS MiB |', '|---|---:|---:|');
  for (const [k, v] of Object.entries(smapsByKind(agent)).sort((a, b) => b[1].rss - a[1].rss)) lines.push(`| ${k} | ${mib(v.rss)} | ${mib(v.pss)} |`);
  lines.push('', '| thread | heapUsed | heapTotal | V8 physical | external | arrayBuffers | malloced | code | bytecode |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const pr of probes(agent)) {
    lines.push(
      `| ${pr.threadId === 0 ? 'main' : `worker ${pr.threadId}`} | ${mb(pr.mem.heapUsed)} | ${mb(pr.mem.heapTotal)} | ${mb(pr.heap.total_physical_size)} | ${mb(pr.mem.external)} | ${mb(pr.mem.arrayBuffers)} | ${mb(pr.heap.malloced_memory)} | ${mb(pr.code.code_and_metadata_size)} | ${mb(pr.code.bytecode_and_metadata_size)} |`,
    );
  }
  const main = probes(agent).find((p) => p.threadId === 0);
  if (main) lines.push('', `main thread V8 spaces, committed (used) MiB: ${Object.entries(main.spaces).filter(([, v]) => v.size > 0).map(([k, v]) => `${k} ${mb(v.size)} (${mb(v.used)})`).join(', ')}`);
  lines.push('', '| process | RSS MiB | PSS MiB | heapUsed | heapTotal | external |', '|---|---:|---:|---:|---:|---:|');
  for (const [part, pids] of parts) {
    if (part === 'agent' || part === 'wrappers' || part === 'conmon') continue;
    for (const pid of pids) {
      let rss = NaN;
      let p = NaN;
      try {
        rss = status(pid).rss;
        p = pss(pid);
      } catch {
        continue;
      }
      const pr = probes(pid).find((x) => x.threadId === 0);
      lines.push(`| ${part} (${cmdlineOf(pid).slice(0, 60)}) | ${mib(rss)} | ${mib(p)} | ${pr ? mb(pr.mem.heapUsed) : '–'} | ${pr ? mb(pr.mem.heapTotal) : '–'} | ${pr ? mb(pr.mem.external) : '–'} |`);
    }
  }
  lines.push('');
  return lines;
}

// The marker digit of this bench's sleeps (peers-proc.ts): 9, which no system of bench/peers.ts uses.
const SYS = Number(opt.sys);
const peer = new TendPeer(`tend ${executor}`, SYS, executor, 'raw_exec');
const watch = new SleepWatch();
const out: string[] = [`# agent-memory, ${executor} executor${opt['agent-v8'] ? `, agent V8 flags ${opt['agent-v8']}` : ''}, ${new Date().toISOString()}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`, ''];
const onSignal = () => void peer.cleanup().finally(() => process.exit(130));
process.on('SIGINT', onSignal);
try {
  await peer.start();
  const agentPid = peer.parts().get('agent')![0];
  await sleep(SETTLE_S * 1000);
  out.push(...report('no tasks (no job file parsed yet)', peer.parts()));
  let have = 0;
  for (const n of NS) {
    const idx = Array.from({ length: n - have }, (_, i) => have + i);
    await peer.prepare(idx);
    const ticks0 = cpuTicks(agentPid);
    const t0 = performance.now();
    await peer.add(idx);
    await waitFor(
      () => {
        watch.scan();
        return watch.count(SYS) >= n;
      },
      { what: `${n} running`, timeoutMs: 900_000, intervalMs: 200 },
    );
    const convergeS = (performance.now() - t0) / 1000;
    const convergeTicks = cpuTicks(agentPid) - ticks0;
    have = n;
    await sleep(SETTLE_S * 1000);
    const idle0 = cpuTicks(agentPid);
    await sleep(IDLE_S * 1000);
    const idlePct = (cpuTicks(agentPid) - idle0) / IDLE_S; // ticks are 1/100 s: ticks per second = % of a core
    out.push(`agent CPU: ${(convergeTicks / 100).toFixed(1)} s to converge to ${n} tasks (${convergeS.toFixed(1)} s wall), then ${idlePct.toFixed(2)} % of a core over ${IDLE_S} s idle`, '');
    const agent = peer.parts().get('agent')![0];
    // The parser: a worker thread of the agent (before 2026-12-01) or a child process.
    const parserAlive = () => probes(agent).some((p) => p.threadId !== 0) || peer.parts().has('parser');
    out.push(...report(`${n} tasks, ${SETTLE_S + IDLE_S} s after the last started (parser ${parserAlive() ? 'alive' : 'released'})`, peer.parts()));
    await waitFor(() => !parserAlive(), { what: 'parser released', timeoutMs: RELEASE_WAIT_S * 1000, intervalMs: 1000 }).catch(() => undefined);
    out.push(...report(`${n} tasks, parser ${parserAlive() ? 'still alive' : 'released'}`, peer.parts()));
    if (opt.snapshot) {
      const dir = path.resolve(opt.snapshot);
      const before = new Set(readdirSync(dir));
      process.kill(agent, 'SIGUSR2');
      const isNew = (f: string) => f.endsWith('.heapsnapshot') && !before.has(f);
      await waitFor(() => readdirSync(dir).some(isNew), { what: 'heap snapshot', timeoutMs: 120_000, intervalMs: 500 });
      const file = path.join(dir, readdirSync(dir).find(isNew)!);
      // Written once the agent is done with it: its size stops changing.
      let last = -1;
      await waitFor(() => {
        const size = statSync(file).size;
        const done = size === last && size > 0;
        last = size;
        return done;
      }, { what: 'heap snapshot written', timeoutMs: 300_000, intervalMs: 2000 });
      out.push(`heap snapshot at ${n} tasks: ${file}`, '');
    }
    process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${n} measured\n`);
  }
} finally {
  await peer.cleanup();
  rmSync(probeDir, { recursive: true, force: true });
}
console.log(out.join('\n'));
