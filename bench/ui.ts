/**
 * The web status page on 1,000 tasks (100 job files × 10 `sleep` tasks,
 * plain executor, a real `tend agent` on loopback TCP), in headless Chromium
 * (Debian's chromium, playwright-core), next to floors measured in the same
 * run:
 *
 *  - first load: a fresh browser context opening /ui/ until all 1,000 rows
 *    show, against a bare GET of /v1/jobs (the data) and the same browser
 *    loading a static page with a 1,000-row table of the same shape from a
 *    bare node:http server (what any page of that size costs);
 *  - the agent's CPU over a window with no page (floor) and with the page
 *    open (its event stream, the sampler it starts, its polls); the page's
 *    own CPU in the browser (CDP Performance metrics);
 *  - one sample of every task (`GET /v1/stats`, what the sampler does every
 *    10 s while a page is open) against a /proc walk per task (the plain
 *    executor before statsAll: timed on 100 tasks, times 10) and one walk
 *    for all in this process.
 *
 *   node --import tsx bench/ui.ts [TASKS] [WINDOW_SECONDS] [RUNS]
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';
import { createHarness } from '../test/e2e/agent/harness.js';
import { waitFor } from '../test/helpers/wait.js';
import { chromiumPath } from '../test/helpers/gates.js';
import { cpuTicks, fmt, summary } from './agent-common.js';
import { findManyTaskProcs, findTaskProcs, type ProcScope } from '../src/executor/plain-procs.js';
import { platform } from '../src/platform.js';
import type { JobView } from '../src/api/api.js';

const TASKS = Number(process.argv[2] ?? 1000);
const WINDOW_S = Number(process.argv[3] ?? 30);
const RUNS = Number(process.argv[4] ?? 5);
const PER_JOB = 10;
const TOKEN = randomBytes(18).toString('base64url');
const HZ = platform().clockTicks;

function jobFile(name: string): string {
  return `job "${name}" {
  group "g" {
    count = ${PER_JOB}
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "exec sleep 100000"]
      }
      kill_timeout = "1s"
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`;
}

/** A page of the same shape as the tasks table, rendered on the server: what a browser needs for 1,000 rows at least. */
function staticTable(jobs: JobView[]): string {
  const rows = jobs
    .map(
      (j) =>
        `<tbody><tr><th colspan="9">${j.id} ${j.status} ${j.file}</th></tr>${j.tasks
          .map((t) => `<tr data-task="${t.id}"><td><a href="#">${t.id}</a></td><td>${t.state}</td><td>${t.pid ?? ''}</td><td>1m</td><td>${t.restarts}</td><td>0%</td><td>1.6 MiB</td><td>–</td><td>–</td></tr>`)
          .join('')}</tbody>`,
    )
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>floor</title></head><body><table><thead><tr><th>Task</th><th>State</th><th>PID</th><th>Uptime</th><th>Restarts</th><th>CPU</th><th>Memory</th><th>Health</th><th>Ports</th></tr></thead>${rows}</table></body></html>`;
}

async function timeRuns(runs: number, fn: () => Promise<unknown>): Promise<number[]> {
  await fn(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function cpuOver(pid: number, seconds: number): Promise<{ pct: number; ticks: number }> {
  const t0 = cpuTicks(pid);
  const w0 = performance.now();
  await sleep(seconds * 1000);
  const ticks = cpuTicks(pid) - t0;
  return { ticks, pct: (ticks / HZ / ((performance.now() - w0) / 1000)) * 100 };
}

const exe = chromiumPath();
if (!exe) throw new Error('bench/ui.ts needs chromium (apt-get install chromium, or TEND_CHROMIUM)');
const h = await createHarness({ tcp: { address: '127.0.0.1:0', token: TOKEN } });
const staticServer = http.createServer();
const browser = await chromium.launch({ executablePath: exe, headless: true, args: platform().isRoot ? ['--no-sandbox'] : [] });
try {
  await h.start(['-log-level', 'info']);
  await waitFor(() => h.tcpUrl() !== undefined, { what: 'the agent on TCP', timeoutMs: 20_000 });
  const base = h.tcpUrl()!;
  const auth = { authorization: `Bearer ${TOKEN}` };
  const getJobs = async () => (await (await fetch(`${base}/v1/jobs`, { headers: auth })).json()) as JobView[];

  const c0 = performance.now();
  for (let j = 0; j < TASKS / PER_JOB; j++) await h.writeJob(`job-${String(j).padStart(3, '0')}.hcl`, jobFile(`job-${String(j).padStart(3, '0')}`));
  await waitFor(() => Object.values(h.records()).filter((r) => r.state === 'running' && r.handle).length === TASKS, { what: `${TASKS} running`, timeoutMs: 900_000, intervalMs: 500 });
  const convergeMs = performance.now() - c0;
  // Until every rollout is done judging its allocations (min_healthy_time): nothing of it runs after.
  await waitFor(async () => (await getJobs()).every((j) => !j.deployment || j.deployment.status !== 'running'), { what: 'rollouts settled', timeoutMs: 300_000, intervalMs: 1000 });
  await sleep(2000);
  const agentPid = h.agent!.pid!;

  // Agent CPU with no page: the floor.
  const idle = await cpuOver(agentPid, WINDOW_S);

  // First load.
  const jobs = await getJobs();
  const jobsBytes = Buffer.byteLength(JSON.stringify(jobs));
  const fetchJobs = await timeRuns(RUNS * 2, getJobs);
  const html = staticTable(jobs);
  staticServer.on('request', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((r) => staticServer.listen(0, '127.0.0.1', r));
  const staticUrl = `http://127.0.0.1:${(staticServer.address() as { port: number }).port}/`;
  // A function, not a string: the page's CSP forbids eval (which is how a string predicate runs).
  const allRows = (p: import('playwright-core').Page) =>
    p.waitForFunction((n) => document.querySelectorAll('tr[data-task]').length === n, TASKS, { timeout: 60_000, polling: 'raf' });
  const floorLoad = await timeRuns(RUNS, async () => {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await p.goto(staticUrl);
    await allRows(p);
    await ctx.close();
  });
  const pageLoad = await timeRuns(RUNS, async () => {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await p.goto(`${base}/ui/#token=${TOKEN}`);
    await allRows(p);
    await ctx.close();
  });

  // Agent CPU with the page open (and the page's own CPU in the browser).
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${base}/ui/#token=${TOKEN}`);
  await allRows(page);
  await sleep(2000);
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Performance.enable');
  const taskSeconds = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration')?.value ?? NaN;
  const page0 = await taskSeconds();
  const open = await cpuOver(agentPid, WINDOW_S);
  const pagePct = ((await taskSeconds()) - page0) / WINDOW_S * 100;
  await ctx.close();

  // One sample of every task, as the sampler takes it; and a /proc walk per task against one for all.
  const statsMs = await timeRuns(RUNS, () => fetch(`${base}/v1/stats`, { headers: auth }).then((r) => r.json()));
  const scopes: ProcScope[] = Object.values(h.records())
    .filter((r) => r.handle)
    .map((r) => {
      const d = r.handle!.data as { wrapperPid: number; pgid?: number; wrapperStartTime?: number };
      return { id: r.handle!.id, pgid: d.pgid ?? d.wrapperPid, wrapperPid: d.wrapperPid, wrapperStartTime: d.wrapperStartTime ?? -1 };
    });
  const w0 = performance.now();
  for (const s of scopes.slice(0, 100)) findTaskProcs(s);
  const perTaskMs = ((performance.now() - w0) * scopes.length) / 100;
  const oneWalk = await timeRuns(RUNS, async () => findManyTaskProcs(scopes));

  const row = (what: string, xs: number[], note = '') => {
    const s = summary(xs);
    return `| ${what} | ${fmt(s.median)} | ${fmt(s.p99)} | ${fmt(s.max)} | ${note} |`;
  };
  console.log(`web page, ${TASKS} tasks (${TASKS / PER_JOB} files × ${PER_JOB}), converged in ${fmt(convergeMs / 1000)} s; ${RUNS} runs each\n`);
  console.log('| what | median ms | p99 ms | max ms | note |\n|---|---:|---:|---:|---|');
  console.log(row(`floor: GET /v1/jobs (${TASKS} tasks)`, fetchJobs, `${(jobsBytes / 1024).toFixed(0)} KiB of JSON`));
  console.log(row(`floor: a static page with the same ${TASKS}-row table, to all rows shown`, floorLoad, `${(html.length / 1024).toFixed(0)} KiB of HTML, bare node:http`));
  console.log(row(`tend: first load of /ui/ to all ${TASKS} rows shown`, pageLoad, 'fresh browser context each run'));
  console.log(row(`one sample of ${TASKS} tasks: GET /v1/stats (statsAll)`, statsMs, 'what the sampler does every 10 s'));
  console.log(row(`  of it: one /proc walk for all ${TASKS} (findManyTaskProcs, in this process)`, oneWalk));
  console.log(`| before statsAll: a /proc walk per task, ${TASKS} tasks | ${fmt(perTaskMs)} | | | timed on 100, × ${scopes.length / 100} |`);
  console.log('\n| what | % of a core | note |\n|---|---:|---|');
  console.log(`| floor: agent CPU, ${TASKS} tasks, no page | ${idle.pct.toFixed(2)} | ${idle.ticks} ticks over ${WINDOW_S} s |`);
  console.log(`| agent CPU, ${TASKS} tasks, the page open | ${open.pct.toFixed(2)} | ${open.ticks} ticks over ${WINDOW_S} s |`);
  console.log(`| added by the page | ${(open.pct - idle.pct).toFixed(2)} | |`);
  console.log(`| the page itself in Chromium (CDP TaskDuration) | ${pagePct.toFixed(2)} | renderer main thread |`);
} finally {
  await browser.close().catch(() => {});
  await new Promise<void>((r) => staticServer.close(() => r()));
  await h.cleanup();
}
