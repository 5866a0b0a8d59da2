/**
 * What the peers bench observes, from /proc and the same way for every
 * system: the live `sleep` processes carrying a system's marker, and the
 * footprint (RSS, PSS, CPU ticks) of a manager's own processes.
 *
 * Every task of every system is `/bin/sleep <marker>`, marker = S·10⁶ + i
 * (S the system's number 1–99, i the task's index): a sleep of 12–115 days
 * whose command line says whose task it is, wherever it runs (a container's
 * pid namespace included).
 */
import { readFileSync } from 'node:fs';
import { listPids, readStat } from '../src/executor/proc.js';
import { cpuTicks, pssBytes, rssBytes } from './agent-common.js';

export const markerOf = (sys: number, i: number): number => sys * 1_000_000 + i;
export const sysOf = (marker: number): number => Math.floor(marker / 1_000_000);

/** A process not (yet) a marked sleep is read again until it has kept its name this long (a fork before its exec). */
const SETTLE_MS = 2000;
/** A pid handed out is looked for this long before it counts as a process that came and went. */
const UNBORN_MS = 1000;

interface Seen {
  startTime: number;
  firstSeen: number;
  comm: string;
  marker?: number;
  /** Read no more: a process that will not become a marked sleep. */
  settled: boolean;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The marker of a `sleep <marker>` command line, else undefined. */
function markerFromCmdline(cmdline: string | undefined): number | undefined {
  const argv = cmdline?.split('\0') ?? [];
  if (argv.length < 2 || !/^[1-9]\d{6,7}$/.test(argv[1])) return undefined;
  return Number(argv[1]);
}

/** The last pid the kernel handed out (pids are allocated cyclically upwards, below pid_max). */
const lastPid = (): number => Number(readText('/proc/sys/kernel/ns_last_pid'));
const PID_MAX = Number(readText('/proc/sys/kernel/pid_max') ?? 32768);

/**
 * The marked sleeps alive on the machine. `scanNew()` is cheap enough to poll
 * every few ms: it reads the processes created since the last scan (the pids
 * between the last two values of `ns_last_pid`), and again those that may
 * still exec (a fork keeps its parent's name until its exec; a container's
 * init, `runc:[2:INIT]`, until `runc start`; a fresh exec, until its command line
 * can be read). It sees births only;
 * `scan()` (a readdir of /proc, ~1.5 ms with 2,000 processes) also sees deaths.
 */
export class SleepWatch {
  readonly #seen = new Map<number, Seen>();
  readonly #pending = new Set<number>();
  /** Pids handed out but not (yet) in /proc: a clone becomes visible a moment after its pid is taken. */
  readonly #unborn = new Map<number, number>();
  readonly #byMarker = new Map<number, Set<number>>();
  readonly #perSys = new Map<number, number>();
  #last: number;

  constructor() {
    this.#last = lastPid();
    for (const pid of listPids()) this.#inspect(pid, performance.now());
  }

  /** Births and deaths. */
  scan(): void {
    const now = performance.now();
    this.#births(now);
    const live = new Set(listPids());
    for (const pid of this.#seen.keys()) if (!live.has(pid)) this.#forget(pid);
    for (const pid of live) if (!this.#seen.has(pid)) this.#inspect(pid, now);
  }

  /** Births only (a dead sleep stays counted until `scan()` or `dropZombies()`). */
  scanNew(): void {
    this.#births(performance.now());
  }

  #births(now: number): void {
    const last = lastPid();
    const range = (from: number, to: number) => {
      for (let pid = from; pid <= to; pid++) if (!this.#inspect(pid, now, true)) this.#unborn.set(pid, now);
    };
    for (const [pid, since] of this.#unborn) {
      if (this.#inspect(pid, now, true) || now - since > UNBORN_MS) this.#unborn.delete(pid);
    }
    if (last >= this.#last) range(this.#last + 1, last);
    else {
      range(this.#last + 1, PID_MAX - 1);
      range(1, last);
    }
    this.#last = last;
    for (const pid of this.#pending) this.#inspect(pid, now);
  }

  /**
   * Read one process; `fresh` when its pid was handed out since the last scan (an entry under it
   * is a dead process's). False when there is no such process.
   */
  #inspect(pid: number, now: number, fresh = false): boolean {
    let e = this.#seen.get(pid);
    if (e && !fresh && (e.settled || e.marker !== undefined)) return true;
    const st = readStat(pid);
    if (!st) {
      if (e) this.#forget(pid);
      return false;
    }
    if (e && e.startTime !== st.startTime) {
      this.#forget(pid);
      e = undefined;
    }
    if (!e) {
      e = { startTime: st.startTime, firstSeen: now, comm: st.comm, settled: false };
      this.#seen.set(pid, e);
      this.#pending.add(pid);
    } else if (e.settled || e.marker !== undefined) {
      return true;
    } else if (e.comm !== st.comm) {
      e.comm = st.comm;
      e.firstSeen = now;
    }
    // Right after an exec the name is already the new one while the command line is not yet readable (empty).
    const marker = st.comm === 'sleep' ? markerFromCmdline(readText(`/proc/${pid}/cmdline`)) : undefined;
    if (marker !== undefined) {
      this.#pending.delete(pid);
      this.#add(pid, e, marker);
    } else if (now - e.firstSeen > SETTLE_MS && !st.comm.startsWith('runc:')) {
      this.#pending.delete(pid);
      e.settled = true;
    }
    return true;
  }

  /** Live pids of the task with this marker (a killed one until its manager reaps it). */
  pids(marker: number): number[] {
    return [...(this.#byMarker.get(marker) ?? [])];
  }

  /** Marked sleeps of system `sys`. */
  count(sys: number): number {
    return this.#perSys.get(sys) ?? 0;
  }

  /** Every marked sleep of system `sys`: marker → pids. */
  of(sys: number): Map<number, number[]> {
    const out = new Map<number, number[]>();
    for (const [m, pids] of this.#byMarker) if (sysOf(m) === sys && pids.size) out.set(m, [...pids]);
    return out;
  }

  /** Forget the sleeps of `sys` that are dead but not yet reaped (zombies): they run no more. */
  dropZombies(sys: number): void {
    for (const pids of this.of(sys).values()) {
      for (const pid of pids) {
        const st = readStat(pid);
        if (!st || st.state === 'Z' || st.state === 'X') this.#forget(pid);
      }
    }
  }

  #add(pid: number, e: Seen, marker: number): void {
    e.marker = marker;
    let set = this.#byMarker.get(marker);
    if (!set) this.#byMarker.set(marker, (set = new Set()));
    set.add(pid);
    this.#perSys.set(sysOf(marker), this.count(sysOf(marker)) + 1);
  }

  #forget(pid: number): void {
    const e = this.#seen.get(pid);
    this.#seen.delete(pid);
    this.#pending.delete(pid);
    if (e?.marker === undefined) return;
    const set = this.#byMarker.get(e.marker);
    if (set?.delete(pid)) this.#perSys.set(sysOf(e.marker), this.count(sysOf(e.marker)) - 1);
    if (set && !set.size) this.#byMarker.delete(e.marker);
  }
}

/** Every descendant of `roots` (roots included), from the ppid of every process. */
export function withDescendants(roots: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const pid of listPids()) {
    const st = readStat(pid);
    if (!st) continue;
    const list = children.get(st.ppid);
    if (list) list.push(pid);
    else children.set(st.ppid, [pid]);
  }
  const out = new Set<number>();
  const stack = [...roots];
  while (stack.length) {
    const pid = stack.pop()!;
    if (out.has(pid)) continue;
    out.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return [...out];
}

/** True for a task of the bench (a marked sleep), which is never counted as its manager's. */
export function isMarkedSleep(pid: number): boolean {
  return readStat(pid)?.comm === 'sleep' && markerFromCmdline(readText(`/proc/${pid}/cmdline`)) !== undefined;
}

export const cmdlineOf = (pid: number): string => (readText(`/proc/${pid}/cmdline`) ?? '').replace(/\0/g, ' ').trim();

/** `read(pid)`, NaN once the process is gone. */
const orNaN = (read: (pid: number) => number) => (pid: number): number => {
  try {
    return read(pid);
  } catch {
    return NaN;
  }
};

/** A manager's own processes by part (e.g. agent, log monitor, wrappers). */
export type Parts = Map<string, number[]>;

export interface PartFootprint {
  procs: number;
  rssKiB: number;
  pssKiB: number;
}

export function footprint(parts: Parts): Map<string, PartFootprint> {
  const out = new Map<string, PartFootprint>();
  const sum = (xs: number[]) => xs.filter(Number.isFinite).reduce((a, b) => a + b, 0);
  for (const [name, pids] of parts) out.set(name, { procs: pids.length, rssKiB: sum(pids.map(orNaN(rssBytes))) / 1024, pssKiB: sum(pids.map(orNaN(pssBytes))) / 1024 });
  return out;
}

/** utime + stime of each pid (clock ticks), for the ones alive. */
export function ticksOf(pids: number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    try {
      out.set(pid, cpuTicks(pid));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Ticks spent between two readings by the processes alive at both. */
export function ticksBetween(a: Map<number, number>, b: Map<number, number>): number {
  let t = 0;
  for (const [pid, v] of b) if (a.has(pid)) t += v - a.get(pid)!;
  return t;
}
