/**
 * Spec hashes of one task instance, split by what a change forces:
 *  - restart fields: a new process is needed (driver, command, args, the rest
 *    of the driver config, env, user, meta, logs, artifacts, templates, volumes, dispatch_payload,
 *    the allocation's ports: labels, statics, `to`, host networks — not the dynamic values);
 *  - resource fields: applied in place (cpu, memory, memory_max, cores, pids_limit);
 *  - policy fields: stored only, or applied by update hooks (kill_signal, kill_timeout, restart
 *    policy, templates, services: a service or check edit re-registers in place, as in Nomad).
 * Hashes are cached per Task object, so an unchanged file costs nothing.
 */
import { createHash } from 'node:crypto';
import type { Group, Job, Task } from '../jobspec/model.js';
import type { SpecHashes } from '../store/store.js';
import { portRequests } from '../ports/requests.js';

/** JSON with sorted object keys, so equal values hash equally. */
export function stableStringify(v: unknown): string {
  if (v === undefined) return 'null';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
    .join(',')}}`;
}

function h(s: string, len = 16): string {
  return createHash('sha256').update(s).digest('hex').slice(0, len);
}

export type FieldClass = 'restart' | 'resources' | 'policy';

/** Which class a field name belongs to. */
export function fieldClass(field: string): FieldClass {
  if (field.startsWith('resources.') || field === 'config.pids_limit') return 'resources';
  if (field === 'kill_signal' || field === 'kill_timeout' || field.startsWith('restart.') || field === 'templates' || field === 'services' || field === 'group_services') return 'policy';
  return 'restart';
}

/** The flat field → value map of a task, as seen by the diff. */
export function specFields(job: Job, group: Group, task: Task): Record<string, unknown> {
  const f: Record<string, unknown> = {
    driver: task.driver,
    command: task.config.command,
    args: task.config.args,
    user: task.user ?? '',
    logs: task.logs,
    artifacts: task.artifacts,
    templates: task.templates,
    volume_mounts: task.volumeMounts,
    volumes: group.volumes,
    pid_mode: task.config.pidMode ?? '',
    ipc_mode: task.config.ipcMode ?? '',
    cap_add: task.config.capAdd,
    cap_drop: task.config.capDrop,
    'resources.cpu': task.resources.cpu,
    'resources.memory': task.resources.memoryMB,
    'resources.memory_max': task.resources.memoryMaxMB ?? null,
    'resources.cores': task.resources.cores ?? null,
    'config.pids_limit': task.config.pidsLimit ?? null,
    kill_signal: task.killSignal,
    kill_timeout: task.killTimeoutMs,
    'restart.attempts': task.restart.attempts,
    'restart.interval': task.restart.intervalMs,
    'restart.delay': task.restart.delayMs,
    'restart.mode': task.restart.mode,
  };
  // Only when there are ports: a task without them keeps the hash it had before tend knew ports.
  const ports = portRequests(group);
  if (ports.length) f.network = ports;
  // Only when set: a field every task gained would change every existing hash (and restart every task).
  if (task.dispatchPayload) f.dispatch_payload = task.dispatchPayload.file;
  if (task.services?.length) f.services = task.services.map(withoutPos);
  if (group.services?.length) f.group_services = group.services.map(withoutPos);
  const known = new Set(['command', 'args', 'pid_mode', 'ipc_mode', 'cap_add', 'cap_drop', 'pids_limit']);
  for (const [k, v] of Object.entries(task.config.raw ?? {})) if (!known.has(k)) f[`config.${k}`] = v;
  for (const [k, v] of Object.entries(task.env ?? {})) f[`env.${k}`] = v;
  // Meta reaches the task as NOMAD_META_*: a change needs a new process.
  const meta = { ...job.meta, ...group.meta, ...task.meta };
  for (const [k, v] of Object.entries(meta)) f[`meta.${k}`] = v;
  return f;
}

/** A service as hashed: without source positions (moving a block is no edit). */
function withoutPos(s: NonNullable<Task['services']>[number]): unknown {
  return { ...s, pos: undefined, checks: s.checks.map((c) => ({ ...c, pos: undefined })) };
}
/** Fields whose values are not kept with the hashes: template data may hold secrets (and is large). */
const WITHOUT_VALUE = new Set(['templates']);

const cache = new WeakMap<Task, { job: Job; group: Group; hashes: SpecHashes }>();

export function computeHashes(job: Job, group: Group, task: Task): SpecHashes {
  const hit = cache.get(task);
  if (hit && hit.job === job && hit.group === group) return hit.hashes;
  const fields: Record<string, string> = {};
  const byClass: Record<FieldClass, string[]> = { restart: [], resources: [], policy: [] };
  const spec = specFields(job, group, task);
  const values: Record<string, unknown> = {};
  for (const k of Object.keys(spec).sort()) {
    const fh = h(stableStringify(spec[k]), 12);
    fields[k] = fh;
    byClass[fieldClass(k)].push(`${k}=${fh}`);
    if (!WITHOUT_VALUE.has(k)) values[k] = spec[k] ?? null;
  }
  const hashes: SpecHashes = {
    restart: h(byClass.restart.join('\n')),
    resources: h(byClass.resources.join('\n')),
    policy: h(byClass.policy.join('\n')),
    fields,
    values,
  };
  cache.set(task, { job, group, hashes });
  return hashes;
}

/** Field names of `cls` whose hash differs (added or removed fields count). */
export function changedFields(a: SpecHashes, b: SpecHashes, cls: FieldClass): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(a.fields), ...Object.keys(b.fields)]);
  for (const k of keys) if (fieldClass(k) === cls && a.fields[k] !== b.fields[k]) out.push(k);
  return out.sort();
}
