/**
 * The services contract: tend's local service catalog and the health checks the agent runs, on
 * one node what Nomad's native service discovery (`provider = "nomad"`) and Consul's agent checks
 * do in a cluster.
 *
 *  - A registration is one `service` block of one allocation, resolved: its name and tags
 *    interpolated (`${JOB}`, `${TASKGROUP}`, `${TASK}`, `${BASE}`, `${NOMAD_*}`), its port
 *    resolved from the allocation's ports (`address_mode`), its checks with their addresses
 *    (`registration.ts`). A task's service is registered while its task runs; a group's while any
 *    main task of the allocation runs (src/reconcile/hooks/services.ts).
 *  - The catalog (`catalog.ts`) holds the registrations and their checks' states; `nomadService`
 *    in templates reads it (only instances whose checks all pass, as Nomad's catalog answers),
 *    and so do the API (`/v1/services`, `/v1/service/<name>`) and `tendctl services`.
 *  - Checks run on one scheduler for the whole node (`scheduler.ts`: one timer, jittered first
 *    runs, bounded concurrency), by kind (`kinds/`: http, tcp, grpc from the agent; script inside
 *    the task through the exec path). A result goes through Consul's counters
 *    (`success_before_passing`, `failures_before_critical`, `failures_before_warning`: `status.ts`)
 *    and `check_restart` (`check-restart.ts`), which restarts a task through its restart policy.
 *  - An allocation's health (`health.ts`) is what rolling updates wait for
 *    (`update { health_check = "checks" }`).
 */
import type { CheckRestart, CheckStatus, OnUpdate } from '../jobspec/model.js';

export type { CheckRestart, CheckStatus, OnUpdate } from '../jobspec/model.js';

/** A check's status, or `pending` before its first result (without `initial_status`, as Nomad's provider). */
export type CheckState = CheckStatus | 'pending';

export type CheckKind = 'http' | 'tcp' | 'script' | 'grpc';

/** Outputs are cut to this many bytes (Consul's limit). */
export const OUTPUT_MAX = 4096;

/** What one run of a check found. */
export interface CheckResult {
  status: CheckStatus;
  /** Consul's wording: `HTTP GET http://…: 200 OK Output: …`, `TCP connect …: Success`, a script's output. */
  output: string;
  /** The HTTP status code, or the script's exit code. */
  code?: number;
}

/** A check ready to run: the job file's check with its address and strings resolved. */
export interface CheckSpec {
  /** Unique in the catalog: `<registration id>#<index>`. */
  id: string;
  name: string;
  type: CheckKind;
  intervalMs: number;
  timeoutMs: number;
  /** http, tcp, grpc: where the check connects. */
  address?: string;
  port?: number;
  http?: { url: string; method: string; headers: Record<string, string[]>; body?: string; tlsSkipVerify: boolean; serverName?: string };
  script?: { command: string; args: string[] };
  grpc?: { service: string; tls: boolean; tlsSkipVerify: boolean; serverName?: string };
  /** The task (name) a script runs in and check_restart restarts; absent: a group check run by the agent only. */
  task?: string;
  initialStatus?: CheckStatus;
  successBeforePassing: number;
  failuresBeforeCritical: number;
  /** Default: failuresBeforeCritical (Consul). */
  failuresBeforeWarning?: number;
  onUpdate: OnUpdate;
  checkRestart?: CheckRestart;
}

/** One service of one allocation in the catalog. */
export interface Registration {
  /** `_tend-<alloc id>-<task or "group">-<name>-<port>`, unique on the node. */
  id: string;
  name: string;
  namespace: string;
  /** The job id (a periodic or dispatched child's own). */
  job: string;
  group: string;
  index: number;
  allocId: string;
  /** The task a task-level service belongs to; absent for a group service. */
  task?: string;
  tags: string[];
  meta: Record<string, string>;
  address: string;
  port: number;
  checks: CheckSpec[];
  /** The job file, for messages. */
  file: string;
}

/** Where a check stands (the catalog keeps one per check). */
export interface CheckRecord {
  spec: CheckSpec;
  status: CheckState;
  /** The last result's output and code (even when the counters held the status back). */
  output?: string;
  code?: number;
  /** ISO time of the last result. */
  at?: string;
  /** ISO time the status last changed. */
  since: string;
  /** Consecutive successes (passing or warning) and failures (critical), for the counters. */
  successes: number;
  failures: number;
}

/** A check as the API shows it. */
export interface CheckView {
  id: string;
  name: string;
  type: CheckKind;
  service: string;
  /** The task it runs in or restarts; absent for a group check without one. */
  task?: string;
  /** True for a check of a group service. */
  group?: boolean;
  status: CheckState;
  output?: string;
  code?: number;
  at?: string;
  since: string;
  /** `healthiness`, or `readiness` for on_update = "ignore" (as `nomad alloc checks`). */
  mode: 'healthiness' | 'readiness';
  intervalMs: number;
  timeoutMs: number;
  /** check_restart, when set: `limit` and `grace` as given. */
  checkRestart?: CheckRestart;
}

/** One instance of a service (`tendctl services NAME`, `GET /v1/service/<name>`): its registration, with its checks' state. */
export interface ServiceInstanceView extends Omit<Registration, 'checks'> {
  /** The worst status of its checks; `passing` without checks. */
  status: CheckState;
  checks: CheckView[];
}

/** One service name (`tendctl services`, `GET /v1/services`), as `nomad service list`. */
export interface ServiceSummaryView {
  name: string;
  namespace: string;
  /** The union of its instances' tags, sorted. */
  tags: string[];
  instances: number;
  /** Instances by status (the worst of their checks). */
  passing: number;
  warning: number;
  critical: number;
  pending: number;
  /** The jobs that register it. */
  jobs: string[];
}

/** What the checks report to metrics (PromMetrics implements it). */
export interface ServiceMetrics {
  /** One check ran: its kind, what it found, how long it took. */
  checkRun(type: CheckKind, status: CheckStatus, ms: number): void;
  /** Checks by state and registrations, now. */
  checkStates(counts: Record<CheckState, number>, registrations: number): void;
  /** check_restart restarted a task. */
  checkRestart(): void;
}

export const noopServiceMetrics: ServiceMetrics = { checkRun() {}, checkStates() {}, checkRestart() {} };

/** How bad a state is, for the worst of several: passing < pending < warning < critical. */
export const STATE_RANK: Record<CheckState, number> = { passing: 0, pending: 1, warning: 2, critical: 3 };

/** The worst of some states (`passing` for none). */
export function worstState(states: Iterable<CheckState>): CheckState {
  let worst: CheckState = 'passing';
  for (const s of states) if (STATE_RANK[s] > STATE_RANK[worst]) worst = s;
  return worst;
}
