/**
 * Converge 1,000 tasks from an empty start (one job file, count = 1000,
 * plain executor), next to a bare fork/exec loop of the same 1,000 processes
 * in the same run; then the agent's CPU while idle with 1,000 tasks
 * (/proc/<pid>/stat over 30 s) and its RSS.
 *
 *   node --import tsx bench/agent-converge.ts [N] [IDLE_SECONDS]
 */
import { createHarness, job } from '../test/e2e/agent/harness.js';
import { waitFor } from '../test/helpers/wait.js';
import { bareSpawn, cpuTicks, fmt, killAll, rssBytes } from './agent-common.js';

const N = Number(process.argv[2] ?? 1000);
const IDLE_S = Number(process.argv[3] ?? 30);

// Floor: the same processes, spawned by a bare loop, 8 at a time (the agent's default concurrency).
const t0 = performance.now();
const pids: number[] = [];
for (let i = 0; i < N; i += 8) pids.push(...(await Promise.all(Array.from({ length: Math.min(8, N - i) }, () => bareSpawn()))));
const floorMs = performance.now() - t0;
killAll(pids);

const h = await createHarness();
try {
  await h.start(['-log-level', 'warn']);
  const agentPid = h.agent!.pid!;
  const rssEmpty = rssBytes(agentPid);
  const c0 = performance.now();
  await h.writeJob('many.hcl', job('many', { count: N }));
  await waitFor(() => Object.values(h.records()).filter((r) => r.state === 'running' && r.handle).length === N, {
    what: `${N} running`,
    timeoutMs: 600_000,
    intervalMs: 25,
  });
  const convergeMs = performance.now() - c0;
  // Idle: let the tail of the converge settle, then sample.
  await new Promise((r) => setTimeout(r, 2000));
  const ticks0 = cpuTicks(agentPid);
  const w0 = performance.now();
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  const ticks = cpuTicks(agentPid) - ticks0;
  const wallS = (performance.now() - w0) / 1000;
  const idlePct = (ticks / 100 / wallS) * 100;
  const rss = rssBytes(agentPid);
  console.log(`| what | value | note |\n|---|---:|---|`);
  console.log(`| floor: bare fork/exec of ${N} \`sh -c 'exec sleep 1000'\`, 8 at a time | ${fmt(floorMs)} ms | ${(floorMs / N).toFixed(2)} ms/task |`);
  console.log(`| tend: converge ${N} tasks from empty (file → all running in the store) | ${fmt(convergeMs)} ms | ${(convergeMs / N).toFixed(2)} ms/task |`);
  console.log(`| tend agent CPU while idle with ${N} tasks | ${idlePct.toFixed(2)} % of a core | ${ticks} ticks over ${wallS.toFixed(0)} s |`);
  console.log(`| tend agent RSS, no tasks | ${fmt(rssEmpty / 1048576)} MiB | |`);
  console.log(`| tend agent RSS with ${N} tasks | ${fmt(rss / 1048576)} MiB | ${fmt((rss - rssEmpty) / N / 1024)} KiB/task over empty |`);
} finally {
  await h.cleanup();
}
