/**
 * The executor contract, shared by both drivers (after Nomad's executor).
 * Two backends implement it: `plain` (any OS and user; detached processes,
 * raw_exec only) and `oci` (Linux as root; every task an OCI bundle run by
 * runc under conmon). The reconcile loop and drivers only see this file.
 *
 * A TaskHandle is versioned data, persisted by the caller before the task is
 * reported started; `reattach` must accept any handle a previous agent wrote.
 */
import type { Readable, Writable } from 'node:stream';

export type ExecutorKind = 'plain' | 'oci';
export type DriverName = 'exec' | 'raw_exec';

/** Who a task instance is: `job/group[index]/task`. */
export interface TaskIdentity {
  job: string;
  group: string;
  index: number;
  task: string;
  allocId: string;
}

export interface TaskResources {
  /** cpu in MHz (cpu.shares / cpu.weight). */
  cpuShares: number;
  /** Soft limit / reservation. */
  memoryBytes: number;
  /** Hard limit (memory_max, or memory when unset). */
  memoryMaxBytes: number;
  /** Exclusive CPUs assigned by the cgroup manager's cpuset allocator (`cores`); NOMAD_CPU_CORES. */
  cores?: number[];
  pidsLimit?: number;
}

/** Isolation settings of an `exec` task, fully resolved by the exec driver. */
export interface ExecIsolation {
  /** Host dirs bind-mounted read-only inside the root (missing ones already skipped). */
  chrootEnv: string[];
  /** Where a chrootEnv dir goes inside the root when not at its own path (chroot_env's map form: host → inside). */
  chrootTargets?: Record<string, string>;
  pidMode: 'private' | 'host';
  ipcMode: 'private' | 'host';
  noPivotRoot: boolean;
  /** Final effective capability set, e.g. ["CAP_CHOWN", …] (allow_caps ∩ defaults + cap_add − cap_drop). */
  capabilities: string[];
  /** Host volumes: host path → destination inside the task. */
  mounts: { source: string; destination: string; readOnly: boolean }[];
}

export interface LaunchSpec {
  /**
   * Unique, stable id of this task instance, safe as a path segment and as an
   * OCI container id: `<allocId>-<task>` (allocId is already unique per job/group/index).
   */
  id: string;
  identity: TaskIdentity;
  driver: DriverName;
  command: string;
  args: string[];
  /** Full environment of the task (NOMAD_* variables, node env for raw_exec, task env). */
  env: Record<string, string>;
  /** Run as this user (name or uid); only honoured when the agent is root. */
  user?: { uid: number; gid: number; name: string; home?: string; groups?: number[] };
  /** Host paths, already created: `<data_dir>/alloc/<allocId>/alloc` (shared: logs/, data/, tmp/). */
  allocDir: string;
  /** `<data_dir>/alloc/<allocId>/<task>` holding local/, secrets/, tmp/. */
  taskDir: string;
  /** Working directory of the process (host path for raw_exec; path inside the root for exec). */
  cwd: string;
  /**
   * `<dataDir>/logs/<allocId>`, a dir no task can write; the executor writes
   * `<logKey>.stdout.N` / `<logKey>.stderr.N` there and shows the dir to the
   * task read-only at `<allocDir>/logs` (oci: a read-only bind).
   */
  logDir: string;
  /** The task's name made a safe file name prefix (segmentOf; logKeyOf fills it in when absent). */
  logKey?: string;
  logs: { maxFiles: number; maxFileSizeBytes: number };
  resources: TaskResources;
  /** Present for the exec driver only. */
  isolation?: ExecIsolation;
  /** raw_exec `no_cgroups`: run outside any cgroup (oci backend: host-mode bundle still, no limits). */
  noCgroups?: boolean;
  /**
   * The caller's own notes on this task (spec hashes, kill policy, node id, …), JSON-serialisable.
   * The executor keeps them verbatim with the identity, in its own agent-only dir, before launch
   * resolves, and hands them back from `list()`: what the caller needs to rebuild its record of the
   * task should its own store be lost. The executor never reads them.
   */
  notes?: Record<string, unknown>;
}

export interface TaskHandle {
  version: 1;
  executor: ExecutorKind;
  id: string;
  /** Host pid of the task's main process. */
  pid: number;
  /** Start time of `pid` from /proc/<pid>/stat (clock ticks since boot), so a reused pid is never mistaken for the task. */
  pidStartTime: number;
  /** ISO time the task started. */
  startedAt: string;
  /** Backend-specific reattach data (monitor pid, bundle dir, exit file, …), JSON-serialisable. */
  data: Record<string, unknown>;
}

export interface ExitResult {
  /** Exit code, or null when killed by a signal or unknown. */
  code: number | null;
  signal: string | null;
  oomKilled: boolean;
  /** ISO time of the exit (or of the moment it was discovered, when `known` is false). */
  at: string;
  /** False when the task ended while nobody watched and its code could not be recovered. */
  known: boolean;
  /** Human text when something notable happened ("OOM killed", "exit code not recorded"). */
  message?: string;
  /**
   * The task's monitor (oci: its conmon) died while the task ran: nothing could collect its output
   * or record its exit any more, so the executor stopped what was left of the task (`known` is
   * false). The caller reports it and applies the restart policy as for any exit.
   */
  monitorLost?: { pid: number };
}

export type ReattachResult =
  | { state: 'running'; handle: TaskHandle }
  | { state: 'exited'; exit: ExitResult };

/**
 * A task this executor finds in its own records (`list()`), whatever the caller's store says:
 * who it is, the caller's notes from launch, and a handle to prove with `reattach`.
 */
export interface ListedTask {
  /** The executor id (LaunchSpec.id). */
  id: string;
  identity: TaskIdentity;
  driver: DriverName;
  /** LaunchSpec.notes of the launch, when it had any (absent for tasks launched before notes were kept). */
  notes?: Record<string, unknown>;
  /**
   * The handle as launch returned it, or one rebuilt from the executor's files (pid files,
   * wrapper state) when the launch was cut short. Unproven: pass it to `reattach`.
   */
  handle: TaskHandle;
}

export interface TaskStats {
  at: number;
  pids: number;
  cpuPercent: number;
  cpuUserNs?: number;
  cpuSystemNs?: number;
  cpuThrottledPeriods?: number;
  memoryBytes: number;
  memoryRssBytes?: number;
  memoryCacheBytes?: number;
  memorySwapBytes?: number;
  memoryMaxUsageBytes?: number;
  memoryLimitBytes?: number;
}

export interface ExecOptions {
  env?: Record<string, string>;
  /** Keep stdin open for the caller (tendctl exec -i). */
  stdin?: boolean;
  /**
   * Run the command on a new pseudo-terminal of this size (tendctl exec -t):
   * it is its controlling terminal, stdout carries both streams (stderr stays
   * empty) and input goes through the terminal's line discipline (^C is SIGINT).
   */
  tty?: TtySize;
  cwd?: string;
}

export interface TtySize {
  rows: number;
  cols: number;
}

export interface ExecSession {
  stdin: Writable | null;
  stdout: Readable;
  stderr: Readable;
  /** Resolves with the command's exit code (128+N when killed by signal N). */
  exit: Promise<number>;
  kill(signal?: NodeJS.Signals): void;
  /** Set the window size of the session's terminal (sessions with `tty` only; the command gets SIGWINCH). */
  resize?(size: TtySize): void;
}

export interface DriverAvailability {
  ok: boolean;
  /** Why not, e.g. "runc not found on PATH", "requires root". */
  reason?: string;
}

export interface Executor {
  readonly kind: ExecutorKind;
  /** Which drivers this backend can run on this node, with reasons. */
  fingerprint(): Promise<Record<DriverName, DriverAvailability>>;
  /** Start the task; resolves once the process runs and its handle can be persisted. */
  launch(spec: LaunchSpec): Promise<TaskHandle>;
  /** Resolves when the task exits (works for launched and reattached tasks; may be called more than once). */
  wait(handle: TaskHandle): Promise<ExitResult>;
  signal(handle: TaskHandle, signal: string): Promise<void>;
  /**
   * Send `signal`, wait up to `graceMs` for the task to exit, then kill every
   * process of the task (process group / cgroup). Resolves once nothing of it runs.
   */
  shutdown(handle: TaskHandle, signal: string, graceMs: number): Promise<ExitResult>;
  /** Apply new limits in place; the task keeps its pid. */
  updateResources(handle: TaskHandle, resources: TaskResources): Promise<void>;
  stats(handle: TaskHandle): Promise<TaskStats>;
  /**
   * Stats of many tasks at once, keyed by handle id, when the backend can read them for less than
   * one `stats` each (plain: one walk of /proc); a task that has ended is left out. Optional.
   */
  statsAll?(handles: readonly TaskHandle[]): Promise<Map<string, TaskStats>>;
  /** Run a command inside the task (its namespaces and cgroup for oci; its dir and env for plain). */
  exec(handle: TaskHandle, command: string[], opts?: ExecOptions): Promise<ExecSession>;
  /** Prove a persisted handle (pid + start time, runtime state) or collect the exit recorded while the agent was down. Idempotent. */
  reattach(handle: TaskHandle): Promise<ReattachResult>;
  /**
   * Every task whose identity this executor recorded under its own data dir (the ids `gc` would
   * consider), alive or not; one whose identity cannot be read is left out (gc handles it). Touches
   * nothing. For an agent that lost its store: rebuild records, adopt what `reattach` proves alive.
   */
  list(): Promise<ListedTask[]>;
  /** Release what is left of an ended task: bundle, fifos, log pipes, cgroup, cpuset. Idempotent. */
  cleanup(id: string): Promise<void>;
  /**
   * At agent start: remove leftovers (bundles, mounts, cgroups, containers) of task ids not in `known`;
   * returns the ids removed. Only ids this executor recorded under its own data dir are candidates:
   * never "everything under the cgroup parent" or every marked process on the machine.
   */
  gc(known: ReadonlySet<string>): Promise<string[]>;
  /** Let go of agent-side resources; tasks keep running. */
  close(): Promise<void>;
}
