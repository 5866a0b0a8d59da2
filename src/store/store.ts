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
import type { PortAssignment } from '../ports/ports.js';
import type { Job } from '../jobspec/model.js';

/** Lifecycle of one task instance. */
export type TaskState =
  | 'pending' // desired, not started yet (queued, or waiting for a driver)
  | 'starting'
  | 'running'
  | 'restarting' // exited; a restart is scheduled at nextRestartAt
  | 'complete' // batch task exited 0; stays until its spec changes
  | 'failed' // restart policy exhausted (mode fail) or launch error; stays until spec changes or `tendctl restart`
  | 'stopping'
  | 'dead'; // stopped on purpose (file removed, count lowered)

export interface TaskEvent {
  /** Monotonic sequence number across the node (for `events -f` resumption). */
  seq: number;
  time: string; // ISO
  /** Task instance id `job/group[index]/task`, or undefined for node/file events. */
  task?: string;
  job?: string;
  file?: string;
  type: TaskEventType;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * Every event type the agent records, as Nomad's `structs.Task*` constants. The strings are what
 * `tendctl events` prints and `-json` returns; a new kind of event gets a name here first.
 */
export const TASK_EVENT = {
  // A task's lifecycle (Nomad's names where Nomad has one).
  Received: 'Received',
  TaskSetup: 'Task Setup',
  DownloadingArtifacts: 'Downloading Artifacts',
  FailedArtifactDownload: 'Failed Artifact Download',
  Started: 'Started',
  Terminated: 'Terminated',
  Restarting: 'Restarting',
  NotRestarting: 'Not Restarting',
  Complete: 'Complete',
  Killing: 'Killing',
  Killed: 'Killed',
  Updated: 'Updated',
  DriverFailure: 'Driver Failure',
  SetupFailure: 'Setup Failure',
  OOMKilled: 'OOM Killed',
  MonitorLost: 'Monitor Lost',
  Signaled: 'Signaled',
  RestartSignaled: 'Restart Signaled',
  Recovered: 'Recovered',
  Template: 'Template',
  // Services and checks (src/services/): a check's status changed, a service could not register.
  HealthCheck: 'Health Check',
  ServiceRegistration: 'Service Registration',
  // Periodic jobs (src/reconcile/periodic.ts).
  PeriodicLaunched: 'Periodic Launched',
  PeriodicSkipped: 'Periodic Skipped',
  PeriodicMissed: 'Periodic Missed',
  // Ports (src/ports/): an allocation that cannot get its ports, and why.
  PortConflict: 'Port Conflict',
  // Parameterized jobs (src/reconcile/dispatch.ts).
  JobDispatched: 'Job Dispatched',
  // Rollouts (src/reconcile/rollouts.ts): a deployment's status, and the health of the allocations it placed.
  Deployment: 'Deployment',
  AllocHealthy: 'Alloc Healthy',
  AllocUnhealthy: 'Alloc Unhealthy',
  // Files and the node.
  FileError: 'File Error',
  FileLoaded: 'File Loaded',
  Conflict: 'Conflict',
  /** The jobs dir's Git revision changed (a GitOps sync swapped it, a pull moved HEAD). */
  JobsRevision: 'Jobs Revision',
  StoreRebuilt: 'Store Rebuilt',
  DiskFull: 'Disk Full',
  DiskSpaceRecovered: 'Disk Space Recovered',
  LogMonitorDown: 'Log Monitor Down',
  LogMonitorBack: 'Log Monitor Back',
  LogsDropped: 'Logs Dropped',
  LogsResumed: 'Logs Resumed',
} as const;

export type TaskEventType = (typeof TASK_EVENT)[keyof typeof TASK_EVENT];

export interface EventQuery {
  /** Only events with seq > after. */
  after?: number;
  task?: string;
  job?: string;
  limit?: number;
}

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
  /**
   * The same fields' values (`args: ["3600"]`), so that `tendctl plan` can show old → new. Every
   * field but `templates` (template data is never kept here). Absent in records written before
   * values were kept and in records rebuilt from a task's notes (which do not carry them).
   */
  values?: Record<string, unknown>;
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

/** How a child job ended: every task of it complete, failed or dead, with their exits. */
export interface ChildFinish {
  at: string;
  status: 'complete' | 'failed' | 'dead';
  exits: { task: string; state: string; code: number | null; signal?: string }[];
}

/** One child job of a periodic or parameterized job, as its parent's record keeps it (src/reconcile/child-jobs.ts). */
export interface ChildRun {
  /** `<parent>/periodic-<unix seconds>` or `<parent>/dispatch-<unix seconds>-<8 hex>`. */
  id: string;
  /** ISO time of the launch (the dispatch). */
  launchedAt: string;
  /** Set once every task of the child has ended (complete, failed or dead): its tasks' records are then gone. */
  finished?: ChildFinish;
}

/** One child run of a periodic job. */
export interface PeriodicChild extends ChildRun {
  /** `force`: launched by `tendctl job periodic force`, not by the schedule. */
  forced?: boolean;
}

/** One dispatched child of a parameterized job: what the dispatch gave it, kept so that an agent restart runs it the same. */
export interface DispatchChild extends ChildRun {
  /** The dispatch's meta (merged over the job's meta in the child). */
  meta: Record<string, string>;
  /** The payload, base64; absent when none was given, and dropped once the child has finished. */
  payload?: string;
  /** The payload's size in bytes (kept after the payload itself is dropped). */
  payloadBytes?: number;
}

/** What the agent keeps about one parameterized job (written by the dispatch launcher only). */
export interface DispatchRecord {
  job: string;
  /** Children, oldest first: those not finished and the last few finished. */
  children: DispatchChild[];
}

/** What the agent keeps about one periodic job (written by the periodic launcher only). */
export interface PeriodicRecord {
  job: string;
  /** Children, oldest first: those still running and the last few finished (Nomad's job GC, locally). */
  children: PeriodicChild[];
  /** ISO time of the last scheduled launch time that came while the agent ran (launched or skipped). */
  lastDueAt?: string;
  /** ISO time this agent began watching the schedule (its start, or the job's first load). */
  watchingSince?: string;
  /** Launches due while the agent was down, not caught up (as Nomad): how many, and between when. */
  missed?: { count: number; from: string; to: string };
  /** The last launch skipped because a child still ran (prohibit_overlap). */
  lastSkipped?: { at: string; running: string };
}

/** One allocation a deployment placed (replaced, started, or found on its version), and its health once decided. */
export interface DeploymentAlloc {
  /** ISO time it was placed: healthy_deadline runs from here. */
  placedAt: string;
  /** ISO time it turned healthy (min_healthy_time passed). */
  healthyAt?: string;
  /** Why it is unhealthy: the deployment fails. */
  unhealthy?: string;
}

/** A group's part of a deployment (Nomad's DeploymentState). */
export interface DeploymentGroup {
  /** Instances the group should have (its count). */
  desiredTotal: number;
  /** Allocations placed by the deployment, by index. */
  allocs: Record<string, DeploymentAlloc>;
  /** ISO time by which an allocation must turn healthy (progress_deadline); absent with progress_deadline = 0. */
  requireProgressBy?: string;
}

export type DeploymentStatus = 'running' | 'successful' | 'failed' | 'cancelled';

/** One rollout of a version of a job (Nomad's deployment). */
export interface Deployment {
  /** 8 hex characters. */
  id: string;
  /** The version rolled out: a hash of the spec of its groups that needs new processes when it changes. */
  version: string;
  /** The job file's revision (first 12 hex of its content's sha256) the version came from; absent when unknown. */
  fileRevision?: string;
  /** It puts back the last stable version after a failed deployment (auto_revert). */
  rollback?: boolean;
  status: DeploymentStatus;
  /** Nomad's status description ("Deployment is running", "Failed due to unhealthy allocations - rolling back to job version …"). */
  description: string;
  startedAt: string;
  endedAt?: string;
  /** Groups that roll out (max_parallel > 0), by name. */
  groups: Record<string, DeploymentGroup>;
  /** Every allocation was already on its version when it started (an agent start, an edit of another group): no events unless it fails. */
  quiet?: boolean;
  /** No allocation had run when it started (a new job): every one is placed at once, no event per allocation turning healthy. */
  initial?: boolean;
}

/** What the agent keeps about the rollouts of one service job (the rollout controller, src/reconcile/rollouts.ts, is its only writer). */
export interface RolloutRecord {
  job: string;
  /** The latest deployment. */
  deployment?: Deployment;
  /** The last version whose deployment succeeded: what auto_revert puts back (its job is in `versions`). */
  stable?: { version: string; at: string; fileRevision?: string };
  /** While set, the stable version runs instead of the file's failing one, until the file's version changes. */
  reverted?: { version: string; fileRevision?: string; at: string; reason: string };
  /** The versions allocations still run, and the stable one, as the jobs they were: version → job. */
  versions: Record<string, Job>;
}

export interface StoreDocument {
  version: number;
  /** Stable node id, made on first start. */
  nodeId: string;
  /** Last event seq handed out. */
  seq: number;
  /**
   * The generation of `tend.journal` that extends this snapshot (lowdb-store.ts): lines of another
   * generation (left by a crash between a snapshot and the journal's truncation) are not replayed.
   */
  journal?: number;
  tasks: Record<string, TaskRecord>;
  /** Periodic jobs by job id (absent in stores written before periodic jobs). */
  periodic?: Record<string, PeriodicRecord>;
  /** Ports held by allocations, by alloc id (absent in stores written before ports). */
  ports?: Record<string, PortAssignment>;
  /** Parameterized jobs by job id (absent in stores written before dispatch). */
  dispatch?: Record<string, DispatchRecord>;
  /** Rollouts of service jobs by job id (absent in stores written before rollouts). */
  rollouts?: Record<string, RolloutRecord>;
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
  all(): readonly TaskRecord[];
  /** The records of one job (an index: no scan of every record). */
  ofJob(job: string): TaskRecord[];
  /** The records of one allocation (an index). */
  ofAlloc(allocId: string): TaskRecord[];
  /** Insert or replace a record (schedules a write). */
  put(record: TaskRecord): void;
  /** Mutate a record in place (schedules a write); returns it, or undefined when absent. */
  update(id: string, fn: (r: TaskRecord) => void): TaskRecord | undefined;
  delete(id: string): void;
  /** Periodic job records (periodic.ts is their only writer). */
  periodicAll(): PeriodicRecord[];
  getPeriodic(job: string): PeriodicRecord | undefined;
  putPeriodic(record: PeriodicRecord): void;
  deletePeriodic(job: string): void;
  /** Port assignments of allocations (the port book, src/ports/book.ts, is their only writer). */
  portsAll(): PortAssignment[];
  getPorts(allocId: string): PortAssignment | undefined;
  putPorts(a: PortAssignment): void;
  deletePorts(allocId: string): void;
  /** Parameterized job records (dispatch.ts is their only writer). */
  dispatchAll(): DispatchRecord[];
  getDispatch(job: string): DispatchRecord | undefined;
  putDispatch(record: DispatchRecord): void;
  deleteDispatch(job: string): void;
  /** Rollout records of service jobs (rollouts.ts is their only writer). */
  rolloutAll(): RolloutRecord[];
  getRollout(job: string): RolloutRecord | undefined;
  putRollout(record: RolloutRecord): void;
  deleteRollout(job: string): void;
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
