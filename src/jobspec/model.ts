/**
 * The typed job model every job file (HCL2, TOML, JSON) is normalised into,
 * with Nomad's defaults applied. Everything after loading works on these
 * types only. Strings may still hold runtime references (`${NOMAD_TASK_DIR}`,
 * `${attr.kernel.name}`, `${meta.x}`, `${env["X"]}`, `${node.unique.name}`);
 * they are filled at launch by `interpolateTask` (see interpolate.ts).
 */

export type JobType = 'service' | 'batch';
export type RestartMode = 'fail' | 'delay';

/** Where a value came from, for status output and diagnostics. */
export interface SourcePos {
  file: string;
  line: number; // 1-based; 0 when unknown
  column: number; // 1-based; 0 when unknown
}

export interface RestartPolicy {
  attempts: number;
  intervalMs: number;
  delayMs: number;
  mode: RestartMode;
  /** Re-render templates on restart (Nomad's render_templates). */
  renderTemplates?: boolean;
}

export interface LogsConfig {
  maxFiles: number; // default 10
  maxFileSizeMB: number; // default 10
  disabled: boolean;
}

export interface Resources {
  cpu: number; // MHz, default 100 (unset when cores is set)
  memoryMB: number; // default 300
  memoryMaxMB?: number; // hard limit when set (oversubscription); -1 means no hard limit
  cores?: number; // exclusive CPUs
}

export type ConstraintOperator =
  | '='
  | '=='
  | 'is'
  | '!='
  | 'not'
  | '<'
  | '<='
  | '>'
  | '>='
  | 'regexp'
  | 'version'
  | 'semver'
  | 'set_contains'
  | 'set_contains_all'
  | 'set_contains_any'
  | 'is_set'
  | 'is_not_set'
  | 'distinct_hosts'
  | 'distinct_property';

export interface Constraint {
  attribute: string; // e.g. "${attr.kernel.name}"
  operator: ConstraintOperator;
  value: string;
  pos: SourcePos;
}

export interface Artifact {
  source: string;
  destination: string; // default "local/"
  mode: 'any' | 'file' | 'dir';
  options: Record<string, string>;
  headers: Record<string, string>;
  /** `chown = true`: the fetched files belong to the task's user (Nomad's default: false, root's). Set only when true. */
  chown?: boolean;
}

export interface Template {
  data?: string;
  /** Line of the template text's first line in the job file (for error positions). */
  dataLine?: number;
  source?: string;
  destination: string;
  changeMode: 'restart' | 'signal' | 'noop' | 'script';
  changeSignal?: string;
  /** change_mode = "script": run inside the task. */
  changeScript?: { command: string; args: string[]; timeoutMs: number; failOnError: boolean };
  /** Random delay before the change action, up to this (Nomad's default 5s). */
  splayMs: number;
  perms: string; // "644"
  uid?: number;
  gid?: number;
  env: boolean;
  /** Render once, at the first start; never re-render on changes (Nomad's `once`). */
  once: boolean;
  leftDelimiter: string;
  rightDelimiter: string;
  errorOnMissingKey: boolean;
  /** template { wait { min, max } } */
  wait?: { minMs?: number; maxMs?: number };
  pos: SourcePos;
}

/** Driver config for exec and raw_exec (other drivers keep `raw` only). */
export interface DriverConfig {
  command: string;
  args: string[];
  pidMode?: 'private' | 'host';
  ipcMode?: 'private' | 'host';
  capAdd: string[];
  capDrop: string[];
  /** tend extension: pids.max for this task (agent default otherwise). */
  pidsLimit?: number;
  /** The config block as written (after variable evaluation). */
  raw: Record<string, unknown>;
}

export interface VolumeMount {
  volume: string;
  destination: string;
  readOnly: boolean;
}

export interface GroupVolume {
  name: string;
  type: 'host';
  source: string;
  readOnly: boolean;
}

/**
 * One `port "label" { static, to, host_network, ignore_collision }` of a host-mode `network`
 * block (group level, or the legacy task level `resources { network { … } }`). tend allocates
 * the host port per allocation (src/ports/); what is asked for is all the model holds.
 */
export interface PortSpec {
  label: string;
  /** The host port asked for (`static`); absent: a dynamic port from the agent's range. */
  static?: number;
  /** `to`: the port as the task should bind it (Nomad's NOMAD_PORT_<label>); -1: the host port. Host mode maps nothing. */
  to?: number;
  /** `host_network`: the agent's `host_network` whose address the port is on (default "default": the node's address). */
  hostNetwork: string;
  /** `ignore_collision`: a static port shared with other allocations or processes (SO_REUSEPORT); never checked. */
  ignoreCollision?: boolean;
  pos: SourcePos;
}

/** A check's status, as Consul and tend's catalog name them. */
export type CheckStatus = 'passing' | 'warning' | 'critical';

/** How a check or service counts during an update (Nomad's `on_update`). */
export type OnUpdate = 'require_healthy' | 'ignore_warnings' | 'ignore';

/** `check_restart { limit, grace, ignore_warnings }`: restart a task whose check stays unhealthy. */
export interface CheckRestart {
  /** Consecutive unhealthy results before a restart; 0 never restarts (Nomad's default). */
  limit: number;
  /** After the task (re)starts, results are not counted for this long (default 1s). */
  graceMs: number;
  /** `warning` counts as healthy (default false: warning and critical are unhealthy). */
  ignoreWarnings: boolean;
}

/**
 * One `check` of a service (src/services/ runs them). Strings may hold runtime references
 * (`${NOMAD_PORT_http}`): they are filled when the service registers.
 */
export interface ServiceCheck {
  /** Default `service: "<service name>" check` (Nomad's), filled at registration. */
  name?: string;
  type: 'http' | 'tcp' | 'script' | 'grpc';
  intervalMs: number;
  timeoutMs: number;
  /** The check's own port (a label or number); absent: the service's. */
  port?: string;
  /** Not inherited from the service (Nomad): absent is "host". */
  addressMode?: 'host' | 'alloc' | 'driver';
  /** http: path (relative), method (default GET), protocol, headers (each value sent once), body. */
  path?: string;
  method: string;
  protocol: 'http' | 'https';
  headers: Record<string, string[]>;
  body?: string;
  tlsSkipVerify: boolean;
  tlsServerName?: string;
  /** script: run inside `task` (a task service's own task; a group service's check or service `task`). */
  command?: string;
  args: string[];
  task?: string;
  /** grpc: the service asked about (empty: the server as a whole), TLS. */
  grpcService?: string;
  grpcUseTls: boolean;
  /** The status before the first result; absent: `pending` until then (Nomad's provider). */
  initialStatus?: CheckStatus;
  successBeforePassing: number;
  failuresBeforeCritical: number;
  /** Default: failuresBeforeCritical (Consul). */
  failuresBeforeWarning?: number;
  onUpdate: OnUpdate;
  /** The check's `check_restart` merged over its service's (the check's fields win). */
  checkRestart?: CheckRestart;
  pos: SourcePos;
}

/**
 * A `service` block (group or task level): registered in tend's local catalog while its task
 * (a group service: any main task of its allocation) runs. `name`, `tags`, `meta` and check
 * strings may hold `${JOB}`, `${TASKGROUP}`, `${TASK}`, `${BASE}` and runtime references.
 */
export interface Service {
  /** As written; default `${JOB}-${TASKGROUP}-${TASK}` (a group service: `${JOB}-${TASKGROUP}`). */
  name: string;
  /** A port label of the allocation or a number; absent: registered with port 0. */
  port?: string;
  tags: string[];
  meta: Record<string, string>;
  /** `consul` (Nomad's default) is registered locally all the same, with a warning at load. */
  provider: 'nomad' | 'consul';
  addressMode: 'auto' | 'host' | 'alloc' | 'driver';
  /** A fixed address to advertise (address_mode "auto" only). */
  address?: string;
  /** Group services: the task script checks run in and check_restart restarts. */
  task?: string;
  onUpdate: OnUpdate;
  checks: ServiceCheck[];
  pos: SourcePos;
}

export interface Task {
  name: string;
  driver: string;
  config: DriverConfig;
  env: Record<string, string>;
  user?: string;
  meta: Record<string, string>;
  resources: Resources;
  restart: RestartPolicy;
  killSignal: string; // default "SIGINT"
  killTimeoutMs: number; // default 5000
  logs: LogsConfig;
  artifacts: Artifact[];
  templates: Template[];
  constraints: Constraint[];
  volumeMounts: VolumeMount[];
  leader: boolean;
  /** Legacy task-level ports (`resources { network { port … } }`); absent when none. */
  ports?: PortSpec[];
  /** lifecycle { hook, sidecar }, kept for status; tend starts all tasks of a group together. */
  lifecycle?: { hook: 'prestart' | 'poststart' | 'poststop'; sidecar: boolean };
  /**
   * `dispatch_payload { file }`: a dispatched child's payload is written to `local/<file>` before the
   * task starts. `file` is relative and stays inside local/ (checked at load).
   */
  dispatchPayload?: { file: string };
  /** Task-level `service` blocks; absent when none. */
  services?: Service[];
  pos: SourcePos;
}

/** How a group's health is judged during a rollout (Nomad's `update { health_check }`). */
export type HealthCheckMode = 'checks' | 'task_states' | 'manual';

/**
 * `update { … }` of a service job, the job's and the group's merged (the group's fields win), with
 * Nomad's defaults: how an edit that needs new processes replaces the group's instances
 * (src/reconcile/rollouts.ts). Absent on batch jobs (Nomad refuses `update` there).
 */
export interface UpdateStrategy {
  /** Instances replaced at once (default 1); 0: no rollout, every instance is replaced at once. */
  maxParallel: number;
  /** How an instance is judged healthy (default "checks": task states plus the service checks). */
  healthCheck: HealthCheckMode;
  /** How long an instance must stay healthy before it counts (default 10s). */
  minHealthyTimeMs: number;
  /** An instance not healthy this long after it was placed is unhealthy (default 5m). */
  healthyDeadlineMs: number;
  /** The rollout fails when no instance turns healthy for this long (default 10m; 0: never). */
  progressDeadlineMs: number;
  /** A failed rollout puts back the last version that was healthy (default false). */
  autoRevert: boolean;
  /** Nomad: delay between updates of system jobs (default 30s); tend's rollouts wait for health instead. */
  staggerMs: number;
  /** Canaries asked for (default 0): tend has none (a warning). */
  canary: number;
  autoPromote: boolean;
}

export interface Group {
  name: string;
  count: number; // default 1
  restart: RestartPolicy;
  meta: Record<string, string>;
  constraints: Constraint[];
  volumes: GroupVolume[];
  /** Ports of the group's `network` block (host mode, the only one tend has); absent when none. */
  ports?: PortSpec[];
  /** The rollout strategy (service jobs; Nomad's default strategy when no `update` block is written). */
  update?: UpdateStrategy;
  /** Group-level `service` blocks (one registration per allocation); absent when none. */
  services?: Service[];
  tasks: Task[];
  pos: SourcePos;
}

/**
 * `periodic { crons, prohibit_overlap, time_zone, enabled }`: the job never runs at load; the agent
 * launches child runs `<job>/periodic-<unix seconds>` on the schedule (src/reconcile/periodic.ts).
 */
export interface Periodic {
  /** Cron expressions (`cron` and `crons` together), 5 fields or `@daily`-style; a launch is due when any one is. */
  crons: string[];
  /** Skip a launch while a child of the job still runs (default false). */
  prohibitOverlap: boolean;
  /** IANA time zone the crons are read in (default "UTC"). */
  timeZone: string;
  /** `enabled = false`: never launches, not even by force (default true). */
  enabled: boolean;
  pos: SourcePos;
}

/** How a parameterized job takes a payload (Nomad's `parameterized { payload }`, default "optional"). */
export type PayloadMode = 'optional' | 'required' | 'forbidden';

/**
 * `parameterized { payload, meta_required, meta_optional }`: the job never runs on its own; each
 * `tendctl job dispatch` runs a child `<job>/dispatch-<unix seconds>-<8 hex>` with the dispatch's
 * payload and meta (src/reconcile/dispatch.ts).
 */
export interface Parameterized {
  payload: PayloadMode;
  /** Meta keys every dispatch must give. */
  metaRequired: string[];
  /** Meta keys a dispatch may give; any other key is refused (as Nomad). */
  metaOptional: string[];
  pos: SourcePos;
}

export interface Job {
  id: string; // job "id" label (or `id` attribute)
  name: string;
  type: JobType;
  namespace?: string;
  datacenters: string[];
  priority: number;
  meta: Record<string, string>;
  constraints: Constraint[];
  groups: Group[];
  /** Present on a periodic job: it runs only through the children launched on its schedule. */
  periodic?: Periodic;
  /** Present on a parameterized job: it runs only through the children dispatched from it. */
  parameterized?: Parameterized;
  /**
   * On a child job (`<parent>/periodic-<unix seconds>`, `<parent>/dispatch-<unix seconds>-<8 hex>`):
   * the parent's id.
   */
  parent?: string;
  /** On a dispatched child (and the periodic children of one): the dispatch payload, base64; absent when none was given. */
  payload?: string;
  /** Path of the file that defined it. */
  file: string;
  pos: SourcePos;
}

export type DiagnosticKind = 'syntax' | 'schema' | 'unsupported';
export type Severity = 'error' | 'warning';

/**
 * One problem in a file. Printed as `file:line:col: error: message` followed
 * by the field path and the hint (see format.ts).
 */
export interface Diagnostic {
  severity: Severity;
  kind: DiagnosticKind;
  file: string;
  line: number; // 1-based, 0 when unknown
  column: number; // 1-based, 0 when unknown
  /** Field path, e.g. `job "web" › group "g" › task "t" › resources.memory`. */
  path: string;
  message: string;
  /** e.g. `did you mean "memory"?` */
  hint?: string;
}

/** Node facts used by constraints and runtime interpolation. */
export interface NodeInfo {
  name: string; // node.unique.name
  id: string; // node.unique.id
  class: string; // node.class
  datacenter: string;
  /** attr.* without the prefix: "kernel.name", "cpu.numcores", "driver.exec", … */
  attributes: Record<string, string>;
  /** meta.* without the prefix. */
  meta: Record<string, string>;
}

/** The result of loading one file. */
export interface LoadResult {
  file: string;
  /** Jobs defined by the file (normally one); empty when errors prevent building. */
  jobs: Job[];
  diagnostics: Diagnostic[];
  /** True when there is no error-severity diagnostic. */
  ok: boolean;
  /** Jobs whose constraints exclude this node (when a node was given): "not for this node", not an error. */
  excluded: { job: string; reason: string }[];
  /** Set when the file is not a job file (job-file.ts): why. No jobs, not an error; listed apart. */
  skipped?: string;
  /** Files the job file's functions read (`file()`, `fileexists()`, `fileset()`, …): a change to one reloads the file. */
  reads?: FileRead[];
}

/**
 * One thing a file function looked at, with what it saw: a file's content
 * (`file`), whether a file exists (`exists`), or which files a pattern
 * matched (`glob`). `hash` is what `currentReadHash` computes for it now.
 */
export interface FileRead {
  kind: 'file' | 'exists' | 'glob';
  /** Absolute path (for `glob`, the base dir). */
  path: string;
  /** `glob` only: the pattern. */
  pattern?: string;
  /** sha256 of the content, "absent", "present", or a hash of the matched names. */
  hash: string;
}

export interface LoadOptions {
  /** -var NAME=VALUE (strings; typed per the variable's type). */
  vars?: Record<string, string>;
  /** -var-file paths (HCL `name = value` files, or JSON). */
  varFiles?: string[];
  /** When given, constraints are evaluated against it. */
  node?: NodeInfo;
  /**
   * Dirs whose trees the file functions may read (the agent: its jobs dir
   * and `client { job_file_dirs }`). Default: the job file's own dir.
   */
  readDirs?: string[];
}
