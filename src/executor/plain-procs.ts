/**
 * Finding and killing a plain task's processes through /proc. A process
 * belongs to a task when it is in the task's process group (pgid = wrapper
 * pid) or carries the marker `TEND_TASK_ID=<id>` in /proc/<pid>/environ — the
 * latter finds descendants that left the group (double fork + setsid). A
 * group member without the marker (it exec'd with a cleared environment)
 * counts only while the group is proven ours: the wrapper runs with its start
 * time, or a marked process is in the group, so a recycled pgid is never hit.
 * The executor asks through plain-sweeper.ts, which gives findTaskProcs'
 * answers from a table of what it has read, shared by the stops in flight.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoCode } from '../errors.js';
import { isAlive, listPids } from './proc.js';

export const MARKER = 'TEND_TASK_ID';

export interface TaskProcs {
  /** Task processes (without the wrapper). */
  pids: number[];
  wrapperAlive: boolean;
}

export interface ProcScope {
  id: string;
  pgid: number;
  wrapperPid: number;
  wrapperStartTime: number;
}

export interface StatFields {
  state: string;
  pgrp: number;
  session: number;
  utime: number;
  stime: number;
  startTime: number;
}

/**
 * Read a small /proc file into a shared buffer (open + read + close: about half
 * the cost of readFileSync, which matters when scanning thousands of pids).
 * The result is only valid until the next call. Undefined when unreadable.
 */
let scratch = Buffer.allocUnsafe(16384);
export function readProcFile(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    let len = 0;
    for (;;) {
      if (len === scratch.length) {
        const bigger = Buffer.allocUnsafe(scratch.length * 2);
        scratch.copy(bigger);
        scratch = bigger;
      }
      const n = readSync(fd, scratch, len, scratch.length - len, null);
      if (n <= 0) return scratch.subarray(0, len);
      len += n;
    }
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** The fields of /proc/<pid>/stat the sweeps use; undefined when the process is gone. */
export function readStatFields(pid: number): StatFields | undefined {
  const raw = readProcFile(`/proc/${pid}/stat`);
  if (!raw) return undefined;
  const text = raw.toString('latin1');
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0], pgrp: Number(rest[2]), session: Number(rest[3]), utime: Number(rest[11]), stime: Number(rest[12]), startTime: Number(rest[19]) };
}

function hasMarker(pid: number, needle: Buffer): boolean {
  const env = readProcFile(`/proc/${pid}/environ`);
  if (!env) return false;
  for (let at = env.indexOf(needle); at >= 0; at = env.indexOf(needle, at + 1)) {
    if (at === 0 || env[at - 1] === 0) return true;
  }
  return false;
}

function markerNeedle(id: string): Buffer {
  return Buffer.from(`${MARKER}=${id}\0`);
}

/** Every live (non-zombie) process of the task, the wrapper excluded. */
export function findTaskProcs(scope: ProcScope): TaskProcs {
  const needle = markerNeedle(scope.id);
  const wrapperAlive = isAlive(scope.wrapperPid, scope.wrapperStartTime);
  const marked: number[] = [];
  const unmarkedMembers: number[] = [];
  let groupProven = wrapperAlive;
  for (const pid of listPids()) {
    if (pid === scope.wrapperPid || pid === process.pid) continue;
    const st = readStatFields(pid);
    if (!st || st.state === 'Z' || st.state === 'X') continue;
    const inGroup = st.pgrp === scope.pgid;
    // Descendants (and exec sessions) start after the wrapper: older processes need no environ read.
    const young = scope.wrapperStartTime < 0 || st.startTime >= scope.wrapperStartTime;
    if (young && hasMarker(pid, needle)) {
      marked.push(pid);
      if (inGroup) groupProven = true;
    } else if (inGroup) {
      unmarkedMembers.push(pid);
    }
  }
  return { pids: groupProven ? [...marked, ...unmarkedMembers] : marked, wrapperAlive };
}

/** Every `TEND_TASK_ID=<id>` value in a process's environment (usually one). */
function markersOf(pid: number): string[] {
  return readMarkers(pid) ?? [];
}

/** Every `TEND_TASK_ID=<id>` value in a process's environment; undefined when it cannot be read (gone, not permitted). */
export function readMarkers(pid: number): string[] | undefined {
  const env = readProcFile(`/proc/${pid}/environ`);
  if (!env) return undefined;
  const prefix = MARKER_PREFIX;
  const out: string[] = [];
  for (let at = env.indexOf(prefix); at >= 0; at = env.indexOf(prefix, at + 1)) {
    if (at !== 0 && env[at - 1] !== 0) continue;
    const end = env.indexOf(0, at);
    out.push(env.subarray(at + prefix.length, end < 0 ? env.length : end).toString());
  }
  return out;
}

const MARKER_PREFIX = Buffer.from(`${MARKER}=`);

/**
 * `findTaskProcs` for many tasks in one walk of /proc, for stats: the cost is
 * one walk whatever the number of tasks, where a walk per task grows with the
 * square. Each pid's stat is read once; its environ only when its group is
 * not a task's proven one (a member of a proven group counts for that task
 * whatever it carries: a process cannot leave its session, so it cannot join
 * another task's group; findTaskProcs would also count it for a task whose
 * marker it carries).
 */
export function findManyTaskProcs(scopes: readonly ProcScope[], seen?: Map<number, CpuTicks>): Map<string, TaskProcs> {
  const byId = new Map<string, ProcScope>();
  const byPgid = new Map<number, ProcScope[]>();
  const byWrapper = new Map<number, ProcScope[]>();
  let oldest = Infinity;
  for (const s of scopes) {
    byId.set(s.id, s);
    byPgid.set(s.pgid, [...(byPgid.get(s.pgid) ?? []), s]);
    byWrapper.set(s.wrapperPid, [...(byWrapper.get(s.wrapperPid) ?? []), s]);
    oldest = Math.min(oldest, s.wrapperStartTime < 0 ? -Infinity : s.wrapperStartTime);
  }
  const found = new Map<string, { marked: number[]; members: number[]; proven: boolean; wrapperAlive: boolean }>();
  for (const s of scopes) found.set(s.id, { marked: [], members: [], proven: false, wrapperAlive: false });
  // First: every process's stat, and which wrappers run (with their start time, as isAlive).
  const procs: [number, StatFields][] = [];
  for (const pid of listPids()) {
    if (pid === process.pid) continue;
    const st = readStatFields(pid);
    if (!st || st.state === 'Z' || st.state === 'X') continue;
    procs.push([pid, st]);
    seen?.set(pid, st);
    for (const s of byWrapper.get(pid) ?? []) if (st.startTime === s.wrapperStartTime) found.get(s.id)!.wrapperAlive = true;
  }
  // Then: members of groups whose wrapper runs need no environ; the others are found by their marker.
  for (const [pid, st] of procs) {
    const groups = (byPgid.get(st.pgrp) ?? []).filter((s) => pid !== s.wrapperPid);
    const live = groups.filter((s) => found.get(s.id)!.wrapperAlive);
    if (live.length) {
      for (const s of live) found.get(s.id)!.members.push(pid);
      continue;
    }
    const markedFor = new Set<string>();
    if (st.startTime >= oldest) {
      for (const id of markersOf(pid)) {
        const s = byId.get(id);
        if (!s || pid === s.wrapperPid || markedFor.has(id)) continue;
        // Descendants (and exec sessions) start after the wrapper, as findTaskProcs requires.
        if (s.wrapperStartTime >= 0 && st.startTime < s.wrapperStartTime) continue;
        markedFor.add(id);
        const f = found.get(id)!;
        f.marked.push(pid);
        if (st.pgrp === s.pgid) f.proven = true;
      }
    }
    for (const s of groups) if (!markedFor.has(s.id)) found.get(s.id)!.members.push(pid);
  }
  const out = new Map<string, TaskProcs>();
  for (const s of scopes) {
    const f = found.get(s.id)!;
    out.set(s.id, { pids: f.proven || f.wrapperAlive ? [...f.marked, ...f.members] : f.marked, wrapperAlive: f.wrapperAlive });
  }
  return out;
}

/** Marked processes of any of `ids` (for gc), the caller's own process excluded. */
export function findMarked(ids: ReadonlySet<string>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  if (!ids.size) return out;
  const prefix = Buffer.from(`${MARKER}=`);
  for (const pid of listPids()) {
    if (pid === process.pid) continue;
    const env = readProcFile(`/proc/${pid}/environ`);
    if (!env) continue;
    let at = env.indexOf(prefix);
    while (at > 0 && env[at - 1] !== 0) at = env.indexOf(prefix, at + 1);
    if (at < 0) continue;
    const end = env.indexOf(0, at);
    const id = env.subarray(at + prefix.length, end < 0 ? env.length : end).toString();
    if (!ids.has(id) || !isAlive(pid)) continue;
    out.set(id, [...(out.get(id) ?? []), pid]);
  }
  return out;
}

/** Send `signal` to each pid; ESRCH (already gone) is fine. */
export function signalPids(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    if (pid <= 1 || pid === process.pid) continue;
    try {
      process.kill(pid, signal);
    } catch (err) {
      if (errnoCode(err) !== 'ESRCH') throw err;
    }
  }
}

/**
 * SIGKILL what `find` returns until it returns nothing (a process forking
 * while we kill shows up in the next round). Returns the pids still present
 * at the deadline (none in the normal case).
 */
export async function killUntilGone(find: () => number[] | Promise<number[]>, timeoutMs = 5000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; ; round++) {
    const pids = await find();
    if (!pids.length) return [];
    if (Date.now() >= deadline) return pids;
    signalPids(pids, 'SIGKILL');
    await sleep(round < 5 ? 2 : 20);
  }
}

export interface CpuSample {
  at: number;
  ticks: number;
}

/** A process's cpu time so far, in clock ticks. */
export interface CpuTicks {
  utime: number;
  stime: number;
}

/**
 * Sum of RSS (bytes) and cpu ticks (user, system) of `pids`. `seen`: ticks just read for these
 * pids (findManyTaskProcs), not read again.
 */
export function sampleProcs(pids: readonly number[], seen?: ReadonlyMap<number, CpuTicks>): { rssBytes: number; userTicks: number; systemTicks: number; count: number } {
  let rssBytes = 0;
  let userTicks = 0;
  let systemTicks = 0;
  let count = 0;
  for (const pid of pids) {
    const st = seen?.get(pid) ?? readStatFields(pid);
    if (!st) continue;
    count++;
    userTicks += st.utime;
    systemTicks += st.stime;
    const status = readProcFile(`/proc/${pid}/status`);
    const m = status && /VmRSS:\s+(\d+) kB/.exec(status.toString('latin1'));
    if (m) rssBytes += Number(m[1]) * 1024;
  }
  return { rssBytes, userTicks, systemTicks, count };
}

/** Seconds since boot. */
export function uptimeSeconds(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

/** Start time (clock ticks since boot) of a pid, for lifetime cpu averages. */
export function startTicks(pid: number): number | undefined {
  return readStatFields(pid)?.startTime;
}
