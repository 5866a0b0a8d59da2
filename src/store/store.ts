/**
 * The state store contract: the agent's record of what it runs (the actual
 * set). One JSON document `<dataDir>/tend.json`, written atomically (tmp +
 * rename); many updates within one tick are coalesced into a single write.
 *
 * A task's handle is persisted (`flush()` resolved) before the task is
 * reported started, so an agent that dies at any moment can find its tasks
 * again. A missing store starts empty; a corrupt one is moved aside
 * (`tend.json.corrupt-<time>`), reported, and the agent rebuilds from what
 * runs — never a crash loop. The node id is also kept in `<dataDir>/node-id`
 * (written once), so a store lost or damaged keeps it, and with it every
 * allocation id and alloc dir.
 */
import type { ExitResult, TaskHandle } from '../executor/executor.js';
import type { EventQuery, TaskEvent, TaskState } from '../api/api.js';

/** Bump when the document shape changes incompatibly. */
export const STORE_SCHEMA_VERSION = 1;
/** Events kept per task record. */
export const TASK_EVENT_LIMIT = 25;
/** Events kept in the node-wide ring. */
export const NODE_EVENT_LIMIT = 1000;

/**
 * `SpecHashes.restart` of a record rebuilt without the spec it was launched from: it matches no
 * desired spec, so the reconcile loop restarts the task if it is still desired and stops it if not.
 */
export const UNKNOWN_SPEC = 'unknown';

/** Spec hashes of one task instance, split by what a change forces. */
export interface SpecHashes {
  /** Fields whose change needs a new process (driver, command, args, env, user, artifacts, templates, …). */
  restart: string;
  /** Resources: applied in place (cpu, memory, memory_max, cores, pids_limit). */
  resources: string;
  /** kill_signal, kill_timeout and the restart policy: stored only, no restart. */
  policy: string;
  /** Per-field hashes (`args`, `env.FOO`, `resources.memory`, …), to name what changed. */
  fields: Record<string, string>;
}

/** Restart tracker state (Nomad's: count of restarts within the current interval). */
export interface RestartWindow {
  /** Epoch ms the current interval began. */
  startedAt: number;
  count: number;
}

export interface TaskRecord {
  /** `job/group[index]/task`. */
  id: string;
  job: string;
  group: string;
  index: number;
  task: string;
  allocId: string;
  /** Executor id (`<allocId>-<task>`). */
  execId: string;
  driver: string;
  file: string;
  hashes: SpecHashes;
  resources: { cpu: number; memoryMB: number; memoryMaxMB?: number; cores?: number[] };
  killSignal: string;
  killTimeoutMs: number;
  state: TaskState;
  /** Present while a process exists (or may exist) for the task. */
  handle?: TaskHandle;
  startedAt?: string;
  /** Restarts since the record was created (policy and `tendctl restart`). */
  restarts: number;
  window?: RestartWindow;
  lastExit?: ExitResult;
  nextRestartAt?: string;
  /** The current error (launch failure, driver unavailable, …). */
  error?: string;
  /** Recent events, oldest first, at most TASK_EVENT_LIMIT. */
  events: TaskEvent[];
}

export interface StoreDocument {
  version: number;
  /** Stable node id, made on first start. */
  nodeId: string;
  /** Last event seq handed out. */
  seq: number;
  tasks: Record<string, TaskRecord>;
  /** Node-wide ring, oldest first, at most NODE_EVENT_LIMIT. */
  events: TaskEvent[];
}

export interface StoreLoadResult {
  /** 'loaded', 'missing' (fresh start, or the file was lost) or 'corrupt' (moved aside, started empty). */
  outcome: 'loaded' | 'missing' | 'corrupt';
  /** Where the node id came from: the store, the `node-id` file (store lost or damaged), or made now. */
  nodeId: 'store' | 'file' | 'new';
  /** Where the bad file went, for 'corrupt'. */
  movedTo?: string;
  /** Why it was rejected, for 'corrupt'. */
  reason?: string;
}

export type NewEvent = Omit<TaskEvent, 'seq' | 'time'> & { time?: string };

export interface Store {
  /** Path of the document. */
  readonly path: string;
  readonly nodeId: string;
  load(): Promise<StoreLoadResult>;
  get(id: string): TaskRecord | undefined;
  all(): TaskRecord[];
  /** Insert or replace a record (schedules a write). */
  put(record: TaskRecord): void;
  /** Mutate a record in place (schedules a write); returns it, or undefined when absent. */
  update(id: string, fn: (r: TaskRecord) => void): TaskRecord | undefined;
  delete(id: string): void;
  /** Append an event to the node ring and, when `task` names a record, to that record. */
  addEvent(e: NewEvent): TaskEvent;
  events(q?: EventQuery): TaskEvent[];
  /** Live events; returns an unsubscribe function. */
  subscribe(listener: (e: TaskEvent) => void): () => void;
  /** Resolves once every change made so far is on disk. */
  flush(): Promise<void>;
  /** Flush and stop scheduling writes. */
  close(): Promise<void>;
}
