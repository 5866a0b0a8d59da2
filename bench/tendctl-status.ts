/**
 * `tendctl status` with 1,000 tasks, end to end (process spawn included) and
 * server side, next to the floors measured in the same run:
 *
 *  - spawn floor: `node -e 0`, and `tendctl -version` (node + tsx + the CLI, no request);
 *  - HTTP floor: a bare node:http GET over a unix socket of a static JSON body
 *    the size of the 1,000-task jobs view;
 *  - server: the three requests `tendctl status` makes (/v1/jobs, /v1/files,
 *    /v1/stats) against the real API server backed by an in-memory fake agent;
 *  - end to end: `bin/tendctl.js status` (text, piped) and `status -json`.
 *
 *   node --import tsx bench/tendctl-status.ts [-runs 15]
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { startApiServer } from '../src/api/server.js';
import { PromMetrics } from '../src/api/metrics.js';
import { createClient } from '../src/api/client.js';
import type { JobView } from '../src/api/api.js';
import { FakeAgent, makeTask } from '../test/e2e/api/fake-agent.js';

const BIN = fileURLToPath(new URL('../bin/tendctl.js', import.meta.url));
const runsFlag = process.argv.indexOf('-runs');
const RUNS = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 15;
const TASKS = 1000;

function agentWith1000(): FakeAgent {
  const jobs: JobView[] = [];
  const agent = new FakeAgent();
  for (let j = 0; j < TASKS / 10; j++) {
    const id = `job-${String(j).padStart(3, '0')}`;
    const tasks = Array.from({ length: 10 }, (_, i) => makeTask(id, 'g', i, 'server', { pid: 10_000 + j * 10 + i }));
    for (const t of tasks) agent.statsById[t.id] = { at: Date.now(), pids: 1, cpuPercent: 1.5, memoryBytes: 30 * 1024 ** 2, memoryLimitBytes: 300 * 1024 ** 2 };
    jobs.push({ id, file: `/jobs/${id}.hcl`, type: 'service', status: 'running', tasks });
  }
  agent.jobList = jobs;
  return agent;
}

function stats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p90: q(0.9), max: s[s.length - 1] };
}

async function time(runs: number, fn: () => Promise<unknown>): Promise<number[]> {
  await fn(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

function run(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let bytes = 0;
    child.stdout.on('data', (d: Buffer) => (bytes += d.length));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(bytes) : reject(new Error(`${argv.join(' ')} exited ${code}`))));
  });
}

function getOverSocket(socketPath: string, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath, path: urlPath, agent: false }, (res) => {
        let n = 0;
        res.on('data', (d: Buffer) => (n += d.length));
        res.on('end', () => resolve(n));
      })
      .on('error', reject);
  });
}

const dir = await mkdtemp(path.join(tmpdir(), 'tend-bench-'));
const agent = agentWith1000();
const socket = path.join(dir, 'tend.sock');
const server = await startApiServer(agent, { socket, logger: pino({ level: 'silent' }), metrics: new PromMetrics({ defaultMetrics: false }) });
const staticBody = JSON.stringify(agent.jobs());
const staticSock = path.join(dir, 'static.sock');
const staticServer = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(staticBody) });
  res.end(staticBody);
});
await new Promise<void>((r) => staticServer.listen(staticSock, r));
const env = { TEND_ADDR: `unix://${socket}`, NO_COLOR: '1' };

try {
  const client = createClient({ address: `unix://${socket}` });
  const rows: [string, number[], string][] = [];
  rows.push(['floor: spawn `node -e 0`', await time(RUNS, () => run([process.execPath, '-e', '0'], {})), '']);
  rows.push(['floor: spawn `tendctl -version` (node + bin launcher + CLI: the bundle when fresh)', await time(RUNS, () => run([process.execPath, BIN, '-version'], {})), '']);
  rows.push([`floor: bare GET of static ${TASKS}-task JSON over a unix socket`, await time(RUNS * 4, () => getOverSocket(staticSock, '/')), `${(staticBody.length / 1024).toFixed(0)} KiB`]);
  rows.push([
    'server: /v1/jobs + /v1/files + /v1/stats (what status asks)',
    await time(RUNS * 4, () => Promise.all([client.jobs(), client.files(), client.stats()])),
    '',
  ]);
  let textBytes = 0;
  rows.push(['end to end: `tendctl status` (1,000 lines, piped)', await time(RUNS, async () => (textBytes = await run([process.execPath, BIN, 'status'], env))), '']);
  rows.push(['end to end: `tendctl status -json`', await time(RUNS, () => run([process.execPath, BIN, 'status', '-json'], env)), '']);
  client.close();

  const lines = [
    `tendctl status, ${TASKS} tasks (${RUNS} runs each, ms; text output ${(textBytes / 1024).toFixed(0)} KiB)`,
    '',
    '| what | median | p90 | max | note |',
    '|---|---:|---:|---:|---|',
    ...rows.map(([what, ms, note]) => {
      const s = stats(ms);
      return `| ${what} | ${s.median.toFixed(1)} | ${s.p90.toFixed(1)} | ${s.max.toFixed(1)} | ${note} |`;
    }),
  ];
  console.log(lines.join('\n'));
} finally {
  await server.close();
  await new Promise<void>((r) => staticServer.close(() => r()));
  await rm(dir, { recursive: true, force: true });
}
