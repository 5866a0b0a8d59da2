/**
 * What health checks cost the agent: N services (default 1,000), one check each at a 10 s
 * interval, run by the real runner (src/services/: scheduler, check kinds, counters, catalog,
 * Prometheus metrics), against servers in a child process (so their work is not counted). The
 * agent's CPU (process.cpuUsage, user + system) over a steady-state window, as a share of one core.
 *
 * Floors in the same run: this process idle over the same window (node and the tsx loader);
 * the same number of bare TCP connects / HTTP GETs (node's net / http, no keep-alive) from a
 * tight loop (one at a time), their CPU scaled to one round per interval; and the runner with checks that do
 * nothing (the scheduling and bookkeeping alone).
 *
 *   node --import tsx bench/service-checks.ts [N] [window seconds] [interval seconds]
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import pino from 'pino';
import { PromMetrics } from '../src/api/metrics.js';
import { createLocalServices } from '../src/services/index.js';
import type { CheckHost } from '../src/services/runner.js';
import type { CheckKind, CheckSpec, Registration } from '../src/services/services.js';

const N = Number(process.argv[2] ?? 1000);
const WINDOW_S = Number(process.argv[3] ?? 30);
const INTERVAL_S = Number(process.argv[4] ?? 10);

/** HTTP and TCP servers in a child: their CPU is theirs, not the agent's. */
const SERVER = `
const http = require('http'), net = require('net');
const h = http.createServer((q, r) => r.end('ok'));
const t = net.createServer((c) => c.destroy());
h.listen(0, '127.0.0.1', () => t.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ http: h.address().port, tcp: t.address().port }))));
`;

async function servers(): Promise<{ http: number; tcp: number; stop(): void }> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ports = await new Promise<{ http: number; tcp: number }>((resolve) => child.stdout!.once('data', (b: Buffer) => resolve(JSON.parse(b.toString()))));
  return { ...ports, stop: () => child.kill('SIGKILL') };
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** CPU ms of `n` operations run `parallel` at a time. */
async function loop(n: number, parallel: number, op: () => Promise<void>): Promise<number> {
  const c0 = cpuMs();
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < n) {
      next++;
      await op();
    }
  }));
  return cpuMs() - c0;
}

const tcpConnect = (port: number) => () =>
  new Promise<void>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve();
    });
    s.once('error', () => resolve());
  });

const httpGet = (port: number) => () =>
  new Promise<void>((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => {
      res.resume();
      res.once('end', resolve);
    });
    req.once('error', () => resolve());
  });

function registrations(kind: CheckKind | 'noop', ports: { http: number; tcp: number }): Registration[] {
  const out: Registration[] = [];
  for (let i = 0; i < N; i++) {
    const id = `_tend-alloc${i}-group-svc${i}-http`;
    const type: CheckKind = kind === 'noop' ? 'tcp' : kind;
    const port = type === 'http' ? ports.http : ports.tcp;
    const check: CheckSpec = {
      id: `${id}#0`,
      name: `svc${i}`,
      type,
      intervalMs: INTERVAL_S * 1000,
      timeoutMs: 2000,
      address: '127.0.0.1',
      port,
      ...(type === 'http' ? { http: { url: `http://127.0.0.1:${port}/health`, method: 'GET', headers: {}, tlsSkipVerify: false } } : {}),
      successBeforePassing: 0,
      failuresBeforeCritical: 0,
      onUpdate: 'require_healthy',
    };
    out.push({ id, name: `svc${i}`, namespace: 'default', job: `job${i}`, group: 'g', index: 0, allocId: `alloc${i}`, tags: [], meta: {}, address: '127.0.0.1', port, checks: [check], file: '/jobs/bench.hcl' });
  }
  return out;
}

const host: CheckHost = { exec: () => undefined, restart: () => {}, emit: () => {}, startedAt: () => undefined };

/** The runner with N checks of `kind`; CPU share of one core over the window, after one full round of warm-up. */
async function measure(kind: CheckKind | 'noop', ports: { http: number; tcp: number }): Promise<{ pct: number; runs: number; passing: number }> {
  let runs = 0;
  const noop = async () => ({ status: 'passing' as const, output: 'ok' });
  const metrics = new PromMetrics({ defaultMetrics: false });
  const live = createLocalServices({
    logger: pino({ level: 'silent' }),
    metrics: { checkRun: (t, s, ms) => (runs++, metrics.checkRun(t, s, ms)), checkStates: (c, n) => metrics.checkStates(c, n), checkRestart: () => metrics.checkRestart() },
    ...(kind === 'noop' ? { kinds: { tcp: noop } } : {}),
  });
  registrations(kind, ports).forEach((r, i) => live.runner.set(`group:alloc${i}`, [r], host));
  // Warm-up: every check's first run (within 5 s) and one more round.
  await new Promise((r) => setTimeout(r, Math.min(INTERVAL_S, 5) * 1000 + INTERVAL_S * 1000));
  const c0 = cpuMs();
  const t0 = performance.now();
  const r0 = runs;
  await new Promise((r) => setTimeout(r, WINDOW_S * 1000));
  const pct = ((cpuMs() - c0) / (performance.now() - t0)) * 100;
  const passing = live.catalog.stateCounts().passing;
  const done = runs - r0;
  live.close();
  return { pct, runs: done, passing };
}

async function main(): Promise<void> {
  const ports = await servers();
  try {
    console.log(`${N} services, one check each every ${INTERVAL_S}s; window ${WINDOW_S}s; node ${process.version}\n`);
    const c0 = cpuMs();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, WINDOW_S * 1000));
    console.log(`floor: this process idle: ${(((cpuMs() - c0) / (performance.now() - t0)) * 100).toFixed(2)} % of a core`);
    // Floor: N connects / GETs in a tight loop (one at a time), scaled to one round per interval.
    for (const [what, op] of [['bare TCP connects', tcpConnect(ports.tcp)], ['bare HTTP GETs (no keep-alive)', httpGet(ports.http)]] as const) {
      await loop(200, 1, op); // warm-up
      const ms = await loop(N, 1, op);
      console.log(`floor: ${N} ${what}: ${ms.toFixed(0)} ms CPU = ${((ms / (INTERVAL_S * 1000)) * 100).toFixed(2)} % of a core at one round per ${INTERVAL_S}s (${((ms / N) * 1000).toFixed(0)} µs each)`);
    }
    for (const kind of ['noop', 'tcp', 'http'] as const) {
      const m = await measure(kind, ports);
      console.log(`runner: ${N} ${kind === 'noop' ? 'checks doing nothing (scheduler, counters, catalog, metrics)' : `${kind} checks`}: ${m.pct.toFixed(2)} % of a core (${m.runs} runs in ${WINDOW_S}s, ${m.passing} passing)`);
    }
  } finally {
    ports.stop();
  }
}

void main();
