/**
 * tend against the process managers people would pick instead (supervisord
 * from Debian, PM2 from npm) and the bare floors (a bash loop, runc, conmon +
 * runc), on one workload: N tasks `/bin/sleep <marker>` (issue 14). Each
 * system runs alone, in turn, in an order that rotates every round so that
 * drifts of the machine's load fall on all alike; every figure is observed
 * the same way for all, from /proc (the marked sleeps alive, peers-proc.ts),
 * never from a system's own status.
 *
 * Per system and N: converge from empty (all N wanted at once → N sleeps
 * alive); after a settle, the manager's footprint (RSS, PSS) and CPU over an
 * idle window; one new task → its sleep alive (one at a time, paced); crash
 * → restarted (SIGKILL of a task's sleep → a new sleep of that task alive;
 * restart delay 0); remove all → none alive. One markdown table per N.
 *
 *   node --import tsx bench/peers.ts [--n 200,1000] [--only tend-plain,supervisord,…] [--rounds K]
 *     [--samples 20] [--crashes 20] [--idle 30] [--settle 15] [--remove-timeout 900]
 *     [--pm2-prefix DIR] [--out FILE.md]
 *
 * Systems: bash, runc, conmon, tend-plain, tend-oci-raw, tend-oci-exec, supervisord, pm2.
 * Needs root, runc, conmon, supervisord (`apt-get install supervisor`; the
 * system service is never used) and npm (PM2 is installed into a temp dir).
 * Everything it starts is removed at the end, after a failure and on Ctrl-C.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { platform } from '../src/platform.js';
import { waitFor, type WaitOptions } from '../test/helpers/wait.js';
import { fmt, killAll, pct } from './agent-common.js';
import { BashFloor, RuncFloor } from './peers-floors.js';
import type { Peer } from './peers-peer.js';
import { installPm2, Pm2Peer } from './peers-pm2.js';
import { footprint, markerOf, SleepWatch, ticksBetween, ticksOf, type PartFootprint } from './peers-proc.js';
import { SupervisordPeer } from './peers-supervisord.js';
import { TendPeer } from './peers-tend.js';

const { values: opt } = parseArgs({
  options: {
    n: { type: 'string', default: '200,1000' },
    only: { type: 'string' },
    rounds: { type: 'string', default: '1' },
    samples: { type: 'string', default: '20' },
    crashes: { type: 'string', default: '20' },
    idle: { type: 'string', default: '30' },
    settle: { type: 'string', default: '15' },
    'remove-timeout': { type: 'string', default: '900' },
    'pm2-prefix': { type: 'string' },
    out: { type: 'string' },
    'sys-offset': { type: 'string', default: '0' },
  },
});
const NS = opt.n!.split(',').map(Number);
const ROUNDS = Number(opt.rounds);
const SAMPLES = Number(opt.samples);
const CRASHES = Number(opt.crashes);
const IDLE_S = Number(opt.idle);
const SETTLE_S = Number(opt.settle);
const REMOVE_TIMEOUT_S = Number(opt['remove-timeout']);
/** Added to every system's marker digit (markerOf): 10 keeps this run's sleeps apart from another run's on the same machine. */
const SYS_OFFSET = Number(opt['sys-offset']);
/** Pause after each one-task sample, so that the next lands on an idle manager. */
const PACE_MS = 300;
const CLK_TCK = 100;

interface System {
  id: string;
  name: string;
  sys: number;
  make(base: string): Peer;
}

let pm2Prefix = '';
const SYSTEMS: System[] = [
  { id: 'bash', name: 'bare bash loop', sys: 1 + SYS_OFFSET, make: () => new BashFloor(1 + SYS_OFFSET) },
  { id: 'runc', name: 'bare runc', sys: 2 + SYS_OFFSET, make: (b) => new RuncFloor(2 + SYS_OFFSET, b, false) },
  { id: 'conmon', name: 'bare conmon + runc', sys: 3 + SYS_OFFSET, make: (b) => new RuncFloor(3 + SYS_OFFSET, b, true) },
  { id: 'tend-plain', name: 'tend plain', sys: 4 + SYS_OFFSET, make: () => new TendPeer('tend plain', 4 + SYS_OFFSET, 'plain', 'raw_exec') },
  { id: 'tend-oci-raw', name: 'tend oci raw_exec', sys: 5 + SYS_OFFSET, make: () => new TendPeer('tend oci raw_exec', 5 + SYS_OFFSET, 'oci', 'raw_exec') },
  { id: 'tend-oci-exec', name: 'tend oci exec', sys: 6 + SYS_OFFSET, make: () => new TendPeer('tend oci exec', 6 + SYS_OFFSET, 'oci', 'exec') },
  { id: 'supervisord', name: 'supervisord', sys: 7 + SYS_OFFSET, make: (b) => new SupervisordPeer(7 + SYS_OFFSET, b) },
  { id: 'pm2', name: 'PM2', sys: 8 + SYS_OFFSET, make: (b) => new Pm2Peer(8 + SYS_OFFSET, b, pm2Prefix) },
];
const only = opt.only?.split(',');
for (const id of only ?? []) if (!SYSTEMS.some((s) => s.id === id)) throw new Error(`--only: expected some of ${SYSTEMS.map((s) => s.id).join(', ')}, got ${id}`);
const selected = SYSTEMS.filter((s) => !only || only.includes(s.id));
const has = (id: string) => selected.some((s) => s.id === id);

const p = platform();
const missing = [
  !p.isRoot && 'root',
  selected.some((s) => ['runc', 'conmon', 'tend-oci-raw', 'tend-oci-exec'].includes(s.id)) && !p.which('runc') && 'runc',
  selected.some((s) => ['conmon', 'tend-oci-raw', 'tend-oci-exec'].includes(s.id)) && !p.which('conmon') && 'conmon',
  has('supervisord') && !p.which('supervisord') && 'supervisord (apt-get install supervisor)',
  has('pm2') && !p.which('npm') && 'npm',
].filter(Boolean);
if (missing.length) {
  console.error(`peers: needs ${missing.join(', ')}`);
  process.exit(1);
}

/** One system's figures in one round. */
interface Sample {
  convergeMs?: number;
  newMs: number[];
  crashMs: number[];
  removeMs?: number;
  /** Tasks still alive when the remove timed out. */
  removeLeft?: number;
  idlePct?: number;
  footprint?: Map<string, PartFootprint>;
  notes: string[];
}

const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

/** Run `action` and time it until `done()` holds (polled); the action's failure fails the wait. */
async function timeUntil(action: () => Promise<unknown>, done: () => boolean, o: WaitOptions): Promise<number> {
  let failed: { err: unknown } | undefined;
  const t0 = performance.now();
  const acting = action().catch((err: unknown) => {
    failed = { err };
  });
  let ms = NaN;
  await waitFor(() => {
    if (failed) throw failed.err;
    if (!done()) return false;
    ms = performance.now() - t0;
    return true;
  }, o);
  await acting;
  if (failed) throw failed.err;
  return ms;
}

let current: { peer: Peer; watch: SleepWatch } | undefined;

/** Stop a system and kill whatever marked sleep of it is left; what was left. */
async function finish(peer: Peer, watch: SleepWatch): Promise<string[]> {
  const left = await peer.cleanup().catch((err: unknown) => [`cleanup failed: ${(err as Error).message}`]);
  watch.scan();
  watch.dropZombies(peer.sys);
  const sleeps = [...watch.of(peer.sys).values()].flat();
  if (killAll(sleeps).length) left.push(`${sleeps.length} task sleep(s), killed by the bench`);
  return left;
}

async function measure(sys: System, N: number, base: string): Promise<Sample> {
  if (cleaning) throw new Error('interrupted');
  const peer = sys.make(base);
  const watch = new SleepWatch();
  const s: Sample = { newMs: [], crashMs: [], notes: [] };
  current = { peer, watch };
  const tag = `N=${N} ${peer.name}`;
  try {
    if (watch.count(peer.sys)) throw new Error(`${watch.count(peer.sys)} sleeps of ${peer.name} alive before its start`);
    await peer.start();
    if (peer.bulk) {
      const all = range(0, N);
      await peer.prepare?.(all);
      s.convergeMs = await timeUntil(() => peer.add(all), () => (watch.scanNew(), watch.count(peer.sys) >= N), {
        what: `${N} tasks of ${peer.name} running`,
        timeoutMs: 1_800_000,
        intervalMs: 20,
      });
      log(`${tag}: converge ${fmt(s.convergeMs / 1000)} s, load ${load()}`);
    }
    if (peer.manager) {
      await sleep(SETTLE_S * 1000);
      const pids = [...peer.parts!().values()].flat();
      const t0 = ticksOf(pids);
      const w0 = performance.now();
      await sleep(IDLE_S * 1000);
      const ticks = ticksBetween(t0, ticksOf(pids));
      s.idlePct = (ticks / CLK_TCK / ((performance.now() - w0) / 1000)) * 100;
      s.footprint = footprint(peer.parts!());
      log(`${tag}: idle ${s.idlePct.toFixed(2)} % over ${IDLE_S} s; ${[...s.footprint].map(([k, f]) => `${k} ${f.procs}p ${fmt(f.rssKiB / 1024)} MiB RSS ${fmt(f.pssKiB / 1024)} MiB PSS`).join(', ')}`);
    }
    for (let k = 0; k < SAMPLES; k++) {
      const i = (peer.bulk ? N : 0) + k;
      await peer.prepare?.([i]);
      watch.scanNew();
      s.newMs.push(
        await timeUntil(() => peer.add([i]), () => (watch.scanNew(), watch.pids(markerOf(peer.sys, i)).length > 0), {
          what: `task ${i} of ${peer.name} running`,
          timeoutMs: 120_000,
          intervalMs: 2,
        }),
      );
      await sleep(PACE_MS);
    }
    log(`${tag}: one new → running p50 ${fmt(pct([...s.newMs].sort((a, b) => a - b), 50))} ms`);
    if (peer.manager) {
      for (let c = 0; c < CRASHES; c++) {
        const m = markerOf(peer.sys, c % N);
        watch.scanNew();
        const [old] = watch.pids(m);
        if (!old) throw new Error(`no running sleep of task ${c % N} of ${peer.name} to crash`);
        const t0 = performance.now();
        process.kill(old, 'SIGKILL');
        await waitFor(() => (watch.scanNew(), watch.pids(m).some((pid) => pid !== old)), { what: `task ${c % N} of ${peer.name} restarted`, timeoutMs: 120_000, intervalMs: 2 });
        s.crashMs.push(performance.now() - t0);
        await sleep(PACE_MS);
      }
      log(`${tag}: crash → restarted p50 ${fmt(pct([...s.crashMs].sort((a, b) => a - b), 50))} ms`);
    }
    watch.scan();
    if (peer.bulk) {
      let zombiesAt = performance.now();
      try {
        s.removeMs = await timeUntil(
          () => peer.removeAll(),
          () => {
            watch.scan();
            if (performance.now() - zombiesAt > 250) {
              watch.dropZombies(peer.sys);
              zombiesAt = performance.now();
            }
            return watch.count(peer.sys) === 0;
          },
          { what: `no task of ${peer.name} running`, timeoutMs: REMOVE_TIMEOUT_S * 1000, intervalMs: 50 },
        );
        log(`${tag}: remove all ${fmt(s.removeMs / 1000)} s, load ${load()}`);
      } catch (err) {
        if (!/timed out/.test((err as Error).message)) throw err;
        s.removeLeft = watch.count(peer.sys);
        log(`${tag}: remove all: ${s.removeLeft} of ${N + SAMPLES} left after ${REMOVE_TIMEOUT_S} s`);
      }
    } else {
      await peer.removeAll();
    }
    s.notes.push(peer.describe());
  } finally {
    const left = await finish(peer, watch);
    current = undefined;
    if (left.length && s.removeLeft === undefined) s.notes.push(`LEFT BEHIND by ${peer.name}: ${left.join('; ')}`);
  }
  return s;
}

/** The bare HCL parse of the N job files (tend's parser, in this process): part of the floor of tend's converge. */
async function parseFloorMs(N: number): Promise<number> {
  const { parse } = await import('@cdktn/hcl2json');
  const tend = new TendPeer('parse', 4, 'plain', 'raw_exec');
  const texts = range(0, N).map((i) => tend.job(i));
  // Warm: the first parses in a process run the wasm cold (~15 ms a file against ~1 ms).
  for (let i = 0; i < Math.min(N, 100); i++) await parse(`warm${i}.hcl`, texts[i]);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await parse(`p${i}.hcl`, texts[i]);
  return performance.now() - t0;
}

// ---- report ----

const median = (xs: number[]) => pct([...xs].sort((a, b) => a - b), 50);
/** One figure per round: the median and, over several rounds, the range. */
function figure(xs: (number | undefined)[], scale: number, digits: number): string {
  const v = xs.filter((x): x is number => x !== undefined && Number.isFinite(x)).map((x) => x / scale);
  if (!v.length) return '–';
  const f = (x: number) => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return v.length === 1 ? f(v[0]) : `${f(median(v))} (${f(Math.min(...v))}–${f(Math.max(...v))})`;
}
const pooled = (ss: Sample[], key: 'newMs' | 'crashMs', q: number) => {
  const all = ss.flatMap((s) => s[key]).sort((a, b) => a - b);
  return all.length ? pct(all, q) : undefined;
};
const PER_TASK = new Set(['wrappers', 'conmon']);
const partSum = (s: Sample, pick: (name: string) => boolean, key: 'rssKiB' | 'pssKiB') =>
  s.footprint ? [...s.footprint].filter(([n]) => pick(n)).reduce((a, [, f]) => a + f[key], 0) : undefined;

function table(N: number, results: Map<string, Sample[]>, load0: string, load1: string, parseMs: number[]): { text: string; targets: string[] } {
  const cols = selected.filter((s) => results.has(s.id));
  const get = (id: string) => results.get(id)!;
  const rows: [string, (ss: Sample[], id: string) => string][] = [
    ['converge from empty, s', (ss) => figure(ss.map((s) => s.convergeMs), 1000, 2)],
    ['one new task → running, p50 ms', (ss) => figure([pooled(ss, 'newMs', 50)], 1, 1)],
    ['one new task → running, p99 ms', (ss) => figure([pooled(ss, 'newMs', 99)], 1, 1)],
    ['crash → restarted (delay 0), p50 ms', (ss) => figure([pooled(ss, 'crashMs', 50)], 1, 1)],
    [
      `remove all (N + ${SAMPLES}) → none left, s`,
      (ss) => (ss.some((s) => s.removeLeft !== undefined) ? `> ${REMOVE_TIMEOUT_S} (${ss.find((s) => s.removeLeft !== undefined)!.removeLeft} left)` : figure(ss.map((s) => s.removeMs), 1000, 2)),
    ],
    ['manager RSS with N running, MiB (main processes)', (ss) => figure(ss.map((s) => partSum(s, (n) => !PER_TASK.has(n), 'rssKiB')), 1024, 1)],
    ['&nbsp;&nbsp;of which tend agent RSS, MiB', (ss, id) => (id.startsWith('tend') ? figure(ss.map((s) => partSum(s, (n) => n === 'agent', 'rssKiB')), 1024, 1) : '–')],
    ['&nbsp;&nbsp;of which tend log monitor RSS, MiB', (ss, id) => (id.startsWith('tend') ? figure(ss.map((s) => partSum(s, (n) => n === 'log monitor', 'rssKiB')), 1024, 1) : '–')],
    ['&nbsp;&nbsp;of which tend HCL parser RSS, MiB (0: released when idle)', (ss, id) => (id.startsWith('tend') ? figure(ss.map((s) => partSum(s, (n) => n === 'parser', 'rssKiB')), 1024, 1) : '–')],
    ['&nbsp;&nbsp;of which tend launcher RSS, MiB', (ss, id) => (id.startsWith('tend') ? figure(ss.map((s) => partSum(s, (n) => n === 'launcher', 'rssKiB')), 1024, 1) : '–')],
    ['tend agent PSS, MiB', (ss, id) => (id.startsWith('tend') ? figure(ss.map((s) => partSum(s, (n) => n === 'agent', 'pssKiB')), 1024, 1) : '–')],
    ['per-task helper (plain: wrapper sh; oci: conmon), PSS KiB per task', (ss, id) => (id.startsWith('tend') ? figure(ss.map((s) => partSum(s, (n) => PER_TASK.has(n), 'pssKiB')), N, 0) : '–')],
    ['manager PSS with N running, all its processes, MiB', (ss) => figure(ss.map((s) => partSum(s, () => true, 'pssKiB')), 1024, 1)],
    [`idle CPU over ${IDLE_S} s, % of a core`, (ss) => figure(ss.map((s) => s.idlePct), 1, 2)],
  ];
  const lines = [`| N=${N.toLocaleString('en-US')} | ${cols.map((c) => c.name).join(' | ')} |`, `|---|${cols.map(() => '---:|').join('')}`];
  for (const [label, f] of rows) lines.push(`| ${label} | ${cols.map((c) => f(get(c.id), c.id)).join(' | ')} |`);
  lines.push('', `Load average (1, 5, 15 min) ${load0} at the start, ${load1} at the end; ${ROUNDS} round(s); ${SAMPLES} one-task samples and ${CRASHES} crashes per system and round.`);
  if (parseMs.length) lines.push(`Parse floor: the bare HCL parse (\`@cdktn/hcl2json\`, in the bench process) of the ${N} job files: ${figure(parseMs, 1000, 2)} s.`);

  // The targets of issue 14, as ratios within this run.
  const t: string[] = [];
  const val = (id: string, f: (ss: Sample[]) => number | undefined) => (results.has(id) ? f(get(id)) : undefined);
  const conv = (id: string) => val(id, (ss) => median(ss.map((s) => s.convergeMs ?? NaN)));
  const rem = (id: string) => val(id, (ss) => (ss.some((s) => s.removeLeft !== undefined) ? Infinity : median(ss.map((s) => s.removeMs ?? NaN))));
  const p50 = (id: string) => val(id, (ss) => pooled(ss, 'newMs', 50));
  const p99 = (id: string) => val(id, (ss) => pooled(ss, 'newMs', 99));
  const crash = (id: string) => val(id, (ss) => pooled(ss, 'crashMs', 50));
  const part = (id: string, pick: (n: string) => boolean, key: 'rssKiB' | 'pssKiB') => val(id, (ss) => median(ss.map((s) => partSum(s, pick, key) ?? NaN)));
  const idle = (id: string) => val(id, (ss) => median(ss.map((s) => s.idlePct ?? NaN)));
  /** One target: the value, its bound (and how the bound is made, when it is a ratio of another system's figure), met or not. */
  const target = (what: string, v: number | undefined, bound: number | undefined, unit: string, ratioOf?: string) => {
    if (v === undefined || bound === undefined || !Number.isFinite(bound) || Number.isNaN(v)) return;
    const verdict = v <= bound ? 'met' : `**not met** (${(v / bound).toFixed(2)}× the bound)`;
    t.push(`- ${what}: ${fmt(v)} ${unit}, target ≤ ${fmt(bound)} ${unit}${ratioOf ? ` (${ratioOf})` : ''}: ${verdict}`);
  };
  const tendIds = ['tend-plain', 'tend-oci-raw', 'tend-oci-exec'].filter((id) => results.has(id));
  const nameOf = (id: string) => SYSTEMS.find((s) => s.id === id)!.name;
  const floorCs = p50('conmon');
  for (const id of tendIds) {
    const oci = id !== 'tend-plain';
    target(`${nameOf(id)}, one new file → running p50`, p50(id), oci ? (floorCs === undefined ? undefined : 1.3 * floorCs) : 30, 'ms', oci ? '1.3 × bare conmon + runc p50' : undefined);
    target(`${nameOf(id)}, one new file → running p99`, p99(id), 100, 'ms');
  }
  const parse = parseMs.length ? median(parseMs) : undefined;
  const bash = conv('bash');
  target('tend plain, converge', conv('tend-plain'), bash === undefined || parse === undefined ? undefined : 2 * bash + parse, 'ms', '2 × bare bash loop + parse floor');
  target('tend plain, converge faster than PM2', conv('tend-plain'), conv('pm2'), 'ms', 'PM2');
  for (const id of tendIds.filter((i) => i !== 'tend-plain')) {
    const runc = conv('runc');
    target(`${nameOf(id)}, converge`, conv(id), runc === undefined ? undefined : 1.5 * runc, 'ms', '1.5 × bare runc loop');
  }
  const bashRm = rem('bash');
  target('tend plain, remove all', rem('tend-plain'), bashRm === undefined ? undefined : 2 * bashRm, 'ms', '2 × bare kill-and-wait');
  for (const id of tendIds.filter((i) => i !== 'tend-plain')) {
    const runcRm = rem('runc');
    target(`${nameOf(id)}, remove all`, rem(id), runcRm === undefined ? undefined : 1.5 * runcRm, 'ms', '1.5 × bare runc delete loop');
  }
  const pm2Crash = crash('pm2');
  for (const id of tendIds) target(`${nameOf(id)}, crash → restarted p50`, crash(id), pm2Crash === undefined ? undefined : 2 * pm2Crash, 'ms', '2 × PM2');
  for (const id of tendIds) {
    const agent = part(id, (n) => n === 'agent', 'rssKiB');
    target(`${nameOf(id)}, agent RSS`, agent === undefined ? undefined : agent / 1024, 100, 'MiB');
    const helper = part(id, (n) => PER_TASK.has(n), 'pssKiB');
    target(`${nameOf(id)}, per-task helper PSS`, helper === undefined ? undefined : helper / N, id === 'tend-plain' ? 512 : 1024, 'KiB');
    target(`${nameOf(id)}, idle CPU`, idle(id), 0.5, '% of a core');
  }
  return { text: lines.join('\n'), targets: t };
}

// ---- main ----

const base = mkdtempSync(path.join(os.tmpdir(), 'tend-peers-'));
let cleaning: Promise<void> | undefined;
/** Stop the system being measured, kill every marked sleep, remove the temp dir (once; later calls wait for it). */
function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    if (current) await finish(current.peer, current.watch);
    const watch = new SleepWatch();
    for (const s of SYSTEMS) killAll([...watch.of(s.sys).values()].flat());
    rmSync(base, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: cleaning up`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

const report: string[] = [];
try {
  if (has('pm2')) {
    pm2Prefix = opt['pm2-prefix'] ?? path.join(base, 'pm2-prefix');
    log(`installing PM2 into ${pm2Prefix}`);
    await installPm2(pm2Prefix);
  }
  if (selected.some((s) => s.id.startsWith('tend')) && !process.env.TEND_FROM_SOURCE) {
    // What users run (bin/tend.js runs the bundle when it is fresh).
    execFileSync(process.execPath, [fileURLToPath(new URL('../scripts/build.mjs', import.meta.url))], { env: { ...process.env, TEND_BUILD_QUIET: '1' }, stdio: 'inherit' });
  }
  const cpu = os.cpus();
  report.push(
    `peers: ${new Date().toISOString().slice(0, 10)}, ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, ${os.release()}, ${p.cgroups.mode} cgroups\n`,
  );
  const notes = new Set<string>();
  for (const N of NS) {
    const results = new Map<string, Sample[]>();
    const parseMs: number[] = [];
    const load0 = load();
    for (let r = 0; r < ROUNDS; r++) {
      const order = selected.map((_, i) => selected[(i + r) % selected.length]);
      if (selected.some((s) => s.id === 'tend-plain')) parseMs.push(await parseFloorMs(N));
      for (const sys of order) {
        log(`N=${N} round ${r + 1}/${ROUNDS}: ${sys.id}`);
        const s = await measure(sys, N, base);
        results.set(sys.id, [...(results.get(sys.id) ?? []), s]);
        for (const n of s.notes) notes.add(n);
      }
    }
    const { text, targets } = table(N, results, load0, load(), parseMs);
    const part = [text, '', `Targets of issue 14 at N=${N.toLocaleString('en-US')}:`, '', ...targets, ''];
    report.push(...part);
    console.log(part.join('\n'));
  }
  const how = [
    'How each system was run:',
    '',
    ...[...notes].map((n) => `- ${n}`),
    '',
    `Observed from /proc for all: a task runs when a \`sleep\` with its marker is alive (polled every 20 ms for converge, 2 ms for one task and a crash, 50 ms for remove); a manager's processes are its main process and its descendants (tend: also every process naming its data dir), never the task sleeps; RSS and PSS (smaps_rollup) after a settle of ${SETTLE_S} s and the idle window; CPU is utime + stime of those processes over the window.`,
  ];
  report.push(...how);
  console.log(how.join('\n'));
  if (opt.out) writeFileSync(opt.out, `${report.join('\n')}\n`);
} finally {
  await cleanupAll();
}
