/**
 * The agent's API contract: what the HTTP server (src/api/server.ts) exposes
 * and what the agent (src/agent/) implements. Shapes here are the JSON the
 * API returns, so `tendctl --json` output is stable.
 */
import type { Diagnostic } from '../jobspec/model.js';
import type { DriverAvailability, ExecOptions, ExecSession, ExitResult, TaskStats } from '../executor/executor.js';
import type { AllocatedPort } from '../ports/ports.js';
export type { AllocatedPort } from '../ports/ports.js';

// Domain types live with their owners; re-exported here because they are part of the API's JSON.
export type { TaskState, TaskEvent, TaskEventType, EventQuery } from '../store/store.js';
export { TASK_EVENT } from '../store/store.js';
export type { FieldChange, FieldEffect, PlanAction, PlanActionKind, PlanDetail } from '../reconcile/reconcile.js';
import type { EventQuery, TaskEvent, TaskState } from '../store/store.js';
import type { JobsRevision } from '../source/source.js';
import type { PlanAction, PlanDetail } from '../reconcile/reconcile.js';
export type { Variable, VariableMetadata, VariableItems, CasOptions } from '../vars/vars.js';
export type { CheckView, CheckState, ServiceInstanceView, ServiceSummaryView } from '../services/services.js';
import type { CheckView, ServiceInstanceView, ServiceSummaryView } from '../services/services.js';
import type { CasOptions, Variable, VariableItems, VariableMetadata } from '../vars/vars.js';

export interface TaskView {
  id: string; // "web/g[0]/t"
  job: string;
  group: string;
  index: number;
  task: string;
  allocId: string;
  driver: string;
  state: TaskState;
  pid?: number;
  startedAt?: string;
  restarts: number;
  nextRestartAt?: string;
  lastExit?: ExitResult;
  /** The current error (launch failure, driver unavailable, …). */
  error?: string;
  /** The task's `lifecycle` block (absent for a main task): status orders and tags tasks by it. */
  lifecycle?: { hook: 'prestart' | 'poststart' | 'poststop'; sidecar: boolean };
  /** `leader = true`. */
  leader?: boolean;
  /** Why a task that is not running waits or stops, from the lifecycle order ("waiting for prestart task "init" to complete"). */
  waiting?: string;
  resources: { cpu: number; memoryMB: number; memoryMaxMB?: number; cores?: number[] };
  /** The allocation's ports (host address and port per label; `to` when mapped), when it has any. */
  ports?: AllocatedPort[];
  /** The checks of the task's services and of its group's (registered while it runs), when it has any. */
  checks?: CheckView[];
  file: string;
  stats?: TaskStats;
  /** Present on the single-task endpoint: recent events, newest last. */
  events?: TaskEvent[];
  /** Present on the single-task endpoint: the task as its job file gives it, in the jobspec's field names and units (`memory`, `interval = "5m"`). */
  spec?: Record<string, unknown>;
  /** Host paths of the task's dirs; `logKey` is the log files' prefix in `logs`. */
  dirs?: { alloc: string; task: string; logs: string; logKey: string };
}

/**
 * A job as a whole: `degraded` when a task of it is between a crash and its restart, `stopping`
 * when its file is gone and its tasks are being stopped.
 */
export type JobStatus = 'running' | 'pending' | 'complete' | 'failed' | 'degraded' | 'stopping' | 'invalid' | 'excluded' | 'blocked' | 'dead';

/** One child job of a periodic or parameterized job, as its parent's view lists it. */
export interface ChildView {
  id: string;
  /** ISO time of the launch (the dispatch). */
  launchedAt: string;
  status: 'running' | 'complete' | 'failed' | 'dead';
  finishedAt?: string;
  exits?: { task: string; state: string; code: number | null; signal?: string }[];
}

/** A parameterized job's block and its dispatched children (JobView.parameterized). */
export interface ParameterizedView {
  payload: 'optional' | 'required' | 'forbidden';
  metaRequired: string[];
  metaOptional: string[];
  /** Also periodic: each dispatched child launches on the schedule (and is listed as a periodic job). */
  periodic?: boolean;
  /** Children, oldest first: those not finished and the last few finished, with the dispatch's meta and payload size. */
  children: (ChildView & { meta: Record<string, string>; payloadBytes: number })[];
}

/** What `tendctl job dispatch` sends (Nomad's JobDispatchRequest: Meta, Payload). */
export interface DispatchInput {
  meta?: Record<string, string>;
  /** The payload, base64 (at most 16 KiB once decoded). */
  payload?: string;
}

/** A periodic job's schedule and children (JobView.periodic). */
export interface PeriodicView {
  crons: string[];
  timeZone: string;
  enabled: boolean;
  prohibitOverlap: boolean;
  /** ISO time of the next scheduled launch; absent when disabled. */
  nextLaunch?: string;
  /** Children, oldest first: the running ones and the last few finished, with their tasks' exits. */
  children: (ChildView & { forced?: boolean })[];
  /** Launches due while the agent was down, not caught up (as Nomad). */
  missed?: { count: number; from: string; to: string };
  /** The last launch skipped by prohibit_overlap. */
  lastSkipped?: { at: string; running: string };
}

/** One group's part of a deployment (DeploymentView.groups). */
export interface DeploymentGroupView {
  name: string;
  /** Instances the group should have. */
  desiredTotal: number;
  /** Allocations the deployment placed (replaced, started or found on its version). */
  placed: number;
  healthy: number;
  unhealthy: number;
  /** The group's `update` block as it applies (durations as Go durations: "10s"). */
  maxParallel: number;
  healthCheck: 'checks' | 'task_states' | 'manual';
  minHealthyTime: string;
  healthyDeadline: string;
  progressDeadline: string;
  autoRevert: boolean;
  /** ISO time by which an allocation must turn healthy (progress_deadline). */
  requireProgressBy?: string;
  /** The allocations placed, by index: when, and their health once decided. */
  allocs: { index: number; placedAt: string; healthyAt?: string; unhealthy?: string }[];
}

/** The rollout of a service job (Nomad's deployment): JobView.deployment, `tendctl deployment status`. */
export interface DeploymentView {
  job: string;
  /** 8 hex characters. */
  id: string;
  /** The version rolled out (a hash of the spec that needs new processes when it changes). */
  version: string;
  /** The job file's revision it came from: the first 12 hex characters of the file's sha256. */
  fileRevision?: string;
  status: 'running' | 'successful' | 'failed' | 'cancelled';
  /** Nomad's status description ("Deployment is running", "Failed due to unhealthy allocations - rolling back to job version …"). */
  description: string;
  startedAt: string;
  endedAt?: string;
  /** It puts back the last stable version after a failed deployment (auto_revert). */
  rollback?: boolean;
  groups: DeploymentGroupView[];
  /** The last version whose deployment succeeded: what auto_revert puts back. */
  stable?: { version: string; at: string; fileRevision?: string };
  /**
   * While set, the stable version runs instead of the file's: the file (at `fileRevision`) still
   * gives `version`, which failed, until it changes.
   */
  reverted?: { version: string; fileRevision?: string; at: string; reason: string; stableVersion: string };
}

export interface JobView {
  id: string;
  file: string;
  type: string;
  status: JobStatus;
  /** Why: "not for this node: …", "driver exec unavailable: requires root", "file invalid (last good version in force)". */
  reason?: string;
  diagnostics?: Diagnostic[];
  tasks: TaskView[];
  /** A periodic job: its schedule and children (the children are jobs of their own, `<job>/periodic-<unix seconds>`). */
  periodic?: PeriodicView;
  /** A parameterized job: its block and dispatched children (jobs of their own, `<job>/dispatch-<unix seconds>-<8 hex>`). */
  parameterized?: ParameterizedView;
  /** A child job: its parent's id. */
  parent?: string;
  /** A service job's latest rollout (every service job with max_parallel > 0 has one once it runs). */
  deployment?: DeploymentView;
}

export interface FileView {
  path: string;
  ok: boolean;
  jobs: string[];
  diagnostics: Diagnostic[];
  /** When the file is invalid and an earlier good version stays in force. */
  lastGoodAt?: string;
  /** Files its functions read (`file("conf/app.conf")`), absolute: a change to one reloads this file. */
  reads?: string[];
}

export interface NodeView {
  name: string;
  id: string;
  class: string;
  datacenter: string;
  version: string;
  executor: 'plain' | 'oci';
  /** Why this executor (`auto: root, runc, conmon and cgroups work`, `executor = "plain" (agent config or -executor)`). */
  executorReason?: string;
  cgroupMode: string;
  cores: number[];
  reservedCores: number[];
  memoryBytes: number;
  attributes: Record<string, string>;
  meta: Record<string, string>;
  drivers: Record<string, DriverAvailability & { enabled: boolean }>;
  dataDir: string;
  jobsDir: string;
  /**
   * The Git revision the jobs dir holds: its REVISION file (deploy/tend-git-sync writes one), else
   * its Git checkout's HEAD; null when neither says (src/source/revision.ts). Read at every relist.
   */
  jobsRevision: JobsRevision | null;
  /** The cgroup parent of the oci executor's tasks (`<hierarchy>/<parent>/<task>`); absent with the plain executor. */
  cgroupParent?: string;
  startedAt: string;
  /** Space left for the data dir and what the log monitor could not write (absent until the first check). */
  disk?: DiskView;
}

/** Disk pressure on the data dir's filesystem, checked every few seconds. */
export interface DiskView {
  /** The data dir whose filesystem is measured (statfs). */
  path: string;
  /** Bytes available to the agent (statfs bavail × bsize). */
  freeBytes: number;
  totalBytes: number;
  /** Below this many free bytes the disk counts as low. */
  lowBytes: number;
  low: boolean;
  /** The log monitor: its pid (absent when it does not answer), bytes it dropped for lack of space. */
  logs: {
    monitorPid?: number;
    droppedBytes: number;
    /** Tasks whose output is being dropped right now. */
    droppingTasks: string[];
    /** Tasks whose collection could not be registered (monitor unavailable). */
    unregistered: string[];
    /** Why the monitor's own state file cannot be written. */
    stateError?: string;
  };
  /** One line each: what is wrong now (low space, dropped output, monitor down). Empty when all is well. */
  warnings: string[];
  checkedAt: string;
}

/** The newest CPU and memory sample of each running task (`GET /v1/samples`; src/agent/stats-sampler.ts). */
export interface SamplesView {
  /** Between samples now (10 s, longer while samples are slow). */
  intervalMs: number;
  /** Whether samples are being taken now (they are while someone reads them, and for a while after). */
  sampling: boolean;
  /** ISO time of the newest sample; absent before the first. */
  at?: string;
  tasks: Record<string, { cpuPercent: number; memoryBytes: number; memoryLimitBytes?: number }>;
}

/** One task's samples over the last minutes, oldest first (`GET /v1/samples/<id>`). */
export interface SampleSeries {
  task: string;
  intervalMs: number;
  sampling: boolean;
  /** `at`: epoch ms. */
  samples: { at: number; cpuPercent: number; memoryBytes: number }[];
  memoryLimitBytes?: number;
}

export interface Plan {
  actions: PlanAction[];
  /** Diagnostics of the files planned. */
  files: FileView[];
}

/**
 * The operator's side of the Nomad-variables store (`tendctl var …`): every
 * path, no ACL (the socket is root's). Errors: E_VAR_INVALID, E_VAR_CONFLICT,
 * E_VAR_READ_ONLY, E_STORE. Items travel only in these replies and requests.
 */
export interface VariablesApi {
  get(path: string): Variable | undefined;
  list(prefix?: string): VariableMetadata[];
  put(path: string, items: VariableItems, opts?: CasOptions): Promise<Variable>;
  purge(path: string, opts?: CasOptions): Promise<void>;
}

/** What the agent offers to the API server. */
export interface AgentApi {
  /** The variables store; absent on an agent without one (the endpoints then answer 404). */
  readonly variables?: VariablesApi;
  node(): Promise<NodeView>;
  jobs(): JobView[];
  files(): FileView[];
  tasks(): TaskView[];
  /** One task with events, spec and dirs; throws TendError E_TASK_NOT_FOUND. */
  task(id: string, opts?: { stats?: boolean }): Promise<TaskView>;
  /** Instance ids matching an unambiguous prefix (`web/server` → `web/server[0]/server`, `web` when it has one task). */
  resolve(query: string): string[];
  /** For a query that resolves to nothing: the ids it was likely meant to be (at most 3). */
  suggestTasks?(query: string): string[];
  events(q?: EventQuery): TaskEvent[];
  /** Live events; returns an unsubscribe function. */
  subscribe(listener: (e: TaskEvent) => void): () => void;
  signal(id: string, signal: string): Promise<void>;
  /** Restart the task without changing desired state (also revives a failed task). */
  restart(id: string): Promise<void>;
  exec(id: string, command: string[], opts?: ExecOptions): Promise<ExecSession>;
  /**
   * Relist the jobs dir now; resolves once the agent has the set it gives (so a plan or a view
   * asked next is about the files on disk). Absent on an agent without a jobs dir source (404).
   */
  resync?(): Promise<{ generation: number; files: number }>;
  /** Plan for the files in dir (default: the jobs dir) against what runs now; `verbose` also gives env and artifact values. */
  plan(dir?: string, detail?: PlanDetail): Promise<Plan>;
  /** Stats of all running tasks (cpu %, memory) keyed by instance id. */
  stats(): Promise<Record<string, TaskStats>>;
  /**
   * The newest CPU and memory sample of every running task; a read starts the agent's sampler (a
   * sample every 10 s while someone reads, in memory). Absent on agents without a sampler (404).
   */
  samples?(): Promise<SamplesView>;
  /** One task's samples over the last minutes (starts the sampler like `samples`). */
  sampleSeries?(id: string): Promise<SampleSeries>;
  /** The local service catalog, one line per service name. */
  services(): ServiceSummaryView[];
  /** The instances of a service with their checks; throws E_SERVICE_NOT_FOUND when none is registered. */
  service(name: string): ServiceInstanceView[];
  /** Launch a child of a periodic job now (`tendctl job periodic force`); throws E_JOB_NOT_FOUND. */
  forcePeriodic(job: string): Promise<{ job: string; child: string }>;
  /** Dispatch a child of a parameterized job (`tendctl job dispatch`); E_JOB_NOT_FOUND, or E_BAD_REQUEST saying what the job refuses. */
  dispatchJob(job: string, input?: DispatchInput): Promise<{ job: string; child: string }>;
  /** A job's latest deployment; E_JOB_NOT_FOUND when it has none. */
  deployment(job: string): DeploymentView;
  /** `tendctl deployment fail`: the running deployment fails (and reverts with auto_revert); E_BAD_REQUEST when none runs. */
  failDeployment(job: string): Promise<DeploymentView>;
  /** `tendctl deployment promote`: with health_check = "manual", the deployment's allocations on its version are marked healthy. */
  promoteDeployment(job: string): Promise<DeploymentView & { promoted: number }>;
}
