/**
 * Runtime interpolation, at launch: the NOMAD_* environment of a task
 * instance and the substitution of `${NOMAD_*}`, `${node.*}`, `${attr.*}`,
 * `${meta.*}` and `${env["X"]}` in every string of the task. References
 * Nomad knows but tend cannot fill (upstreams, …), port variables of labels
 * the allocation does not have, and text that is not a reference (`${HOME}`
 * written as `$${HOME}`) stay as written.
 */
import { TendError } from '../errors.js';
import type { AllocatedPort } from '../ports/ports.js';
import { portEnv } from '../ports/env.js';
import type { Job, Group, Task, NodeInfo } from './model.js';

/** What is known about one task instance at launch. */
export interface RuntimeContext {
  job: Job;
  group: Group;
  task: Task;
  index: number;
  allocId: string;
  /** Paths as the task sees them (host paths for raw_exec, in-root paths for exec). */
  allocDir: string;
  taskDir: string;
  /** Exclusive cores assigned (NOMAD_CPU_CORES). */
  cores?: number[];
  /** The allocation's ports (NOMAD_PORT_<label>, NOMAD_ADDR_<label>, …; src/ports/env.ts). */
  ports?: readonly AllocatedPort[];
  node: NodeInfo;
  /** The agent's environment, for `${env["X"]}`. */
  env: Record<string, string | undefined>;
}

/** Meta keys as env names: NOMAD_META_<key> (as written, and upper-cased with . and - as _). */
function metaEnv(meta: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta)) {
    out[`NOMAD_META_${k}`] = v;
    out[`NOMAD_META_${k.toUpperCase().replace(/[.\-]/g, '_')}`] = v;
  }
  return out;
}

/** The NOMAD_* variables of the instance (NOMAD_JOB_NAME, NOMAD_ALLOC_DIR, NOMAD_CPU_LIMIT, NOMAD_META_*, NOMAD_PORT_*, …). */
export function runtimeEnv(ctx: RuntimeContext): Record<string, string> {
  const { job, group, task, index } = ctx;
  const sep = ctx.taskDir.includes('\\') ? '\\' : '/';
  const join = (dir: string, sub: string) => (dir.endsWith(sep) ? dir + sub : `${dir}${sep}${sub}`);
  const r = task.resources;
  const env: Record<string, string> = {
    ...metaEnv({ ...job.meta, ...group.meta, ...task.meta }),
    NOMAD_JOB_NAME: job.name,
    NOMAD_JOB_ID: job.id,
    NOMAD_GROUP_NAME: group.name,
    NOMAD_TASK_NAME: task.name,
    NOMAD_ALLOC_ID: ctx.allocId,
    NOMAD_SHORT_ALLOC_ID: ctx.allocId.slice(0, 8),
    NOMAD_ALLOC_INDEX: String(index),
    NOMAD_ALLOC_NAME: `${job.name}.${group.name}[${index}]`,
    NOMAD_ALLOC_DIR: ctx.allocDir,
    NOMAD_TASK_DIR: join(ctx.taskDir, 'local'),
    NOMAD_SECRETS_DIR: join(ctx.taskDir, 'secrets'),
    NOMAD_MEMORY_LIMIT: String(r.memoryMB),
    NOMAD_CPU_LIMIT: String(r.cpu),
    NOMAD_DC: ctx.node.datacenter,
    NOMAD_REGION: ctx.node.attributes['nomad.region'] ?? 'global',
    NOMAD_NAMESPACE: job.namespace ?? 'default',
  };
  if (job.parent) env.NOMAD_JOB_PARENT_ID = job.parent;
  if (r.memoryMaxMB !== undefined && r.memoryMaxMB > 0) env.NOMAD_MEMORY_MAX_LIMIT = String(r.memoryMaxMB);
  if (ctx.cores?.length) env.NOMAD_CPU_CORES = ctx.cores.join(',');
  if (ctx.ports?.length) Object.assign(env, portEnv(ctx.ports, task.name));
  return env;
}

const REF = /(?<!\$)\$\{\s*([^{}]+?)\s*\}/g;

/** Resolve one reference; undefined when it is not something tend fills (left as written). */
function resolve(ref: string, ctx: RuntimeContext, nomad: Record<string, string>): string | undefined {
  if (ref.startsWith('NOMAD_')) return nomad[ref];
  if (ref.startsWith('attr.')) return ctx.node.attributes[ref.slice(5)];
  if (ref.startsWith('meta.')) return ctx.node.meta[ref.slice(5)];
  switch (ref) {
    case 'node.unique.name':
      return ctx.node.name;
    case 'node.unique.id':
      return ctx.node.id;
    case 'node.class':
      return ctx.node.class;
    case 'node.datacenter':
      return ctx.node.datacenter;
  }
  const env = /^env(?:\[\s*"([^"]*)"\s*\]|\.(\w+))$/.exec(ref);
  if (env) return ctx.env[env[1] ?? env[2]] ?? '';
  return undefined;
}

/** Must this reference resolve (a form tend fills), or may it stay as written? */
function mustResolve(ref: string): boolean {
  return /^(attr|meta)\./.test(ref) || ['node.unique.name', 'node.unique.id', 'node.class', 'node.datacenter'].includes(ref) || /^NOMAD_(META_\w+)$/.test(ref);
}

/**
 * A function that fills the runtime references of one string of the instance (`field` names it in
 * errors, under `where`, default the task's path): what interpolateTask does to each field, for
 * the fields of other blocks (services). Throws TendError E_SPEC_INVALID like interpolateTask.
 */
export function runtimeFiller(ctx: RuntimeContext, where = `job "${ctx.job.id}" › group "${ctx.group.name}" › task "${ctx.task.name}"`): (s: string, field: string) => string {
  const nomad = runtimeEnv(ctx);
  return (s: string, field: string): string =>
    s.includes('${')
      ? s.replace(REF, (whole, ref: string) => {
          const v = resolve(ref, ctx, nomad);
          if (v !== undefined) return v;
          if (mustResolve(ref)) {
            throw new TendError('E_SPEC_INVALID', `failed to interpolate ${where} › ${field}: \${${ref}} is not set on this node`, {
              details: { job: ctx.job.id, group: ctx.group.name, task: ctx.task.name, field, ref },
            });
          }
          return whole;
        })
      : s;
}

/**
 * Fill every runtime reference in the task's command, args, env, user, driver
 * config, template/artifact fields; returns a new Task. Throws TendError
 * E_SPEC_INVALID naming the field for a reference that cannot be resolved.
 */
export function interpolateTask(ctx: RuntimeContext): Task {
  const fill = runtimeFiller(ctx);
  const deep = (v: unknown, field: string): unknown => {
    if (typeof v === 'string') return fill(v, field);
    if (Array.isArray(v)) return v.map((x, i) => deep(x, `${field}[${i}]`));
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(x, `${field}.${k}`)]));
    return v;
  };
  const t = ctx.task;
  const mapOf = (m: Record<string, string>, field: string) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, fill(v, `${field}.${k}`)]));
  return {
    ...t,
    config: {
      ...t.config,
      command: fill(t.config.command, 'config.command'),
      args: t.config.args.map((a, i) => fill(a, `config.args[${i}]`)),
      raw: deep(t.config.raw, 'config') as Record<string, unknown>,
    },
    env: mapOf(t.env, 'env'),
    ...(t.user !== undefined ? { user: fill(t.user, 'user') } : {}),
    meta: mapOf(t.meta, 'meta'),
    artifacts: t.artifacts.map((a, i) => ({
      ...a,
      source: fill(a.source, `artifact[${i}].source`),
      destination: fill(a.destination, `artifact[${i}].destination`),
      options: mapOf(a.options, `artifact[${i}].options`),
      headers: mapOf(a.headers, `artifact[${i}].headers`),
    })),
    templates: t.templates.map((tp, i) => ({
      ...tp,
      ...(tp.source !== undefined ? { source: fill(tp.source, `template[${i}].source`) } : {}),
      destination: fill(tp.destination, `template[${i}].destination`),
    })),
    volumeMounts: t.volumeMounts.map((m, i) => ({ ...m, destination: fill(m.destination, `volume_mount[${i}].destination`) })),
  };
}
