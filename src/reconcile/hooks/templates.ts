/**
 * Templates (Nomad's template hook): at each start, a task's `template` blocks are rendered into
 * its dirs before the driver prepares the launch, and their `env = true` output joins the task's
 * environment; a task starts only once every template has rendered (a missing variable makes it
 * wait, not fail). While the task runs, its templates watch their inputs and apply their
 * `change_mode` through the task's worker (src/templates/task-templates.ts). An edit of the job
 * file that changes only templates re-renders them in place (the `update` point).
 *
 * Templates render with the task's runtime environment as the task sees it (`${NOMAD_TASK_DIR}`
 * is `/local`'s parent inside an exec task's root), and read Nomad variables through the task's
 * workload identity (the parent job's id for periodic and dispatched children), with the agent's
 * variable policies as they are at render time (SIGHUP reloads them).
 */
import type { NodeInfo } from '../../jobspec/model.js';
import { taskView } from './task-view.js';
import type { AllocatedPort } from '../../ports/ports.js';
import type { TaskDirs } from '../../drivers/alloc-dir.js';
import type { VariablePolicy, VariableStore } from '../../vars/index.js';
import { TaskTemplates, type ServiceSource } from '../../templates/task-templates.js';
import type { DesiredInstance } from '../reconcile.js';
import type { ExitedHook, PrestartHook, StopHook, TeardownHook, UpdateHook } from '../hooks.js';

/** The agent's `client { template { … } }` (its TemplateClientConfig fits). */
export interface TemplateSettings {
  wait: { minMs: number; maxMs: number };
  functionDenylist: string[];
  disableFileSandbox: boolean;
  fileDirs: string[];
}

export interface TemplateHookOptions {
  node: NodeInfo;
  agentEnv: Record<string, string | undefined>;
  /** The agent's variable store (absent: nomadVar* are errors). */
  variables?: VariableStore;
  /** The variable policies of the agent config, read at each render. */
  policies?: () => readonly VariablePolicy[];
  /** The agent's `client { template { … } }` as it is now (wait, function_denylist, file sandbox, file_dirs). */
  config?: () => TemplateSettings;
  /** The local service catalog (absent: nomadService* are errors). */
  services?: {
    forTemplates(namespace: string): ServiceSource['catalog'];
    watch(name: string, cb: () => void): () => void;
  };
  random?: () => number;
}

export type TemplateHooks = PrestartHook & UpdateHook & StopHook & ExitedHook & TeardownHook;

export function templateHooks(o: TemplateHookOptions): TemplateHooks {
  const running = new Map<string, TaskTemplates>();
  /** The allocation's ports each running task was started with (its NOMAD_PORT_* in `{{ env }}`). */
  const portsOf = new Map<string, readonly AllocatedPort[] | undefined>();
  const close = (id: string) => {
    running.get(id)?.close();
    running.delete(id);
    portsOf.delete(id);
  };
  const prepared = (instance: DesiredInstance, dirs: Pick<TaskDirs, 'taskDir' | 'allocDir'>, ports: readonly AllocatedPort[] | undefined) => taskView(instance, dirs, ports, o.node, o.agentEnv);
  return {
    name: 'templates',
    async prestart({ instance, dirs, user, ports, emit, setEnv, task: control, logger }) {
      close(instance.id);
      if (!instance.task.templates.length) return;
      const { task, view, env } = prepared(instance, dirs, ports);
      const cfg = o.config?.();
      const identity = { job: instance.job.parent ?? instance.job.id, group: instance.group.name, task: instance.task.name };
      const t = new TaskTemplates({
        file: instance.file,
        templates: task.templates,
        dirs: { taskDir: dirs.taskDir, allocDir: dirs.allocDir },
        view,
        owner: user ? { uid: user.uid, gid: user.gid } : undefined,
        env,
        vars: o.variables?.forTask(identity, o.policies?.() ?? []),
        ...(o.services ? { services: { catalog: o.services.forTemplates(instance.job.namespace ?? 'default'), watch: (name, cb) => o.services!.watch(name, cb) } } : {}),
        fileDirs: [...(cfg?.fileDirs ?? [])],
        noFileSandbox: cfg?.disableFileSandbox,
        denied: new Set(cfg?.functionDenylist ?? ['plugin', 'writeToFile']),
        emit,
        control,
        logger,
        random: o.random ?? Math.random,
        defaultWait: cfg?.wait,
      });
      // Kept while waiting too: its watches wake the task when a missing input arrives.
      running.set(instance.id, t);
      portsOf.set(instance.id, ports);
      setEnv(await t.renderAll());
    },
    async update({ instance, record, fields, emit }) {
      if (!fields.includes('templates')) return;
      const t = running.get(record.id);
      if (!t) {
        if (instance.task.templates.length) emit('Template', 'templates changed: they render at the next start of the task');
        return;
      }
      await t.update(prepared(instance, t.dirs, portsOf.get(record.id)).task.templates);
    },
    async stop({ record }) {
      close(record.id);
    },
    async exited({ record }) {
      close(record.id);
    },
    async teardown({ record }) {
      close(record.id);
    },
  };
}
