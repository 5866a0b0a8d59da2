/**
 * The check runner: keeps the catalog's registrations and runs their checks on the scheduler.
 *
 *  - `set(owner, registrations, host)`: an owner (a task instance for its services, an allocation
 *    for its group's) registers what it has now; what it had before and no longer has goes, a
 *    registration that did not change keeps its checks' states and timing, a changed check starts
 *    over;
 *  - `remove(owner)`: deregister all of the owner's;
 *  - each run: the check's kind (kinds/), then its counters (status.ts) into the catalog, a task
 *    event when the status changes ("Health Check": `Health check "web" failed (critical): …`),
 *    and check_restart (check-restart.ts): at its limit the check's task is restarted through the
 *    host, that is its worker and restart policy (Nomad's `healthcheck: check "web" unhealthy`);
 *  - `taskStarted(allocId, task, at)`: check_restart's grace starts over for that task's checks.
 * The host is what the services hook gives for the allocation: exec in a task, restart a task,
 * task events.
 */
import type pino from 'pino';
import { describeError } from '../errors.js';
import { TASK_EVENT, type TaskEventType } from '../store/store.js';
import type { ServiceCatalog } from './catalog.js';
import { CheckRestartTracker } from './check-restart.js';
import { runGrpc } from './kinds/grpc.js';
import { runHttp } from './kinds/http.js';
import { runScript, type ExecInTask } from './kinds/script.js';
import { runTcp } from './kinds/tcp.js';
import type { CheckScheduler } from './scheduler.js';
import { noopServiceMetrics, type CheckResult, type CheckSpec, type Registration, type ServiceMetrics } from './services.js';
import { applyResult } from './status.js';

/** What the runner may ask of an allocation's tasks (the services hook implements it). */
export interface CheckHost {
  /** How to run a command in task `task` of the allocation; undefined when it is not running. */
  exec(task: string): ExecInTask | undefined;
  /** Restart task `task` because a check stayed unhealthy: a failure, through its restart policy. */
  restart(task: string, reason: string): void;
  /** Record a task event about a check: on `task` when it runs, else on a running task of the allocation. */
  emit(task: string | undefined, type: TaskEventType, message: string, details?: Record<string, unknown>): void;
  /** When `task` last started (epoch ms), for check_restart's grace; undefined when not known (now is used). */
  startedAt(task: string): number | undefined;
}

/** How each kind of check runs (replaceable in tests). */
export interface CheckKinds {
  http(spec: CheckSpec): Promise<CheckResult>;
  tcp(spec: CheckSpec): Promise<CheckResult>;
  grpc(spec: CheckSpec): Promise<CheckResult>;
  script(spec: CheckSpec, exec: ExecInTask | undefined): Promise<CheckResult>;
}

export const defaultKinds: CheckKinds = { http: runHttp, tcp: runTcp, grpc: runGrpc, script: runScript };

export interface CheckRunnerOptions {
  catalog: ServiceCatalog;
  scheduler: CheckScheduler;
  logger: pino.Logger;
  metrics?: ServiceMetrics;
  /** Epoch ms (default Date.now). */
  now?: () => number;
  kinds?: Partial<CheckKinds>;
}

interface Running {
  spec: CheckSpec;
  reg: Registration;
  host: CheckHost;
  tracker?: CheckRestartTracker;
}

/** Events keep the first part of a check's output. */
const EVENT_OUTPUT = 240;

export class CheckRunner {
  readonly #o: CheckRunnerOptions;
  readonly #log: pino.Logger;
  readonly #kinds: CheckKinds;
  readonly #metrics: ServiceMetrics;
  readonly #now: () => number;
  readonly #owners = new Map<string, Set<string>>();
  readonly #checks = new Map<string, Running>();

  constructor(o: CheckRunnerOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'checks' });
    this.#kinds = { ...defaultKinds, ...o.kinds };
    this.#metrics = o.metrics ?? noopServiceMetrics;
    this.#now = o.now ?? Date.now;
  }

  /** The registrations an owner has now (replacing what it had). */
  set(owner: string, regs: readonly Registration[], host: CheckHost): void {
    const { catalog, scheduler } = this.#o;
    const ids = new Set(regs.map((r) => r.id));
    for (const id of this.#owners.get(owner) ?? []) if (!ids.has(id)) this.#deregister(id);
    this.#owners.set(owner, ids);
    for (const reg of regs) {
      const prev = catalog.get(reg.id);
      const wanted = new Set(reg.checks.map((c) => c.id));
      for (const c of prev?.checks ?? []) if (!wanted.has(c.id)) this.#unschedule(c.id);
      if (!prev || JSON.stringify(prev) !== JSON.stringify(reg)) {
        catalog.register(reg);
        this.#log.info({ service: reg.name, id: reg.id, address: reg.address, port: reg.port, checks: reg.checks.length, job: reg.job, allocId: reg.allocId }, 'service registered');
      }
      for (const spec of reg.checks) {
        const cur = this.#checks.get(spec.id);
        if (cur && JSON.stringify(cur.spec) === JSON.stringify(spec)) {
          cur.reg = reg;
          cur.host = host;
          continue;
        }
        const tracker = spec.checkRestart && spec.task ? new CheckRestartTracker(spec.checkRestart, host.startedAt(spec.task) ?? this.#now()) : undefined;
        const entry: Running = { spec, reg, host, ...(tracker ? { tracker } : {}) };
        this.#checks.set(spec.id, entry);
        scheduler.add(spec.id, spec.intervalMs, () => this.#run(spec.id));
      }
    }
    this.#states();
  }

  /** Deregister everything the owner registered. */
  remove(owner: string): void {
    const ids = this.#owners.get(owner);
    if (!ids) return;
    this.#owners.delete(owner);
    for (const id of ids) this.#deregister(id);
    this.#states();
  }

  /** Whether the owner has registrations. */
  has(owner: string): boolean {
    return (this.#owners.get(owner)?.size ?? 0) > 0;
  }

  /** Task `task` of the allocation (re)started at `at`: check_restart's grace begins for its checks. */
  taskStarted(allocId: string, task: string, at: number): void {
    for (const c of this.#checks.values()) if (c.reg.allocId === allocId && c.spec.task === task) c.tracker?.started(at);
  }

  close(): void {
    for (const owner of [...this.#owners.keys()]) this.remove(owner);
  }

  #deregister(id: string): void {
    const reg = this.#o.catalog.get(id);
    if (!reg) return;
    for (const c of reg.checks) this.#unschedule(c.id);
    this.#o.catalog.deregister(id);
    this.#log.info({ service: reg.name, id, job: reg.job, allocId: reg.allocId }, 'service deregistered');
  }

  #unschedule(checkId: string): void {
    this.#checks.delete(checkId);
    this.#o.scheduler.remove(checkId);
  }

  #states(): void {
    this.#metrics.checkStates(this.#o.catalog.stateCounts(), this.#o.catalog.size);
  }

  async #run(checkId: string): Promise<void> {
    const e = this.#checks.get(checkId);
    if (!e) return;
    const { spec } = e;
    const t0 = performance.now();
    let result: CheckResult;
    try {
      result =
        spec.type === 'script' ? await this.#kinds.script(spec, spec.task ? e.host.exec(spec.task) : undefined)
        : spec.type === 'http' ? await this.#kinds.http(spec)
        : spec.type === 'grpc' ? await this.#kinds.grpc(spec)
        : await this.#kinds.tcp(spec);
    } catch (err) {
      result = { status: 'critical', output: `failed to run check: ${describeError(err)}` };
    }
    // Deregistered or replaced while it ran: the result is stale.
    if (this.#checks.get(checkId) !== e) return;
    this.#metrics.checkRun(spec.type, result.status, performance.now() - t0);
    const { catalog } = this.#o;
    const prev = catalog.check(checkId);
    if (!prev) return;
    const now = this.#now();
    const next = applyResult(prev, result, now);
    catalog.setCheck(checkId, next);
    if (next.status !== prev.status) {
      this.#states();
      const failed = next.status !== 'passing';
      const output = next.output && next.output.length > EVENT_OUTPUT ? `${next.output.slice(0, EVENT_OUTPUT)}…` : next.output;
      const message = failed ? `Health check "${spec.name}" failed (${next.status}): ${output ?? ''}` : `Health check "${spec.name}" passing`;
      const log = { check: spec.name, service: e.reg.name, job: e.reg.job, allocId: e.reg.allocId, status: next.status, was: prev.status };
      if (failed) this.#log.warn({ ...log, output: next.output }, 'health check failed');
      else this.#log.info(log, 'health check passing');
      e.host.emit(spec.task ?? e.reg.task, TASK_EVENT.HealthCheck, message, { check: spec.name, service: e.reg.name, status: next.status, was: prev.status });
    }
    if (e.tracker && spec.task && e.tracker.observe(next.status, now)) {
      const reason = `healthcheck: check "${spec.name}" unhealthy`;
      this.#log.warn({ check: spec.name, service: e.reg.name, task: spec.task, allocId: e.reg.allocId, limit: spec.checkRestart?.limit }, 'restarting task: health check unhealthy');
      this.#metrics.checkRestart();
      e.host.restart(spec.task, reason);
    }
  }
}
