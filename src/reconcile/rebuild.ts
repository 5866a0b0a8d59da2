/**
 * What the agent leaves with each task it launches (`LaunchSpec.notes`, kept by the executor
 * beside the task) and how a record is rebuilt from it when the store lost the task's record:
 * the spec hashes it was launched from, its kill policy, resources and file, the node id, and its
 * allocation's ports (given back to the port book, so a lost store keeps the ports tasks listen on).
 * A task whose notes are missing (launched before notes were kept) or unreadable gets the
 * UNKNOWN_SPEC hash, so the reconcile loop restarts it if still desired and stops it if not.
 */
import type { ListedTask } from '../executor/executor.js';
import type { DesiredInstance } from './reconcile.js';
import { execIdOf, instanceId } from './expand.js';
import { UNKNOWN_SPEC, type SpecHashes, type TaskRecord } from '../store/store.js';
import type { AllocatedPort } from '../ports/ports.js';
import { portSpec } from '../ports/requests.js';

/** Version 1 of the notes. */
export interface TaskNotes {
  v: 1;
  nodeId: string;
  file: string;
  hashes: SpecHashes;
  killSignal: string;
  killTimeoutMs: number;
  resources: TaskRecord['resources'];
  /** The allocation's ports at launch and the request they were given for (absent: none, or launched before ports). */
  ports?: { spec: string; list: AllocatedPort[] };
}

/** Nomad's defaults, for a rebuilt task that neither its notes nor a job file describe. */
const DEFAULT_KILL_SIGNAL = 'SIGINT';
const DEFAULT_KILL_TIMEOUT_MS = 5000;

export function taskNotes(d: DesiredInstance, nodeId: string, cores?: number[], ports?: readonly AllocatedPort[]): TaskNotes {
  const res = d.task.resources;
  return {
    ...(ports?.length ? { ports: { spec: portSpec(d.group), list: ports.map((p) => ({ ...p })) } } : {}),
    v: 1,
    nodeId,
    file: d.file,
    // Without the fields' values: the notes stay small, and env values stay in the store alone.
    hashes: { restart: d.hashes.restart, resources: d.hashes.resources, policy: d.hashes.policy, fields: d.hashes.fields },
    killSignal: d.task.killSignal,
    killTimeoutMs: d.task.killTimeoutMs,
    resources: { cpu: res.cpu, memoryMB: res.memoryMB, ...(res.memoryMaxMB !== undefined ? { memoryMaxMB: res.memoryMaxMB } : {}), ...(cores?.length ? { cores } : {}) },
  };
}

/** The notes when `x` is a well-formed version 1, else undefined. */
export function parseNotes(x: unknown): TaskNotes | undefined {
  const n = x as Partial<TaskNotes> | undefined;
  if (!n || n.v !== 1 || typeof n.nodeId !== 'string' || typeof n.file !== 'string') return undefined;
  const h = n.hashes as Partial<SpecHashes> | undefined;
  if (!h || typeof h.restart !== 'string' || typeof h.resources !== 'string' || typeof h.policy !== 'string' || !h.fields || typeof h.fields !== 'object') return undefined;
  if (typeof n.killSignal !== 'string' || typeof n.killTimeoutMs !== 'number') return undefined;
  const r = n.resources as Partial<TaskRecord['resources']> | undefined;
  if (!r || typeof r.cpu !== 'number' || typeof r.memoryMB !== 'number') return undefined;
  // Ports that do not add up are dropped, not the notes.
  const p = n.ports as Partial<NonNullable<TaskNotes['ports']>> | undefined;
  const okPort = (x: Partial<AllocatedPort>) => typeof x?.label === 'string' && Number.isInteger(x.value) && x.value! > 0 && x.value! < 65536 && typeof x.hostIp === 'string' && typeof x.hostNetwork === 'string' && typeof x.to === 'number';
  if (p !== undefined && !(typeof p.spec === 'string' && Array.isArray(p.list) && p.list.every(okPort))) return { ...(n as TaskNotes), ports: undefined };
  return n as TaskNotes;
}

export function unknownHashes(): SpecHashes {
  return { restart: UNKNOWN_SPEC, resources: UNKNOWN_SPEC, policy: UNKNOWN_SPEC, fields: {} };
}

/**
 * A record for a task the executor knows and the store does not, or undefined when its identity
 * does not add up (its executor id is not the one its identity makes). Not yet running: the
 * caller proves the handle and sets state and handle. `desired` (the job file's instance, when it
 * still describes the task) fills in the kill policy, resources and file the notes lack; never
 * the hashes, which only the notes can vouch for.
 */
export function rebuildRecord(t: ListedTask, desired: DesiredInstance | undefined): { record: TaskRecord; notes?: TaskNotes } | undefined {
  const { job, group, index, task, allocId } = t.identity;
  if (execIdOf(allocId, task) !== t.id) return undefined;
  const notes = parseNotes(t.notes);
  const res = desired?.task.resources;
  const record: TaskRecord = {
    id: instanceId(job, group, index, task),
    job,
    group,
    index,
    task,
    allocId,
    execId: t.id,
    driver: t.driver,
    file: notes?.file ?? desired?.file ?? '',
    hashes: notes?.hashes ?? unknownHashes(),
    resources: notes ? { ...notes.resources } : res ? { cpu: res.cpu, memoryMB: res.memoryMB, memoryMaxMB: res.memoryMaxMB } : { cpu: 0, memoryMB: 0 },
    killSignal: notes?.killSignal ?? desired?.task.killSignal ?? DEFAULT_KILL_SIGNAL,
    killTimeoutMs: notes?.killTimeoutMs ?? desired?.task.killTimeoutMs ?? DEFAULT_KILL_TIMEOUT_MS,
    state: 'pending',
    restarts: 0,
    events: [],
  };
  return { record, ...(notes ? { notes } : {}) };
}
