/**
 * Small readers of /proc, shared by both executors: a process is proven to be
 * a task by its pid *and* its start time, so a reused pid is never mistaken
 * for a task.
 */
import { closeSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { errnoCode } from '../errors.js';

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** Clock ticks since boot. */
  startTime: number;
}

/** Parse the text of /proc/<pid>/stat (comm may hold spaces and parentheses). */
export function parseStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const rest = text.slice(close + 2).split(' ');
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: rest[0],
    ppid: Number(rest[1]),
    pgrp: Number(rest[2]),
    session: Number(rest[3]),
    startTime: Number(rest[19]),
  };
}

/** A stat line is a few hundred bytes: one buffer serves every read (readFileSync also fstats and allocates). */
const statBuf = Buffer.allocUnsafe(4096);

/** /proc/<pid>/stat, or undefined when the process does not exist. */
export function readStat(pid: number): ProcStat | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(`/proc/${pid}/stat`, 'r');
    let len = 0;
    for (let n; len < statBuf.length && (n = readSync(fd, statBuf, len, statBuf.length - len, null)) > 0; ) len += n;
    return parseStat(statBuf.toString('utf8', 0, len));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ESRCH') return undefined;
    throw err;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** True when `pid` runs, is not a zombie, and (when given) started at `startTime`. */
export function isAlive(pid: number, startTime?: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const st = readStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return startTime === undefined || st.startTime === startTime;
}

/** Every pid in /proc. */
export function listPids(): number[] {
  return readdirSync('/proc')
    .filter((n) => n.charCodeAt(0) >= 48 && n.charCodeAt(0) <= 57)
    .map(Number);
}

/** The environment of a process (empty when unreadable). */
export function readEnviron(pid: number): Record<string, string> {
  try {
    const out: Record<string, string> = {};
    for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const i = kv.indexOf('=');
      if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
    }
    return out;
  } catch {
    return {};
  }
}

/** Map a signal name ("SIGINT", "INT", "sigterm") or number to the canonical "SIGINT" form; undefined when unknown. */
export function normalizeSignal(sig: string | number): NodeJS.Signals | undefined {
  const table = signalTable();
  if (typeof sig === 'number') return table.byNumber.get(sig);
  const up = sig.trim().toUpperCase();
  if (/^\d+$/.test(up)) return table.byNumber.get(Number(up));
  const name = up.startsWith('SIG') ? up : `SIG${up}`;
  return table.byName.has(name) ? (name as NodeJS.Signals) : undefined;
}

export function signalNumber(sig: NodeJS.Signals): number {
  return signalTable().byName.get(sig) ?? 15;
}

let table: { byName: Map<string, number>; byNumber: Map<number, NodeJS.Signals> } | undefined;
function signalTable() {
  if (!table) {
    const byName = new Map<string, number>();
    const byNumber = new Map<number, NodeJS.Signals>();
    // os.constants.signals lists the platform's signals.
    for (const [name, num] of Object.entries(osSignals())) {
      byName.set(name, num);
      if (!byNumber.has(num)) byNumber.set(num, name as NodeJS.Signals);
    }
    table = { byName, byNumber };
  }
  return table;
}

function osSignals(): Record<string, number> {
  return osConstants.signals as unknown as Record<string, number>;
}

/** The direct children of a process. */
function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Every descendant of a process, deepest first (script → sh/nsenter → the command and its children). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  for (const c of children(pid)) out.push(...descendants(c), c);
  return out;
}
