/**
 * PromMetrics: the agent's metrics, served as Prometheus text at
 * `GET /metrics`. The agent creates one, calls the methods below as things
 * happen and hands it to `startApiServer`. Each instance owns its registry,
 * so several agents (or tests) in one process do not share counters.
 *
 *   tend_tasks{state,driver}                     gauge      task instances by state and driver (setTaskStates)
 *   tend_task_starts_total{driver}               counter    (taskStarted)
 *   tend_task_exits_total{driver,outcome}        counter    outcome: success | failure | signal | oom (taskExited)
 *   tend_task_restarts_total{driver}             counter    (restart)
 *   tend_task_oom_kills_total{driver}            counter    (oomKill)
 *   tend_task_launch_duration_seconds{driver}    histogram  from "start" decided to process running
 *   tend_reconcile_pass_duration_seconds         histogram
 *   tend_work_queue_depth                        gauge      actions queued or running
 *   tend_job_file_load_errors_total              counter    files that failed to load or validate
 *   tend_api_connections{listener}               gauge      open API connections; listener: unix | tcp
 *   tend_api_connections_refused_total{listener} counter    connections closed on accept: the listener was at its cap
 *   tend_api_timeouts_total{listener,phase}      counter    requests cut for slowness; phase: headers | body
 *   tend_service_registrations                   gauge      services in the local catalog (checkStates)
 *   tend_service_checks{status}                  gauge      checks by status: passing | warning | critical | pending (checkStates)
 *   tend_service_check_runs_total{type,status}   counter    checks run, by kind and result (checkRun)
 *   tend_service_check_duration_seconds{type}    histogram  how long a check took (checkRun)
 *   tend_service_check_restarts_total            counter    tasks restarted by check_restart (checkRestart)
 *   plus prom-client's default process metrics (tend_process_*, tend_nodejs_*)
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CheckKind, CheckState, CheckStatus, ServiceMetrics } from '../services/services.js';

export interface PromMetricsOptions {
  /** Collect prom-client's default process and Node.js metrics (default true). */
  defaultMetrics?: boolean;
  /** Metric name prefix (default "tend_"). */
  prefix?: string;
}

export class PromMetrics implements ServiceMetrics {
  readonly registry: Registry;
  readonly #tasks: Gauge<'state' | 'driver'>;
  readonly #starts: Counter<'driver'>;
  readonly #exits: Counter<'driver' | 'outcome'>;
  readonly #restarts: Counter<'driver'>;
  readonly #oomKills: Counter<'driver'>;
  readonly #launch: Histogram<'driver'>;
  readonly #reconcile: Histogram;
  readonly #queue: Gauge;
  readonly #fileErrors: Counter;
  readonly #apiConnections: Gauge<'listener'>;
  readonly #apiRefused: Counter<'listener'>;
  readonly #apiTimeouts: Counter<'listener' | 'phase'>;
  readonly #registrations: Gauge;
  readonly #checks: Gauge<'status'>;
  readonly #checkRuns: Counter<'type' | 'status'>;
  readonly #checkDuration: Histogram<'type'>;
  readonly #checkRestarts: Counter;
  /** Label pairs last set, so a state that drops to zero reads 0 instead of lingering. */
  #lastStates = new Set<string>();

  constructor(opts: PromMetricsOptions = {}) {
    const prefix = opts.prefix ?? 'tend_';
    const registers = [(this.registry = new Registry())];
    // The event loop's lag is sampled once a second, not prom-client's default every 10 ms: that
    // timer woke an idle agent 100 times a second (~0.7 % of a core on its own; issue 14).
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix, eventLoopMonitoringPrecision: 1000 });
    this.#tasks = new Gauge({ name: `${prefix}tasks`, help: 'Task instances by state and driver.', labelNames: ['state', 'driver'], registers });
    this.#starts = new Counter({ name: `${prefix}task_starts_total`, help: 'Task processes started.', labelNames: ['driver'], registers });
    this.#exits = new Counter({ name: `${prefix}task_exits_total`, help: 'Task processes that exited, by outcome.', labelNames: ['driver', 'outcome'], registers });
    this.#restarts = new Counter({ name: `${prefix}task_restarts_total`, help: 'Task restarts (restart policy and tendctl restart).', labelNames: ['driver'], registers });
    this.#oomKills = new Counter({ name: `${prefix}task_oom_kills_total`, help: 'Tasks killed by the OOM killer.', labelNames: ['driver'], registers });
    this.#launch = new Histogram({
      name: `${prefix}task_launch_duration_seconds`,
      help: 'Time from a start decision to the task running.',
      labelNames: ['driver'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#reconcile = new Histogram({
      name: `${prefix}reconcile_pass_duration_seconds`,
      help: 'Duration of one reconcile pass (diff and plan).',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.#queue = new Gauge({ name: `${prefix}work_queue_depth`, help: 'Task actions queued or in progress.', registers });
    this.#fileErrors = new Counter({ name: `${prefix}job_file_load_errors_total`, help: 'Job files that failed to load or validate.', registers });
    this.#apiConnections = new Gauge({ name: `${prefix}api_connections`, help: 'Open API connections, by listener.', labelNames: ['listener'], registers });
    this.#apiRefused = new Counter({
      name: `${prefix}api_connections_refused_total`,
      help: 'API connections closed on accept because the listener was at its connection cap.',
      labelNames: ['listener'],
      registers,
    });
    this.#registrations = new Gauge({ name: `${prefix}service_registrations`, help: 'Services in the local catalog.', registers });
    this.#checks = new Gauge({ name: `${prefix}service_checks`, help: 'Service checks by status.', labelNames: ['status'], registers });
    for (const status of ['passing', 'warning', 'critical', 'pending']) this.#checks.set({ status }, 0);
    this.#checkRuns = new Counter({ name: `${prefix}service_check_runs_total`, help: 'Service checks run, by kind and result.', labelNames: ['type', 'status'], registers });
    this.#checkDuration = new Histogram({
      name: `${prefix}service_check_duration_seconds`,
      help: 'How long one service check took.',
      labelNames: ['type'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#checkRestarts = new Counter({ name: `${prefix}service_check_restarts_total`, help: 'Tasks restarted by check_restart.', registers });
    this.#apiTimeouts = new Counter({
      name: `${prefix}api_timeouts_total`,
      help: 'API requests cut because the client was too slow to send headers or body.',
      labelNames: ['listener', 'phase'],
      registers,
    });
  }

  /** Checks by state and registrations in the catalog, now. */
  checkStates(counts: Record<CheckState, number>, registrations: number): void {
    for (const [status, n] of Object.entries(counts)) this.#checks.set({ status }, n);
    this.#registrations.set(registrations);
  }

  /** One check ran. */
  checkRun(type: CheckKind, status: CheckStatus, ms: number): void {
    this.#checkRuns.inc({ type, status });
    this.#checkDuration.observe({ type }, ms / 1000);
  }

  /** check_restart restarted a task. */
  checkRestart(): void {
    this.#checkRestarts.inc();
  }

  /** A task process runs; `latencyMs` from the start decision to running (launch latency histogram). */
  taskStarted(driver: string, latencyMs: number): void {
    this.#starts.inc({ driver });
    this.#launch.observe({ driver }, latencyMs / 1000);
  }

  /** A task process ended (any reason), counted by outcome. Also call `oomKill` for an OOM kill. */
  taskExited(driver: string, exit: { code: number | null; signal?: string | null; oomKilled?: boolean }): void {
    const outcome = exit.oomKilled ? 'oom' : exit.code === 0 ? 'success' : exit.code === null && exit.signal ? 'signal' : 'failure';
    this.#exits.inc({ driver, outcome });
  }

  /** A task is restarted (restart policy or `tendctl restart`). */
  restart(driver: string): void {
    this.#restarts.inc({ driver });
  }

  /** The OOM killer ended a task. */
  oomKill(driver: string): void {
    this.#oomKills.inc({ driver });
  }

  /** One reconcile pass (diff + plan) took `ms`. */
  reconcilePass(ms: number): void {
    this.#reconcile.observe(ms / 1000);
  }

  /** Actions queued or in progress in the work queue, now. */
  queueDepth(n: number): void {
    this.#queue.set(n);
  }

  /** A job file failed to load or validate (once per failed load). */
  fileLoadError(n = 1): void {
    this.#fileErrors.inc(n);
  }

  /** Open API connections on a listener (`unix` or `tcp`), now. */
  apiConnections(listener: string, n: number): void {
    this.#apiConnections.set({ listener }, n);
  }

  /** A listener at its cap closed a new connection. */
  apiConnectionRefused(listener: string): void {
    this.#apiRefused.inc({ listener });
  }

  /** A request was cut because its headers or its body did not arrive in time. */
  apiTimeout(listener: string, phase: 'headers' | 'body'): void {
    this.#apiTimeouts.inc({ listener, phase });
  }

  /**
   * The full count of task instances, `{ [driver]: { [state]: n } }`, after
   * each pass (level-triggered: pairs absent now read 0).
   */
  setTaskStates(counts: Record<string, Record<string, number>>): void {
    const now = new Set<string>();
    for (const [driver, byState] of Object.entries(counts)) {
      for (const [state, n] of Object.entries(byState)) {
        this.#tasks.set({ state, driver }, n);
        now.add(`${driver}\0${state}`);
      }
    }
    for (const key of this.#lastStates) {
      if (now.has(key)) continue;
      const [driver, state] = key.split('\0');
      this.#tasks.set({ state, driver }, 0);
    }
    this.#lastStates = now;
  }
}
