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
 *     environ, indexed by marker, group and session. A sweep reads only what
 *     the table cannot vouch for (below): during a burst of stops, a probe of
 *     the few pids handed out since the last sweep, and a listing of /proc
 *     now and then, not two reads per process;
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
 * What the table can vouch for. A process keeps its pid and start time for
 * life, and a pid names another process only once the kernel hands it out
 * again. The kernel hands pids out in order, wrapping at pid_max, and tells
 * the last one handed out (/proc/sys/kernel/ns_last_pid): the pids handed
 * out between two reads of that cursor are the pids between them. So a
 * refresh reads the cursor first, and what /proc can show that the table
 * does not hold is (a) a pid handed out since the last refresh's cursor
 * read, or (b) one handed out before it whose process did not show in /proc
 * yet (a clone is visible a moment after its pid is taken; such pids, `unborn`,
 * are looked for again until they show or UNBORN_MS passes). A listing reads
 * the pids not in the table and those of (a); a probe, between listings,
 * reads (a) and (b) only. Every other pid is the process the table holds.
 * The table is read in full (as findTaskProcs does) when it was not
 * refreshed for MAX_AGE_MS, when the fork counter of /proc/stat moved so far
 * that the cursor could have gone round, without a cursor (/proc of another
 * pid namespace), and probes wait, after such a listing, until a listing
 * UNBORN_MS later has shown what was being forked while it ran. A listing
 * comes at least every LIST_EVERY_MS (and when there is more to probe than
 * PROBE_MAX pids): it sees deaths, which probes do not.
 *
 * What the table does not see, by design: a process that neither forked nor
 * was forked since its environ was read but gained a marker later (an exec
 * with the marker added, a write to its own environ). Descendants of a task
 * inherit the marker when they are forked, and are read as new pids; the
 * agent's exec sessions are spawned by this thread, which returns only once
 * the child has exec'd; and an environ read while its process was younger
 * than settleTicks (perhaps a launcher's child between fork and exec) is not
 * kept. Nor a clone that stays invisible longer than UNBORN_MS after its pid
 * was taken. A task that wants to hide can clear its environment and call
 * setsid anyway, table or not: the marker finds daemons, it does not contain
 * an attacker (that is the oci executor's cgroup).
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { errnoCode } from '../errors.js';
import { platform } from '../platform.js';
import { readMarkers, readProcFile, readStatFields, uptimeSeconds, type ProcScope, type StatFields, type TaskProcs } from './plain-procs.js';
import { listPids } from './proc.js';

/** A table not refreshed for this long is read again in full (the pid cursor could have gone round meanwhile). */
export const MAX_AGE_MS = 1000;
/** Between listings, refreshes probe the new pids only; a listing at least this often (it also sees deaths). */
export const LIST_EVERY_MS = 1000;
/** A pid handed out is looked for this long before it counts as a process that came and went (a clone shows in /proc a moment after its pid is taken). */
export const UNBORN_MS = 1000;
/** More pids handed out than this since the last refresh: a listing, not a probe of each. */
const PROBE_MAX = 512;
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
  /** Its environ could not be read (another user's process, to an agent not root). */
  unreadable?: boolean;
  /** Markers read too young to be kept, and the refresh they serve (every answer of one sweep). */
  young?: { markers: string[]; refresh: number };
}

/**
 * Whether `pid` may have been handed out after the cursor read `from` and
 * before the cursor read `to` (pids go out in increasing order, wrapping).
 */
export function handedOutBetween(pid: number, from: number, to: number): boolean {
  if (from === to) return false;
  return from < to ? pid > from && pid <= to : pid > from || pid <= to;
}

/** The pids `handedOutBetween(·, from, to)`, or undefined when there are more than `max`. */
function pidsBetween(from: number, to: number, pidMax: number, max: number): number[] | undefined {
  const out: number[] = [];
  for (let pid = from; pid !== to; ) {
    pid = pid + 1 >= pidMax ? RESERVED_PIDS : pid + 1;
    if (out.length === max) return undefined;
    out.push(pid);
  }
  return out;
}

/** What the last refresh did. */
export interface RefreshStats {
  kind: 'listing' | 'probe';
  /** pids listed (a listing) or probed (a probe). */
  looked: number;
  /** stat reads. */
  read: number;
  /** Whether it relied on the table (else every pid was read). */
  trusted: boolean;
}

function addTo<K>(index: Map<K, Set<number>>, key: K, pid: number): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(pid);
}

function removeFrom<K>(index: Map<K, Set<number>>, key: K, pid: number): void {
  const set = index.get(key);
  if (!set) return;
  set.delete(pid);
  if (!set.size) index.delete(key);
}

/**
 * The processes read so far (see the file comment), indexed by marker, group
 * and session. A refresh is a listing of /proc, or between listings a probe
 * of the pids handed out since the last refresh and of those handed out
 * recently that did not show yet (`unborn`): what a listing would add.
 */
export class ProcTable {
  readonly #src: ProcSource;
  readonly #self: number;
  readonly #entries = new Map<number, Entry>();
  readonly #byMarker = new Map<string, Set<number>>();
  /** Entries whose markers are not kept (not read yet, read too young, unreadable). */
  readonly #unread = new Set<number>();
  readonly #bySession = new Map<number, Set<number>>();
  readonly #byPgrp = new Map<number, Set<number>>();
  /** pids handed out that did not show in /proc yet, and when that was first seen. */
  readonly #unborn = new Map<number, number>();
  /** The cursor read at the start of the last refresh; undefined: nothing to vouch for. */
  #cursor: number | undefined;
  #forks = 0;
  /** When the last refresh (listing or probe) started. */
  #at = -Infinity;
  #listedAt = -Infinity;
  /** Probes only once a listing this late has shown what was unborn when the table was last read in full. */
  #probeAfter = Infinity;
  /** Refreshes so far: what one read serves (see Entry.young). */
  #refreshes = 0;

  constructor(src: ProcSource, self = process.pid) {
    this.#src = src;
    this.#self = self;
  }

  /** Bring the table up to date with /proc: a probe when it can vouch for the rest, else a listing. */
  refresh(): RefreshStats {
    this.#refreshes++;
    const src = this.#src;
    const before = src.lastPid();
    const forks = src.forks();
    const now = src.now();
    const cursor = this.#cursor;
    const trusted =
      cursor !== undefined &&
      before !== undefined &&
      forks !== undefined &&
      now - this.#at <= MAX_AGE_MS &&
      // The cursor moves at least one pid per fork, and skips at most the pids in use: short of a lap.
      2 * Math.max(0, forks - this.#forks) + 2 * this.#entries.size + RESERVED_PIDS < src.pidMax;
    if (trusted && now - this.#listedAt < LIST_EVERY_MS && this.#listedAt >= this.#probeAfter) {
      const fresh = pidsBetween(cursor, before, src.pidMax, PROBE_MAX);
      // Many pids to look at (a busy host's short-lived processes stay unborn a while): a listing costs less.
      if (fresh && fresh.length + this.#unborn.size <= PROBE_MAX) return this.#probe(fresh, before, forks, now);
    }
    return this.#list(trusted, before, forks, now);
  }

  #list(trusted: boolean, before: number | undefined, forks: number | undefined, now: number): RefreshStats {
    const src = this.#src;
    const cursor = this.#cursor;
    const pids = src.listPids();
    const after = src.lastPid();
    const visible = new Set(pids);
    for (const pid of [...this.#entries.keys()]) if (!visible.has(pid)) this.#drop(pid);
    let read = 0;
    for (const pid of pids) {
      if (pid === this.#self) continue;
      this.#unborn.delete(pid);
      const known = this.#entries.get(pid);
      if (known && trusted && after !== undefined && !handedOutBetween(pid, cursor!, after)) continue;
      read++;
      const st = src.stat(pid);
      if (st) this.#upsert(pid, st);
      else this.#drop(pid);
    }
    // What was handed out and does not show yet is looked for by the next refreshes.
    const handedOut = trusted && after !== undefined ? pidsBetween(cursor!, after, src.pidMax, 4 * PROBE_MAX) : undefined;
    if (handedOut) {
      for (const pid of handedOut) if (!visible.has(pid) && !this.#unborn.has(pid)) this.#unborn.set(pid, now);
    } else {
      // Not known which: probes wait until a listing has shown whatever was being forked now.
      this.#unborn.clear();
      this.#probeAfter = now + UNBORN_MS;
    }
    this.#expireUnborn(now);
    this.#cursor = before;
    this.#forks = forks ?? 0;
    this.#at = now;
    this.#listedAt = now;
    return { kind: 'listing', looked: pids.length, read, trusted };
  }

  #probe(fresh: number[], before: number, forks: number, now: number): RefreshStats {
    const src = this.#src;
    for (const pid of fresh) if (!this.#unborn.has(pid)) this.#unborn.set(pid, now);
    let read = 0;
    for (const pid of [...this.#unborn.keys()]) {
      if (pid === this.#self) continue;
      read++;
      const st = src.stat(pid);
      if (st) {
        this.#unborn.delete(pid);
        this.#upsert(pid, st);
      } else {
        // Handed out again: whatever the table held there is gone.
        this.#drop(pid);
      }
    }
    this.#expireUnborn(now);
    this.#cursor = before;
    this.#forks = forks;
    this.#at = now;
    return { kind: 'probe', looked: read, read, trusted: true };
  }

  #expireUnborn(now: number): void {
    for (const [pid, since] of this.#unborn) if (now - since > UNBORN_MS) this.#unborn.delete(pid);
  }

  #upsert(pid: number, st: StatFields): void {
    const known = this.#entries.get(pid);
    if (known && known.startTime === st.startTime) {
      if (known.pgrp !== st.pgrp) {
        removeFrom(this.#byPgrp, known.pgrp, pid);
        addTo(this.#byPgrp, (known.pgrp = st.pgrp), pid);
      }
      if (known.session !== st.session) {
        removeFrom(this.#bySession, known.session, pid);
        addTo(this.#bySession, (known.session = st.session), pid);
      }
      return;
    }
    this.#drop(pid);
    this.#entries.set(pid, { startTime: st.startTime, pgrp: st.pgrp, session: st.session });
    addTo(this.#byPgrp, st.pgrp, pid);
    addTo(this.#bySession, st.session, pid);
    this.#unread.add(pid);
  }

  #drop(pid: number): void {
    const e = this.#entries.get(pid);
    if (!e) return;
    this.#entries.delete(pid);
    removeFrom(this.#byPgrp, e.pgrp, pid);
    removeFrom(this.#bySession, e.session, pid);
    if (e.markers) for (const m of e.markers) removeFrom(this.#byMarker, m, pid);
    this.#unread.delete(pid);
  }

  get entries(): ReadonlyMap<number, Entry> {
    return this.#entries;
  }

  /** The processes whose environ carried `id` (as far as the table knows), with those not read yet. */
  mayCarry(id: string): number[] {
    return [...(this.#byMarker.get(id) ?? []), ...this.#unread];
  }

  /** The processes whose group or session (as last read) is `id`. */
  groupOrSession(id: number): number[] {
    return [...new Set([...(this.#byPgrp.get(id) ?? []), ...(this.#bySession.get(id) ?? [])])];
  }

  /**
   * The markers of a process in the table, read on first use and kept once it has settled. An
   * environ that could not be read is read again only when `needed`.
   */
  markersOf(pid: number, needed = true): string[] {
    const e = this.#entries.get(pid);
    if (!e) return [];
    if (e.markers) return e.markers;
    if (e.unreadable && !needed) return [];
    if (e.young?.refresh === this.#refreshes) return e.young.markers;
    const m = this.#src.markers(pid);
    e.unreadable = !m;
    if (m && this.#src.nowTicks() - e.startTime >= settleTicks(this.#src.clockTicks)) {
      e.markers = m;
      e.young = undefined;
      this.#unread.delete(pid);
      for (const id of m) addTo(this.#byMarker, id, pid);
    } else if (m) {
      e.young = { markers: m, refresh: this.#refreshes };
    }
    return m ?? [];
  }

  /** A fresh stat read also brings the table up to date (an unknown pid is not added: it was not listed). */
  restat(pid: number): StatFields | undefined {
    const st = this.#src.stat(pid);
    if (st && this.#entries.has(pid)) this.#upsert(pid, st);
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
  finds: number;
  sweeps: number;
  /** Sweeps that listed /proc (the others probed the new pids). */
  listings: number;
  /** pids listed or probed, and stat reads, over all sweeps. */
  looked: number;
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
  readonly counters: SweeperCounters = { finds: 0, sweeps: 0, listings: 0, looked: 0, read: 0 };

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
      for (const pid of [...this.#table.entries.keys()]) {
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
      if (r.kind === 'listing') this.counters.listings++;
      this.counters.looked += r.looked;
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
    for (const pid of table.mayCarry(scope.id)) {
      const e = table.entries.get(pid);
      if (!e || pid === scope.wrapperPid || pid === this.#self) continue;
      // Markers are read (once) for older processes too: the table then knows them for good.
      const young = isYoung(e.startTime);
      if (table.markersOf(pid, young).includes(scope.id) && young) candidates.add(pid);
    }
    if (!this.#src.groupEmpty(scope.pgid)) {
      // The wrapper (even a zombie) holds its pid: the group is still the one its setsid made.
      const session = scope.pgid === scope.wrapperPid && scope.wrapperStartTime >= 0 && wrapper?.startTime === scope.wrapperStartTime;
      for (const pid of session ? table.groupOrSession(scope.pgid) : [...table.entries.keys()]) {
        if (pid !== scope.wrapperPid && pid !== this.#self) candidates.add(pid);
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
