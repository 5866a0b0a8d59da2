/**
 * Services (Nomad's service hook and group service hook): registrations follow the lifecycle of
 * what they belong to.
 *
 *  - A task's services are registered when it has started (poststart, and again when recovery
 *    adopts it after an agent restart) and deregistered when it stops or exits (before its kill
 *    signal, as Nomad deregisters before killing: no one is sent to a task going away).
 *  - A group's services are registered by the allocation's first main task (or sidecar) to run,
 *    and deregistered when none of them runs any more (init, ephemeral and poststop tasks do not
 *    count).
 *  - An in-place edit of the services (`services`, `group_services`: no restart, as in Nomad)
 *    registers the new definitions; unchanged checks keep their state.
 *  - check_restart restarts a task through its worker (`TaskControl.restart` with `failure`: the
 *    restart policy counts it); script checks run inside their task through its exec path; check
 *    events go to the check's task (a group check without one: a running task of the allocation).
 *  - The allocation's expected checks (health.ts) are set at each start, from the group's spec.
 *
 * Names, tags, ports and check fields are interpolated with the registering task's runtime
 * environment (a group service: the task that registers it). A service that cannot be resolved
 * (a port label the allocation lacks, a name invalid once interpolated) is a "Service
 * Registration" event; the task keeps running.
 */
import type pino from 'pino';
import type { NodeInfo } from '../../jobspec/model.js';
import { runtimeFiller, type RuntimeContext } from '../../jobspec/interpolate.js';
import type { AllocatedPort } from '../../ports/ports.js';
import type { TaskDirs } from '../../drivers/alloc-dir.js';
import { describeError } from '../../errors.js';
import { TASK_EVENT } from '../../store/store.js';
import type { CheckHost, CheckRunner } from '../../services/runner.js';
import { countsForAlloc, expectedChecks, type HealthTracker } from '../../services/health.js';
import { buildRegistrations } from '../../services/registration.js';
import type { DesiredInstance } from '../reconcile.js';
import type { EmitEvent, ExitedHook, PoststartHook, StopHook, TaskControl, TeardownHook, UpdateHook } from '../hooks.js';

export interface ServicesHookOptions {
  runner: Pick<CheckRunner, 'set' | 'remove' | 'taskStarted'>;
  health: Pick<HealthTracker, 'expect' | 'forget'>;
  node: NodeInfo;
  agentEnv: Record<string, string | undefined>;
  /** The default host network's address (a service with a numeric port or none). */
  nodeAddress: string;
  /** Epoch ms (default Date.now). */
  now?: () => number;
}

/** How an exec task sees its dirs inside its root (raw_exec: the host paths). */
const EXEC_VIEW = { taskDir: '/', allocDir: '/alloc' };

/** A running task of an allocation, as the hook knows it. */
interface Live {
  id: string;
  instance: DesiredInstance;
  dirs: Pick<TaskDirs, 'taskDir' | 'allocDir'>;
  ports: readonly AllocatedPort[];
  control: TaskControl;
  emit: EmitEvent;
  logger: pino.Logger;
  startedAt: number;
  counts: boolean;
}

interface Alloc {
  tasks: Map<string, Live>;
  host: CheckHost;
}

export type ServicesHooks = PoststartHook & UpdateHook & StopHook & ExitedHook & TeardownHook;

const taskOwner = (id: string) => `task:${id}`;
const groupOwner = (allocId: string) => `group:${allocId}`;

export function servicesHooks(o: ServicesHookOptions): ServicesHooks {
  const allocs = new Map<string, Alloc>();
  const now = o.now ?? Date.now;

  const allocOf = (allocId: string): Alloc => {
    let a = allocs.get(allocId);
    if (a) return a;
    const tasks = new Map<string, Live>();
    const host: CheckHost = {
      exec: (task) => {
        const t = tasks.get(task);
        return t ? (cmd, timeoutMs) => t.control.exec(cmd, timeoutMs) : undefined;
      },
      restart: (task, reason) => tasks.get(task)?.control.restart(reason, { failure: true }),
      emit: (task, type, message, details) => {
        const t = (task !== undefined ? tasks.get(task) : undefined) ?? [...tasks.values()].find((x) => x.counts) ?? [...tasks.values()][0];
        t?.emit(type, message, details);
      },
      startedAt: (task) => tasks.get(task)?.startedAt,
    };
    allocs.set(allocId, (a = { tasks, host }));
    return a;
  };

  const fillerOf = (t: Live) => {
    const d = t.instance;
    const view = d.task.driver === 'exec' ? EXEC_VIEW : undefined;
    const rctx: RuntimeContext = {
      job: d.job,
      group: d.group,
      task: d.task,
      index: d.index,
      allocId: d.allocId,
      allocDir: view?.allocDir ?? t.dirs.allocDir,
      taskDir: view?.taskDir ?? t.dirs.taskDir,
      ...(t.ports.length ? { ports: t.ports } : {}),
      node: o.node,
      env: o.agentEnv,
    };
    return runtimeFiller(rctx);
  };

  /** Register `services` for `owner` with `t`'s environment; a failure is an event, not an error. */
  const register = (a: Alloc, owner: string, t: Live, group: boolean): void => {
    const d = t.instance;
    const services = group ? d.group.services : d.task.services;
    if (!services?.length) {
      o.runner.remove(owner);
      return;
    }
    try {
      const regs = buildRegistrations(
        {
          job: { id: d.job.id, name: d.job.name, namespace: d.job.namespace, file: d.file },
          group: d.group.name,
          index: d.index,
          allocId: d.allocId,
          ...(group ? {} : { task: d.task.name }),
          ports: t.ports,
          nodeAddress: o.nodeAddress,
          fill: fillerOf(t),
        },
        services,
      );
      o.runner.set(owner, regs, a.host);
    } catch (err) {
      const msg = describeError(err);
      t.logger.warn({ err: msg, group }, 'failed to register services');
      t.emit(TASK_EVENT.ServiceRegistration, msg);
    }
  };

  /** The task is no longer running: its services go, and the group's when no counting task is left. */
  const gone = (allocId: string, id: string, task: string): void => {
    o.runner.remove(taskOwner(id));
    const a = allocs.get(allocId);
    if (!a || a.tasks.get(task)?.id !== id) return;
    a.tasks.delete(task);
    if (![...a.tasks.values()].some((t) => t.counts)) o.runner.remove(groupOwner(allocId));
  };

  return {
    name: 'services',
    async poststart({ instance: d, dirs, handle, ports, task: control, emit, logger, recovered }) {
      const a = allocOf(d.allocId);
      const started = recovered ? Date.parse(handle.startedAt) : NaN;
      const t: Live = {
        id: d.id,
        instance: d,
        dirs,
        ports,
        control,
        emit,
        logger,
        startedAt: Number.isFinite(started) ? started : now(),
        counts: countsForAlloc(d.task),
      };
      a.tasks.set(d.task.name, t);
      o.health.expect(d.allocId, expectedChecks(d.group));
      o.runner.taskStarted(d.allocId, d.task.name, t.startedAt);
      register(a, taskOwner(d.id), t, false);
      if (t.counts) register(a, groupOwner(d.allocId), t, true);
    },
    async update({ instance: d, record, fields }) {
      if (!fields.some((f) => f === 'services' || f === 'group_services')) return;
      const a = allocs.get(record.allocId);
      const t = a?.tasks.get(record.task);
      if (!a || !t || t.id !== record.id) return;
      t.instance = d;
      o.health.expect(d.allocId, expectedChecks(d.group));
      if (fields.includes('services')) register(a, taskOwner(d.id), t, false);
      if (fields.includes('group_services') && t.counts) register(a, groupOwner(d.allocId), t, true);
    },
    async stop({ record }) {
      gone(record.allocId, record.id, record.task);
    },
    async exited({ record }) {
      gone(record.allocId, record.id, record.task);
    },
    async teardown({ record, lastOfAlloc }) {
      gone(record.allocId, record.id, record.task);
      if (!lastOfAlloc) return;
      o.runner.remove(groupOwner(record.allocId));
      o.health.forget(record.allocId);
      allocs.delete(record.allocId);
    },
  };
}
