/**
 * The plain executor's shared /proc sweeps (plain-sweeper.ts): on real
 * process trees, finds asked for together share one sweep and each gets what
 * findTaskProcs gets, and a marked descendant that leaves the group after the
 * table was built is still found, with its group empty or not; on a model of
 * the kernel's pid allocation, the table reads only the pids it cannot vouch
 * for, and through random forks, exits, setsid, setpgid and cleared
 * environments the sweeper answers as a fresh walk with the same rules does.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { findTaskProcs, MARKER, startTicks, type ProcScope, type StatFields, type TaskProcs } from '../../../src/executor/plain-procs.js';
import { handedOutBetween, LIST_EVERY_MS, MAX_AGE_MS, ProcSweeper, ProcTable, UNBORN_MS, type ProcSource } from '../../../src/executor/plain-sweeper.js';
import { readStat } from '../../../src/executor/proc.js';
import { requireLinux } from '../../helpers/gates.js';
import { platform } from '../../../src/platform.js';
import { waitFor } from '../../helpers/wait.js';

const started: ChildProcess[] = [];
const escaped = new Set<number>();

after(() => {
  for (const c of started) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const pid of escaped) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

/** A detached `sh -c SCRIPT` (its own session and process group), marked as task `id` unless id is undefined. */
function group(script: string, id: string | undefined, stdin: 'pipe' | 'ignore' = 'ignore'): ChildProcess {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  if (id) env[MARKER] = id;
  const c = spawn('/bin/sh', ['-c', script], { detached: true, stdio: [stdin, 'ignore', 'ignore'], env });
  started.push(c);
  return c;
}

function scope(id: string, c: ChildProcess, startTime = startTicks(c.pid!) ?? -1): ProcScope {
  return { id, pgid: c.pid!, wrapperPid: c.pid!, wrapperStartTime: startTime };
}

const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);
/** Task ids of this file's own (other test files running meanwhile mark their processes too). */
const id = (name: string) => `sweeper-${process.pid}-${name}`;
const same = (a: TaskProcs, b: TaskProcs) => a.wrapperAlive === b.wrapperAlive && sorted(a.pids).join() === sorted(b.pids).join();

test('ProcSweeper: finds asked for together share one sweep, and each gets what findTaskProcs finds', async (t) => {
  if (!requireLinux(t)) return;
  const setsid = platform().which('setsid');
  const a = group('sleep 30 & sleep 30 & wait', id('a'));
  const b = group(setsid ? `${setsid} sleep 30 & sleep 30 & wait` : 'sleep 30 & sleep 30 & wait', id('b'));
  // Not marked, and the scope's start time is not its wrapper's: a recycled pgid, never ours.
  const c = group('sleep 30 & wait', undefined);
  await waitFor(() => findTaskProcs(scope(id('a'), a)).pids.length === 2 && findTaskProcs(scope(id('b'), b)).pids.length === 2, { what: 'children of both tasks' });
  await waitFor(() => findTaskProcs(scope(id('c'), c)).pids.length === 1, { what: 'the child of the unmarked group' });
  const scopes = [scope(id('a'), a), scope(id('b'), b), scope(id('c'), c, 1), { id: id('gone'), pgid: 999_999_999, wrapperPid: 999_999_999, wrapperStartTime: 5 }];
  const sweeper = new ProcSweeper();
  // The processes do not change meanwhile: both answers hold for the same moment.
  const [many, ...each] = await Promise.all([sweeper.findMany(scopes), ...scopes.map((s) => sweeper.find(s))]);
  assert.equal(sweeper.counters.sweeps, 1, 'one sweep for every find asked for before it ran');
  assert.equal(sweeper.counters.finds, scopes.length + 1);
  scopes.forEach((s, i) => {
    const walk = findTaskProcs(s);
    assert.ok(same(each[i], walk), `${s.id}: ${JSON.stringify(each[i])} against a walk's ${JSON.stringify(walk)}`);
    assert.ok(same(many.get(s.id)!, walk), `${s.id} through findMany`);
  });
  assert.equal(each[1].pids.length, 2, 'the setsid child counts by its marker');
  assert.ok(!each[0].pids.includes(a.pid!), 'the wrapper is not a task process');
  assert.deepEqual(each[2].pids, []);
  assert.deepEqual(each[3], { pids: [], wrapperAlive: false });
  // A find after the sweep ran waits for the next one.
  await sweeper.find(scopes[0]);
  assert.equal(sweeper.counters.sweeps, 2);
});

test('ProcSweeper: a marked descendant that left the group after the table was built is found, the group empty or not', async (t) => {
  if (!requireLinux(t)) return;
  const setsid = platform().which('setsid');
  if (!setsid) return t.skip('requires setsid (util-linux)');
  // The task forks nothing until told to; then a double fork + setsid (a daemon), and a child in the group.
  const w = group(`read go; (${setsid} sleep 31 &); sleep 32 & wait`, id('esc'), 'pipe');
  const s = scope(id('esc'), w);
  const sweeper = new ProcSweeper();
  assert.deepEqual((await sweeper.find(s)).pids, [], 'nothing but the wrapper yet');
  w.stdin!.end('go\n');
  let found: TaskProcs = { pids: [], wrapperAlive: false };
  const outside = () => found.pids.filter((pid) => readStat(pid)?.pgrp !== w.pid);
  // (The subshell between the two forks is a task process too, for a moment.)
  await waitFor(async () => (found = await sweeper.find(s)).pids.length === 2 && outside().length === 1, { what: 'the daemon and the child' });
  const [daemon] = outside();
  escaped.add(daemon);
  assert.equal(readStat(daemon)?.session, daemon, 'by setsid');
  assert.ok(same(found, findTaskProcs(s)), 'as a walk finds');
  // The wrapper and its group go: kill(-pgid, 0) says the group is empty, the marker still finds the daemon.
  process.kill(-w.pid!, 'SIGKILL');
  await waitFor(async () => (found = await sweeper.find(s)).pids.length === 1 && !found.wrapperAlive, { what: 'the group to empty' });
  assert.deepEqual(found.pids, [daemon]);
  assert.ok(same(found, findTaskProcs(s)), 'as a walk finds');
  process.kill(daemon, 'SIGKILL');
  await waitFor(async () => (await sweeper.find(s)).pids.length === 0, { what: 'the daemon to go' });
});

test('handedOutBetween: the pids the cursor passed, wrapping at pid_max', () => {
  assert.equal(handedOutBetween(101, 100, 110), true);
  assert.equal(handedOutBetween(110, 100, 110), true);
  assert.equal(handedOutBetween(100, 100, 110), false, 'the cursor had already handed it out');
  assert.equal(handedOutBetween(111, 100, 110), false);
  assert.equal(handedOutBetween(5, 100, 100), false, 'the cursor did not move');
  assert.equal(handedOutBetween(4000, 3990, 310), true, 'wrapped: above the first read');
  assert.equal(handedOutBetween(305, 3990, 310), true, 'wrapped: up to the second read');
  assert.equal(handedOutBetween(500, 3990, 310), false);
});

// ---- A model of the kernel's processes, for the table and the sweeper ----

interface ModelProc {
  pgrp: number;
  session: number;
  startTime: number;
  markers: string[];
  zombie: boolean;
}

/**
 * Processes whose pids the kernel hands out in order from a cursor, wrapping at pidMax to 300. A
 * fork may stay `hidden` a while: its pid is taken, /proc does not show it yet (a clone between
 * alloc_pid and attach_pid), for less than UNBORN_MS.
 */
class Kernel implements ProcSource {
  procs = new Map<number, ModelProc>();
  hidden = new Map<number, { proc: ModelProc; bornAt: number }>();
  cursor = 1;
  forkCount = 0;
  ticks = 1000;
  ms = 0;
  statReads = 0;
  pidMax: number;
  clockTicks = 100;

  constructor(pidMax = 4096) {
    this.pidMax = pidMax;
  }

  /** A new process: the next free pid after the cursor (shown in /proc after `hiddenMs`). */
  fork(from: Pick<ModelProc, 'pgrp' | 'session' | 'markers'>, hiddenMs = 0): number {
    const all = () => [...this.procs.values(), ...[...this.hidden.values()].map((h) => h.proc)];
    let pid = this.cursor;
    do {
      pid = pid + 1 >= this.pidMax ? 300 : pid + 1;
    } while (this.procs.has(pid) || this.hidden.has(pid) || all().some((p) => p.pgrp === pid || p.session === pid));
    this.cursor = pid;
    this.forkCount++;
    const proc = { pgrp: from.pgrp, session: from.session, markers: [...from.markers], startTime: this.ticks, zombie: false };
    if (hiddenMs > 0) this.hidden.set(pid, { proc, bornAt: this.ms + hiddenMs });
    else this.procs.set(pid, proc);
    return pid;
  }

  /** The hidden forks whose time has come show in /proc. */
  birth(): void {
    for (const [pid, h] of this.hidden) {
      if (h.bornAt > this.ms) continue;
      this.hidden.delete(pid);
      this.procs.set(pid, h.proc);
    }
  }

  setsid(pid: number): void {
    const p = this.procs.get(pid)!;
    if ([...this.procs.values()].some((q) => q.pgrp === pid)) return; // a group leader cannot
    p.session = pid;
    p.pgrp = pid;
  }

  /** setpgid(pid, pgid): into its own new group, or an existing group of its session. */
  setpgid(pid: number, pgid: number): void {
    const p = this.procs.get(pid)!;
    if (p.session === pid) return; // a session leader cannot
    if (pgid === pid || [...this.procs.entries()].some(([q, o]) => o.pgrp === pgid && o.session === p.session && q !== pid)) p.pgrp = pgid;
  }

  listPids(): number[] {
    return [...this.procs.keys()];
  }

  stat(pid: number): StatFields | undefined {
    this.statReads++;
    const p = this.procs.get(pid);
    return p && { state: p.zombie ? 'Z' : 'S', pgrp: p.pgrp, session: p.session, utime: 0, stime: 0, startTime: p.startTime };
  }

  markers(pid: number): string[] | undefined {
    const p = this.procs.get(pid);
    return p && (p.zombie ? [] : [...p.markers]);
  }

  lastPid(): number {
    return this.cursor;
  }

  forks(): number {
    return this.forkCount;
  }

  nowTicks(): number {
    return this.ticks;
  }

  groupEmpty(pgid: number): boolean {
    return ![...this.procs.values()].some((p) => p.pgrp === pgid);
  }

  now(): number {
    return this.ms;
  }

  /** findTaskProcs' rules, applied to every process as a walk would. */
  walk(scope: ProcScope, self: number): TaskProcs {
    const w = this.procs.get(scope.wrapperPid);
    const wrapperAlive = !!w && !w.zombie && w.startTime === scope.wrapperStartTime;
    const marked: number[] = [];
    const members: number[] = [];
    let proven = wrapperAlive;
    for (const [pid, p] of this.procs) {
      if (pid === scope.wrapperPid || pid === self || p.zombie) continue;
      const inGroup = p.pgrp === scope.pgid;
      const young = scope.wrapperStartTime < 0 || p.startTime >= scope.wrapperStartTime;
      if (young && p.markers.includes(scope.id)) {
        marked.push(pid);
        if (inGroup) proven = true;
      } else if (inGroup) {
        members.push(pid);
      }
    }
    return { pids: proven ? [...marked, ...members] : marked, wrapperAlive };
  }
}

test('ProcTable: a listing reads only the pids it cannot vouch for', () => {
  const k = new Kernel(4096);
  const init = { pgrp: 1, session: 1, markers: [] };
  k.cursor = 399;
  const low = Array.from({ length: 10 }, () => k.fork(init)); // 400…409
  k.cursor = 599;
  Array.from({ length: 10 }, () => k.fork(init)); // 600…609
  const table = new ProcTable(k, 1);
  assert.deepEqual(table.refresh(), { kind: 'listing', looked: 20, read: 20, trusted: false }, 'no cursor yet: everything is read');
  k.ms += 10;
  assert.deepEqual(table.refresh(), { kind: 'listing', looked: 20, read: 0, trusted: true }, 'nothing was handed out: nothing is read');

  // A new process, and one pid reused after the cursor went round (405 handed out again).
  k.ms += 10;
  assert.equal(k.fork(init), 610);
  k.procs.delete(low[5]);
  k.ticks += 5;
  k.cursor = 404;
  assert.equal(k.fork({ pgrp: 1, session: 1, markers: ['t'] }), low[5]);
  let r = table.refresh();
  assert.deepEqual([r.kind, r.trusted], ['listing', true], 'a listing until one has shown what may have been forking during the first');
  assert.equal(r.read, 1 + 6, 'the new pid and the pids the cursor passed (400…405: from 609 round to 405), not 406…409 nor 600…609');
  assert.equal(table.entries.get(low[5])!.startTime, k.ticks, 'the reused pid is the new process');
  k.ticks += 100;
  assert.deepEqual(table.markersOf(low[5]), ['t']);
  assert.equal(table.entries.size, 21);

  // Too many forks since (the cursor could have gone round), too old, or no cursor: read in full.
  k.ms += 10;
  k.forkCount += 2048;
  r = table.refresh();
  assert.deepEqual([r.trusted, r.read], [false, 21]);
  k.ms += MAX_AGE_MS + 1;
  r = table.refresh();
  assert.deepEqual([r.trusted, r.read], [false, 21]);
  k.ms += 10;
  assert.deepEqual(table.refresh(), { kind: 'listing', looked: 21, read: 0, trusted: true });
  const blind = Object.assign(Object.create(Object.getPrototypeOf(k)) as Kernel, k, { lastPid: () => undefined });
  const t2 = new ProcTable(blind, 1);
  t2.refresh();
  blind.ms += 10;
  assert.equal(t2.refresh().trusted, false, 'without ns_last_pid the table is never trusted');
});

test('ProcTable: between listings a probe reads the pids handed out since, and those not shown yet', () => {
  const k = new Kernel(700);
  const init = { pgrp: 1, session: 1, markers: [] };
  k.cursor = 399;
  const first = Array.from({ length: 10 }, () => k.fork(init));
  const table = new ProcTable(k, 1);
  table.refresh();
  // Listings, a refresh every 200 ms, until one comes UNBORN_MS after the table was read in full.
  let r;
  for (let t = 200; t <= UNBORN_MS; t += 200) {
    k.ms = t;
    r = table.refresh();
    assert.equal(r.kind, 'listing', `at ${t} ms`);
  }
  k.ms += 10;
  assert.deepEqual(table.refresh(), { kind: 'probe', looked: 0, read: 0, trusted: true }, 'nothing handed out: nothing read');

  // One fork shows at once, one a moment after its pid was taken.
  k.ms += 10;
  const shown = k.fork(init);
  const late = k.fork({ pgrp: 1, session: 1, markers: ['x'] }, 50);
  assert.deepEqual(table.refresh(), { kind: 'probe', looked: 2, read: 2, trusted: true });
  assert.ok(table.entries.has(shown) && !table.entries.has(late));
  k.ms += 30;
  assert.deepEqual(table.refresh(), { kind: 'probe', looked: 1, read: 1, trusted: true }, 'the unborn pid is looked for again');
  k.ms += 30;
  k.birth();
  assert.deepEqual(table.refresh(), { kind: 'probe', looked: 1, read: 1, trusted: true });
  assert.ok(table.entries.has(late), 'found once it shows');
  k.ms += 10;
  assert.deepEqual(table.refresh(), { kind: 'probe', looked: 0, read: 0, trusted: true }, 'then no longer looked for');

  // A death is seen by the next listing; a pid handed out again drops what the table held there.
  k.procs.delete(first[0]);
  k.ms += 10;
  table.refresh();
  assert.ok(table.entries.has(first[0]), 'a probe does not see deaths');
  k.procs.delete(first[1]);
  k.cursor = first[1] - 1; // (the cursor went round: 413…699, then 300…401)
  const again = k.fork(init, 100);
  assert.equal(again, first[1]);
  k.ms += 10;
  assert.equal(table.refresh().kind, 'probe');
  assert.ok(!table.entries.has(first[1]), 'its pid was handed out again: the old process is gone');
  k.ms += LIST_EVERY_MS;
  k.birth();
  r = table.refresh();
  assert.equal(r.kind, 'listing', 'a listing at least every LIST_EVERY_MS');
  assert.ok(!table.entries.has(first[0]), 'the dead one is gone');
  assert.ok(table.entries.has(again));
});

test('ProcTable: an environ read while its process was young is read again by the next sweep', () => {
  const k = new Kernel();
  const launcher = k.fork({ pgrp: 1, session: 1, markers: [] });
  const child = k.fork({ pgrp: 1, session: 1, markers: [] });
  const table = new ProcTable(k, 1);
  table.refresh();
  assert.deepEqual(table.markersOf(child), []);
  // It exec'd with the marker (a launcher's child between fork and exec when first read).
  k.procs.get(child)!.markers = ['w'];
  assert.deepEqual(table.markersOf(child), [], 'one read serves every answer of a sweep');
  k.ms += 10;
  table.refresh();
  assert.deepEqual(table.markersOf(child), ['w'], 'read again at the next: it was younger than the settle time');
  k.ticks += 100;
  assert.deepEqual(table.markersOf(launcher), []);
  k.procs.get(launcher)!.markers = ['x'];
  assert.deepEqual(table.markersOf(launcher), [], 'settled: kept');
});

test('ProcSweeper: a process back in its group without its marker, and a recycled pgid grouping in another session, are found', async () => {
  const k = new Kernel();
  const agent = k.fork({ pgrp: 1, session: 1, markers: [] });
  const sweeper = new ProcSweeper(k, agent);
  const check = async (s: ProcScope, want: number[]) => {
    k.ticks += 50;
    k.ms += 10;
    const got = await sweeper.find(s);
    assert.ok(same(got, k.walk(s, agent)), `${JSON.stringify(got)} against a walk's ${JSON.stringify(k.walk(s, agent))}`);
    assert.deepEqual(sorted(got.pids), sorted(want));
  };

  // A child that made its own group and cleared its environment before the table first saw it,
  // then went back into the wrapper's group: found as a member of the wrapper's session.
  const w = k.fork({ pgrp: 1, session: 1, markers: ['a'] });
  k.setsid(w);
  const a: ProcScope = { id: 'a', pgid: w, wrapperPid: w, wrapperStartTime: k.ticks };
  k.ticks += 1;
  const x = k.fork(k.procs.get(w)!);
  k.setpgid(x, x);
  k.procs.get(x)!.markers = [];
  await check(a, []);
  k.setpgid(x, w);
  await check(a, [x]);

  // The wrapper of task b is gone; its pid, handed out again to a descendant of a daemon of b,
  // now names a group in the daemon's session, which an unmarked process of that session joins
  // (the group is proven: a marked process is in it).
  const wb = k.fork({ pgrp: 1, session: 1, markers: ['b'] });
  k.setsid(wb);
  const b: ProcScope = { id: 'b', pgid: wb, wrapperPid: wb, wrapperStartTime: k.ticks };
  k.ticks += 1;
  const d = k.fork(k.procs.get(wb)!);
  k.setsid(d);
  const e = k.fork(k.procs.get(d)!);
  k.procs.get(e)!.markers = [];
  await check(b, [d]);
  k.procs.delete(wb);
  await check(b, [d]);
  k.cursor = wb - 1; // the cursor went round
  const p2 = k.fork(k.procs.get(d)!);
  assert.equal(p2, wb);
  k.setpgid(p2, p2);
  // (A process with the wrapper's pid never counts: p3, marked in the group, proves it.)
  const p3 = k.fork(k.procs.get(p2)!);
  await check(b, [d, p3]);
  k.setpgid(e, p2);
  await check(b, [d, p3, e]);
});

/** A seeded generator (mulberry32), for a reproducible random run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

test('ProcSweeper: through forks, exits, setsid, setpgid and cleared environments, answers as a walk does', async () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const rnd = random(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
    // A small pid space: the cursor wraps and pids are reused during the run.
    const k = new Kernel(500 + Math.floor(rnd() * 150));
    k.cursor = 299;
    const agent = k.fork({ pgrp: 1, session: 1, markers: [] });
    const sweeper = new ProcSweeper(k, agent);
    const scopes: ProcScope[] = [];
    /** A task: its wrapper (own session and group), marked and settled, as the launcher starts it. */
    const launch = (id: string) => {
      const w = k.fork({ pgrp: 1, session: 1, markers: [id] });
      k.setsid(w);
      scopes.push({ id, pgid: w, wrapperPid: w, wrapperStartTime: k.ticks });
    };
    for (let i = 0; i < 4; i++) launch(`t${i}`);
    // Unrelated processes of the host.
    for (let i = 0; i < 20; i++) k.fork({ pgrp: 1, session: 1, markers: [] });
    let compared = 0;
    for (let step = 0; step < 3000; step++) {
      k.ticks += 1 + Math.floor(rnd() * 30);
      k.ms += Math.floor(rnd() * 40);
      k.birth();
      const pids = [...k.procs.keys()].filter((p) => p !== agent);
      const p = pick(pids);
      const proc = k.procs.get(p)!;
      const op = rnd();
      if (proc.zombie) {
        if (op < 0.7) k.procs.delete(p); // reaped: its pid may be handed out again
      } else if (op < 0.3) {
        if (k.procs.size < 60) k.fork(proc, rnd() < 0.2 ? Math.floor(rnd() * 300) : 0);
      } else if (op < 0.5) {
        proc.zombie = true;
      } else if (op < 0.55) {
        k.setsid(p);
      } else if (op < 0.65) {
        // Its own new group, or another group of its session (back into the wrapper's, say).
        const groups = [...k.procs.values()].filter((q) => q.session === proc.session).map((q) => q.pgrp);
        k.setpgid(p, rnd() < 0.4 ? p : pick(groups));
      } else if (op < 0.7) {
        proc.markers = []; // exec with a cleared environment
      } else if (op < 0.73) {
        launch(`t${scopes.length}`);
      } else {
        // Finds asked for together, and the walk at the same moment.
        const asked = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pick(scopes));
        const answers = await Promise.all(asked.map((s) => sweeper.find(s)));
        asked.forEach((s, i) => {
          const walk = k.walk(s, agent);
          assert.ok(same(answers[i], walk), `seed ${seed}, step ${step}, task ${s.id}: ${JSON.stringify(answers[i])} against a walk's ${JSON.stringify(walk)}`);
        });
        compared += asked.length;
      }
    }
    assert.ok(compared > 100, `seed ${seed}: ${compared} answers compared`);
    assert.ok(k.forkCount > k.pidMax - 300, `seed ${seed}: the cursor went round (${k.forkCount} forks)`);
    const c = sweeper.counters;
    assert.ok(c.read < c.looked, `seed ${seed}: the table spared reads (${c.read} of ${c.looked})`);
    assert.ok(c.listings < c.sweeps / 2, `seed ${seed}: most sweeps probed (${c.listings} listings in ${c.sweeps} sweeps)`);
  }
});
