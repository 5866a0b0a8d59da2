/**
 * The plain executor's sweeps of /proc, shared between the tasks stopping at
 * the same time (issue 14). `findTaskProcs` walks every process, reading its
 * stat and often its environ; a stop walks at least once, and stopping N tasks
 * walked N times over 2N processes: the square of N.
 *
 * The sweeper
 *  1. coalesces: the finds asked for while a sweep is pending are answered by
 *     that one sweep, each with its own TaskProcs;
 *  2. keeps a table of the processes it has read, by pid: start time, process
 *     group, session and, once read, the `TEND_TASK_ID` markers in its
 *     environ. A sweep lists /proc and reads only the pids it cannot vouch for
 *     (below), so a sweep during a burst of stops costs a directory listing
 *     and a few reads, not two reads per process;
 *  3. answers a task from its candidates only, each read afresh and judged by
 *     findTaskProcs' rules (marker, proven group, wrapper start time):
 *     - the processes whose environ carried the task's marker (the descendants
 *       that left the group, a double fork + setsid, are found here);
 *     - the members its process group can have: none when `kill(-pgid, 0)`
 *       says the group is empty; while the wrapper holds its pid (alive or a
 *       zombie), the processes of the wrapper's session (its group lives in
 *       it: a process enters a session only by being forked in it, and leaves
 *       it only through setsid, which also takes it out of the group); else
 *       (orphans of a dead wrapper, possibly a recycled pgid) every process.
 *
 * When a pid needs no read. A process keeps its pid and start time for life,
 * and a pid is reused only once the kernel hands it out again. The kernel
 * hands pids out in order, wrapping at pid_max, and tells the last one handed
 * out (/proc/sys/kernel/ns_last_pid). Read before a listing, that cursor
 * bounds what the next listing can show that is not already in the table: a
 * pid missing from the table (new, or forked while the last listing ran), or
 * one handed out since that cursor read (cyclically between the two cursor
 * reads: perhaps reused). Any other pid is the process the table holds. The
 * table is not trusted (every pid is read again, as findTaskProcs does) when
 * it is older than MAX_AGE_MS, when the fork counter of /proc/stat moved so
 * far that the cursor could have gone round, or when /proc is not this
 * process's pid namespace.
 *
 * What the table does not see, by design: a process that neither forked nor
 * was forked since its environ was read but gained a marker later (an exec
 * with the marker added, a write to its own environ). Descendants of a task
 * inherit the marker when they are forked, and are read as new pids; the
 * agent's exec sessions are spawned by this thread, which returns only once
 * the child has exec'd; and an environ read while its process was younger
 * than SETTLE_TICKS (perhaps a launcher's child between fork and exec) is
 * not kept. A task that wants to hide can clear its environment and call
 * setsid anyway, table or not: the marker finds daemons, it does not contain
 * an attacker (that is the oci executor's cgroup).
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { errnoCode } from '../errors.js';
import { platform } from '../platform.js';
import { readMarkers, readProcFile, readStatFields, uptimeSeconds, type ProcScope, type StatFields, type TaskProcs } from './plain-procs.js';
import { listPids } from './proc.js';

/** A table older than this is read again in full (the pid cursor could have gone round meanwhile). */
export const MAX_AGE_MS = 1000;
/** pids below this are not handed out again after the cursor wraps (the kernel's RESERVED_PIDS). */
const RESERVED_PIDS = 300;

/** What /proc is read through (a fake in unit tests). */
export interface ProcSource {
  listPids(): number[];
  stat(pid: number): StatFields | undefined;
  /** The process's markers; undefined when its environ cannot be read. */
  markers(pid: number): string[] | undefined;
  /** The last pid handed out (ns_last_pid); undefined when unknown, or /proc is not this pid namespace. */
  lastPid(): number | undefined;
  /** Processes forked since boot (/proc/stat `processes`). */
  forks(): number | undefined;
  pidMax: number;
  /** Clock ticks since boot, the unit of start times. */
  nowTicks(): number;
  clockTicks: number;
  /** No process (zombies included) is in process group `pgid`. */
  groupEmpty(pgid: number): boolean;
  /** Milliseconds, monotonic. */
  now(): number;
}

interface Entry {
  startTime: number;
  pgrp: number;
  session: number;
  /** TEND_TASK_ID values of its environ; undefined until read (and while it must be read again). */
  markers?: string[];
}

/**
 * Whether `pid` may have been handed out after the cursor read `from` and
 * before the cursor read `to` (pids go out in increasing order, wrapping).
 */
export function handedOutBetween(pid: number, from: number, to: number): boolean {
  if (from === to) return false;
  return from < to ? pid > from && pid <= to : pid > from || pid <= to;
}

/** How many pids were read at the last refresh, and whether the table was trusted. */
export interface RefreshStats {
  listed: number;
  read: number;
  trusted: boolean;
}

/** The processes read so far (see the file comment). */
export class ProcTable {
  readonly #src: ProcSource;
  readonly #self: number;
  #entries = new Map<number, Entry>();
  /** The cursor read before the last listing; undefined: nothing to vouch for. */
  #cursor: number | undefined;
  #forks = 0;
  #at = -Infinity;

  constructor(src: ProcSource, self = process.pid) {
    this.#src = src;
    this.#self = self;
  }

  /** List /proc; read what the table cannot vouch for. */
  refresh(): RefreshStats {
    const src = this.#src;
    const before = src.lastPid();
    const forks = src.forks();
    const now = src.now();
    const pids = src.listPids();
    const after = src.lastPid();
    const prev = this.#entries;
    const cursor = this.#cursor;
    const trusted =
      cursor !== undefined &&
      after !== undefined &&
      forks !== undefined &&
      now - this.#at <= MAX_AGE_MS &&
      // The cursor moves at least one pid per fork, and skips at most the pids in use: short of a lap.
      2 * Math.max(0, forks - this.#forks) + prev.size + pids.length + RESERVED_PIDS < src.pidMax;
    const next = new Map<number, Entry>();
    let read = 0;
    for (const pid of pids) {
      if (pid === this.#self) continue;
      const known = prev.get(pid);
      if (known && trusted && !handedOutBetween(pid, cursor, after)) {
        next.set(pid, known);
        continue;
      }
      read++;
      const st = src.stat(pid);
      if (!st) continue;
      const same = known?.startTime === st.startTime;
      next.set(pid, { startTime: st.startTime, pgrp: st.pgrp, session: st.session, ...(same && known.markers ? { markers: known.markers } : {}) });
    }
    this.#entries = next;
    this.#cursor = before;
    this.#forks = forks ?? 0;
    this.#at = now;
    return { listed: pids.length, read, trusted };
  }

  get entries(): ReadonlyMap<number, Entry> {
    return this.#entries;
  }

  /** The markers of a process in the table, read on first use and kept once it has settled. */
  markersOf(pid: number): string[] {
    const e = this.#entries.get(pid);
    if (!e) return [];
    if (e.markers) return e.markers;
    const m = this.#src.markers(pid);
    if (m && this.#src.nowTicks() - e.startTime >= settleTicks(this.#src.clockTicks)) e.markers = m;
    return m ?? [];
  }

  /** A fresh stat read also brings the table up to date (an unknown pid is not added: it was not listed). */
  restat(pid: number): StatFields | undefined {
    const st = this.#src.stat(pid);
    const e = this.#entries.get(pid);
    if (e && st) {
      if (st.startTime === e.startTime) {
        e.pgrp = st.pgrp;
        e.session = st.session;
      } else {
        this.#entries.set(pid, { startTime: st.startTime, pgrp: st.pgrp, session: st.session });
      }
    }
    return st;
  }
}

/** An environ read younger than this (a child between fork and exec) is not kept. */
function settleTicks(hz: number): number {
  return Math.ceil(hz / 5);
}

const isLive = (st: StatFields | undefined): st is StatFields => !!st && st.state !== 'Z' && st.state !== 'X';

/** Counters, for tests and benches. */
export interface SweeperCounters {
  sweeps: number;
  finds: number;
  listed: number;
  read: number;
}

/** One table, one sweep at a time for every find asked for meanwhile. */
export class ProcSweeper {
  readonly #src: ProcSource;
  readonly #table: ProcTable;
  readonly #self: number;
  /** Answers waiting for the next sweep; given an error, they fail with it. */
  #pending: ((err?: unknown) => void)[] = [];
  #scheduled = false;
  readonly counters: SweeperCounters = { sweeps: 0, finds: 0, listed: 0, read: 0 };

  constructor(src: ProcSource = procfs(), self = process.pid) {
    this.#src = src;
    this.#self = self;
    this.#table = new ProcTable(src, self);
  }

  /** findTaskProcs, from the next sweep. */
  find(scope: ProcScope): Promise<TaskProcs> {
    return this.#ask(() => this.#answer(scope));
  }

  /** findTaskProcs for each scope, from the next sweep. */
  findMany(scopes: readonly ProcScope[]): Promise<Map<string, TaskProcs>> {
    return this.#ask(() => new Map(scopes.map((s) => [s.id, this.#answer(s)])));
  }

  /** findMarked (every live process carrying one of `ids`, whatever its age), from the next sweep. */
  findMarked(ids: ReadonlySet<string>): Promise<Map<string, number[]>> {
    return this.#ask(() => {
      const out = new Map<string, number[]>();
      if (!ids.size) return out;
      for (const pid of this.#table.entries.keys()) {
        if (!this.#table.markersOf(pid).some((id) => ids.has(id))) continue;
        if (!isLive(this.#table.restat(pid))) continue;
        for (const id of new Set(this.#src.markers(pid) ?? [])) if (ids.has(id)) out.set(id, [...(out.get(id) ?? []), pid]);
      }
      return out;
    });
  }

  #ask<T>(answer: () => T): Promise<T> {
    this.counters.finds++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.push((failed) => {
        if (failed !== undefined) return reject(failed);
        try {
          resolve(answer());
        } catch (err) {
          reject(err);
        }
      });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#sweep());
      }
    });
  }

  #sweep(): void {
    this.#scheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    this.counters.sweeps++;
    try {
      const r = this.#table.refresh();
      this.counters.listed += r.listed;
      this.counters.read += r.read;
    } catch (err) {
      // /proc cannot be listed: every find of the batch fails, as findTaskProcs would.
      for (const answer of batch) answer(err);
      return;
    }
    for (const answer of batch) answer();
  }

  /** findTaskProcs' answer, from the candidates (see the file comment). */
  #answer(scope: ProcScope): TaskProcs {
    const table = this.#table;
    const wrapper = table.restat(scope.wrapperPid);
    const wrapperAlive = isLive(wrapper) && wrapper.startTime === scope.wrapperStartTime;
    const isYoung = (startTime: number) => scope.wrapperStartTime < 0 || startTime >= scope.wrapperStartTime;
    const candidates = new Set<number>();
    for (const [pid, e] of table.entries) {
      if (pid === scope.wrapperPid || pid === this.#self) continue;
      if (isYoung(e.startTime) && table.markersOf(pid).includes(scope.id)) candidates.add(pid);
    }
    if (!this.#src.groupEmpty(scope.pgid)) {
      // The wrapper (even a zombie) holds its pid: the group is still the one its setsid made.
      const session = scope.pgid === scope.wrapperPid && scope.wrapperStartTime >= 0 && wrapper?.startTime === scope.wrapperStartTime;
      for (const [pid, e] of table.entries) {
        if (pid === scope.wrapperPid || pid === this.#self) continue;
        if (!session || e.session === scope.pgid || e.pgrp === scope.pgid) candidates.add(pid);
      }
    }
    const marked: number[] = [];
    const members: number[] = [];
    let groupProven = wrapperAlive;
    for (const pid of candidates) {
      const st = table.restat(pid);
      if (!isLive(st)) continue;
      const inGroup = st.pgrp === scope.pgid;
      // Read afresh whether it carries the marker, where findTaskProcs would: a young process that
      // is in the group or carried the marker (one that did not, and is not in the group, counts for nothing).
      const mayCarry = isYoung(st.startTime) && (inGroup || table.markersOf(pid).includes(scope.id));
      if (mayCarry && (this.#src.markers(pid) ?? []).includes(scope.id)) {
        marked.push(pid);
        if (inGroup) groupProven = true;
      } else if (inGroup) {
        members.push(pid);
      }
    }
    return { pids: groupProven ? [...marked, ...members] : marked, wrapperAlive };
  }
}

/** The real /proc. */
export function procfs(): ProcSource {
  const hz = platform().clockTicks;
  // /proc must be this process's pid namespace for the cursor to describe what it lists.
  let sameNs = false;
  try {
    sameNs = readlinkSync('/proc/self') === String(process.pid);
  } catch {
    /* no /proc: every read fails and finds nothing */
  }
  let pidMax = 32768;
  try {
    pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim()) || pidMax;
  } catch {
    /* the kernel's smallest default */
  }
  let bootTicks = 0;
  const perf0 = performance.now();
  try {
    bootTicks = uptimeSeconds() * hz;
  } catch {
    /* ages unknown: nothing settles, every environ is read again */
    bootTicks = -Infinity;
  }
  const readNumberAfter = (file: string, label: string): number | undefined => {
    const raw = readProcFile(file);
    if (!raw) return undefined;
    const at = label ? raw.indexOf(label) : 0;
    if (at < 0) return undefined;
    let n = 0;
    let digits = 0;
    for (let i = at + label.length; i < raw.length && raw[i] >= 48 && raw[i] <= 57; i++, digits++) n = n * 10 + raw[i] - 48;
    return digits ? n : undefined;
  };
  return {
    listPids,
    stat: readStatFields,
    markers: readMarkers,
    lastPid: () => (sameNs ? readNumberAfter('/proc/sys/kernel/ns_last_pid', '') : undefined),
    forks: () => readNumberAfter('/proc/stat', '\nprocesses '),
    pidMax,
    nowTicks: () => bootTicks + ((performance.now() - perf0) / 1000) * hz,
    clockTicks: hz,
    groupEmpty: (pgid) => {
      if (!Number.isInteger(pgid) || pgid <= 1) return false;
      try {
        process.kill(-pgid, 0);
        return false;
      } catch (err) {
        return errnoCode(err) === 'ESRCH';
      }
    },
    now: () => performance.now(),
  };
}
