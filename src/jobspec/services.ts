/**
 * `service` blocks (group and task level) and their `check` and `check_restart` blocks → the
 * model, with the checks Nomad's job validation makes (nomad/structs: Service.Validate,
 * ServiceCheck.validateCommon / validateConsul, TaskGroup.validateServices):
 *  - a name that is a valid RFC 1123 label once `${…}` references are set aside (at most 63
 *    characters, letters, digits and "-"), checked again when it is interpolated at registration;
 *  - `provider` "nomad" or "consul": both register in tend's local catalog, "consul" (Nomad's
 *    default when unset) with a warning, since a template's `service` function reads Consul;
 *  - a check's `type` (http, tcp, script, grpc), an http check's relative `path`, a script
 *    check's `command`, `interval` and `timeout` of at least 1s, `initial_status`, the pass/fail
 *    counters (tcp, http and grpc only), `address_mode` ("auto" is for services only), and
 *    `on_update` against `check_restart`;
 *  - http, tcp and grpc checks need a port (the check's or the service's); a port label names a
 *    port of the allocation;
 *  - a group service's script check and its check_restart need the task they act on (`task` of
 *    the check or the service; a group with one task needs none);
 *  - what has no meaning without Consul (connect, expose, tagged addresses, canaries, …) is
 *    warned by unsupported.ts, saying what happens instead.
 */
import type { Body } from './check.js';
import type { Reporter } from './diagnostics.js';
import { shown } from './diagnostics.js';
import type { PathStep } from './locate.js';
import type { CheckRestart, CheckStatus, OnUpdate, PortSpec, Service, ServiceCheck, SourcePos } from './model.js';
import { suggest } from './expr/index.js';

export const CHECK_TYPES = ['http', 'tcp', 'script', 'grpc'] as const;
/** Nomad's (and Consul's) minimum check interval and timeout. */
export const MIN_CHECK_MS = 1000;
/** Nomad's default `check_restart { grace }`. */
export const DEFAULT_GRACE_MS = 1000;

const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const NAME = /^(?:[a-z0-9]|[a-z0-9][a-z0-9-]{0,61}[a-z0-9])$/i;
const REF = /\$\{[^{}]*\}/g;
/** Service check types whose status is counted by success_before_passing / failures_before_*. */
const COUNTED = new Set(['http', 'tcp', 'grpc']);

type PosOf = (steps: PathStep[], attr?: string) => SourcePos;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
const first = (b: Body, type: string): Body | undefined => b.blocks[type]?.[0];

/** Where a service sits: a group's (one per allocation) or a task's. */
export type ServiceLevel = { kind: 'group' } | { kind: 'task'; task: string };

/** The default name Nomad gives an unnamed service (`${BASE}` for a task's). */
function defaultName(level: ServiceLevel): string {
  return level.kind === 'task' ? '${BASE}' : '${JOB}-${TASKGROUP}';
}

/** What is wrong with a service name once its `${…}` references are set aside; undefined when fine. */
export function serviceNameProblem(name: string): string | undefined {
  const stripped = name.replace(REF, 'ENV-VAR');
  if (NAME.test(stripped)) return undefined;
  return `expected a service name valid per RFC 1123 (letters, digits and "-", at most 63 characters, not starting or ending with "-"), got ${shown(name)}`;
}

function checkRestart(r: Reporter, b: Body | undefined): Partial<CheckRestart> | undefined {
  if (!b) return undefined;
  const out: Partial<CheckRestart> = {};
  const limit = num(b.attrs.limit);
  if (limit !== undefined) {
    if (limit < 0) r.error('schema', b.steps, 'limit', `expected a whole number >= 0, got ${limit}`);
    out.limit = limit;
  }
  if (num(b.attrs.grace) !== undefined) out.graceMs = num(b.attrs.grace);
  if (bool(b.attrs.ignore_warnings) !== undefined) out.ignoreWarnings = bool(b.attrs.ignore_warnings);
  return out;
}

/** The check's `check_restart` over its service's (the check's fields win); undefined when neither restarts. */
function mergeRestart(service: Partial<CheckRestart> | undefined, check: Partial<CheckRestart> | undefined): CheckRestart | undefined {
  if (!service && !check) return undefined;
  const m = { ...service, ...check };
  const out = { limit: m.limit ?? 0, graceMs: m.graceMs ?? DEFAULT_GRACE_MS, ignoreWarnings: m.ignoreWarnings ?? false };
  return out.limit > 0 ? out : undefined;
}

/** What a service's checks are checked against: the allocation's port labels and task names. */
interface AllocContext {
  labels: Set<string>;
  tasks: string[];
  posOf: PosOf;
}

function portProblem(ctx: AllocContext, port: string | undefined): { message: string; hint?: string } | undefined {
  if (port === undefined || /^\d+$/.test(port) || port.includes('${') || ctx.labels.has(port)) return undefined;
  const near = suggest(port, [...ctx.labels]);
  const have = ctx.labels.size ? ` (it has ${[...ctx.labels].map((l) => shown(l)).join(', ')})` : ' (it has no network ports)';
  return { message: `port label ${shown(port)} names no port of this allocation${have}`, ...(near ? { hint: `did you mean "${near}"?` } : {}) };
}

function taskProblem(ctx: AllocContext, task: string): { message: string; hint?: string } | undefined {
  if (ctx.tasks.includes(task)) return undefined;
  const near = suggest(task, ctx.tasks);
  return { message: `task ${shown(task)} is not a task of this group`, ...(near ? { hint: `did you mean "${near}"?` } : {}) };
}

function buildCheck(r: Reporter, b: Body, service: { restart?: Partial<CheckRestart>; onUpdate: OnUpdate }, ctx: AllocContext): ServiceCheck | undefined {
  const serviceRestart = service.restart;
  const a = b.attrs;
  const type = str(a.type)?.toLowerCase();
  if (type === undefined) {
    r.error('schema', b.steps, undefined, 'missing required field "type" in check: expected "http", "tcp", "script" or "grpc"');
    return undefined;
  }
  if (!(CHECK_TYPES as readonly string[]).includes(type)) {
    const near = suggest(type, [...CHECK_TYPES]);
    r.error('schema', b.steps, 'type', `expected check type "http", "tcp", "script" or "grpc", got ${shown(type)}`, near ? `did you mean "${near}"?` : undefined);
    return undefined;
  }
  const path = str(a.path);
  if (type === 'http') {
    if (!path) r.error('schema', b.steps, 'path', 'missing required field "path" in an http check (the URL path the check asks for, e.g. "/health")');
    else if (/^[a-z][a-z0-9+.-]*:/i.test(path)) r.error('schema', b.steps, 'path', `expected a relative path in an http check (tend adds the service's address and port), got ${shown(path)}`);
  }
  const command = str(a.command);
  if (type === 'script' && !command) r.error('schema', b.steps, 'command', 'missing required field "command" in a script check');
  const interval = num(a.interval);
  const timeout = num(a.timeout);
  for (const [attr, v] of [['interval', interval], ['timeout', timeout]] as const) {
    if (v === undefined) r.error('schema', b.steps, b.written.has(attr) ? attr : undefined, `missing required field "${attr}" in check: expected a duration of at least 1s, e.g. "10s"`);
    else if (v < MIN_CHECK_MS) r.error('schema', b.steps, attr, `expected ${attr} of at least 1s, got ${v}ms`);
  }
  const initial = str(a.initial_status);
  if (initial !== undefined && initial !== '' && !['passing', 'warning', 'critical'].includes(initial)) {
    r.error('schema', b.steps, 'initial_status', `expected initial_status "passing", "warning", "critical" or "", got ${shown(initial)}`);
  }
  const mode = str(a.address_mode);
  if (mode !== undefined && mode !== '' && !['host', 'alloc', 'driver'].includes(mode)) {
    r.error('schema', b.steps, 'address_mode', mode === 'auto' ? 'expected address_mode "host", "alloc" or "driver" in a check, got "auto" (only services have "auto")' : `expected address_mode "host", "alloc" or "driver", got ${shown(mode)}`);
  }
  const method = str(a.method) ?? 'GET';
  if (type === 'http' && !HTTP_TOKEN.test(method)) r.error('schema', b.steps, 'method', `expected an HTTP method such as "GET", got ${shown(method)}`);
  const counters: [string, number][] = [];
  for (const attr of ['success_before_passing', 'failures_before_critical', 'failures_before_warning']) {
    const v = num(a[attr]);
    if (v === undefined) continue;
    if (v < 0) r.error('schema', b.steps, attr, `expected a whole number >= 0, got ${v}`);
    else if (v > 0 && !COUNTED.has(type)) r.error('schema', b.steps, attr, `${attr} is not supported for a check of type "${type}" (only http, tcp and grpc)`);
    counters.push([attr, v]);
  }
  const onUpdate = (str(a.on_update) as OnUpdate | undefined) ?? service.onUpdate;
  const portWhy = portProblem(ctx, str(a.port));
  if (portWhy) r.error('schema', b.steps, 'port', portWhy.message, portWhy.hint);
  const taskWhy = str(a.task) ? taskProblem(ctx, str(a.task)!) : undefined;
  if (taskWhy) r.error('schema', b.steps, 'task', taskWhy.message, taskWhy.hint);
  const own = checkRestart(r, first(b, 'check_restart'));
  const restart = mergeRestart(serviceRestart, own);
  if (own || serviceRestart) {
    const where = own ? first(b, 'check_restart')!.steps : b.steps;
    if (onUpdate === 'ignore') r.error('schema', where, undefined, 'on_update = "ignore" is not compatible with check_restart');
    else if (onUpdate === 'ignore_warnings' && !(restart?.ignoreWarnings ?? mergeIgnore(serviceRestart, own))) {
      r.error('schema', where, undefined, 'on_update = "ignore_warnings" needs check_restart { ignore_warnings = true }');
    }
  }
  const headers: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(first(b, 'header')?.attrs ?? {})) headers[k] = Array.isArray(v) ? v.map(String) : [String(v)];
  for (const [k, vs] of Object.entries(headers)) {
    if (!HTTP_TOKEN.test(k)) r.error('schema', first(b, 'header')!.steps, k, `expected an HTTP header name, got ${shown(k)}`);
    if (vs.some((v) => /[\r\n\0]/.test(v))) r.error('schema', first(b, 'header')!.steps, k, `expected header values without line breaks or NUL bytes`);
  }
  const count = (attr: string) => counters.find(([k]) => k === attr)?.[1];
  return {
    ...(str(a.name) ? { name: str(a.name) } : {}),
    type: type as ServiceCheck['type'],
    intervalMs: interval ?? MIN_CHECK_MS,
    timeoutMs: timeout ?? MIN_CHECK_MS,
    ...(str(a.port) ? { port: str(a.port) } : {}),
    ...(mode ? { addressMode: mode as ServiceCheck['addressMode'] } : {}),
    ...(path !== undefined ? { path } : {}),
    method: method.toUpperCase(),
    protocol: (str(a.protocol) as 'http' | 'https' | undefined) ?? 'http',
    headers,
    ...(str(a.body) !== undefined ? { body: str(a.body) } : {}),
    tlsSkipVerify: bool(a.tls_skip_verify) ?? false,
    ...(str(a.tls_server_name) ? { tlsServerName: str(a.tls_server_name) } : {}),
    ...(command !== undefined ? { command } : {}),
    args: strs(a.args),
    ...(str(a.task) ? { task: str(a.task) } : {}),
    ...(str(a.grpc_service) ? { grpcService: str(a.grpc_service) } : {}),
    grpcUseTls: bool(a.grpc_use_tls) ?? false,
    ...(initial ? { initialStatus: initial as CheckStatus } : {}),
    successBeforePassing: count('success_before_passing') ?? 0,
    failuresBeforeCritical: count('failures_before_critical') ?? 0,
    ...(count('failures_before_warning') !== undefined ? { failuresBeforeWarning: count('failures_before_warning') } : {}),
    onUpdate,
    ...(restart ? { checkRestart: restart } : {}),
    pos: ctx.posOf(b.steps),
  };
}

function mergeIgnore(service: Partial<CheckRestart> | undefined, check: Partial<CheckRestart> | undefined): boolean {
  return check?.ignoreWarnings ?? service?.ignoreWarnings ?? false;
}

/** The `service` blocks of a group or a task; undefined when it has none. */
function buildServices(r: Reporter, owner: Body | undefined, level: ServiceLevel, ctx: AllocContext): Service[] | undefined {
  const out: Service[] = [];
  for (const b of owner?.blocks.service ?? []) {
    const a = b.attrs;
    const name = str(a.name) || defaultName(level);
    const nameWhy = serviceNameProblem(name);
    if (nameWhy) r.error('schema', b.steps, 'name', nameWhy);
    const provider = str(a.provider) ?? 'consul';
    if (provider !== 'nomad' && provider !== 'consul') {
      r.error('schema', b.steps, 'provider', `expected provider "nomad" or "consul", got ${shown(provider)}`);
    } else if (provider === 'consul') {
      r.warn(
        'unsupported',
        b.steps,
        b.written.has('provider') ? 'provider' : undefined,
        `service ${shown(name)}: provider "consul"${b.written.has('provider') ? '' : " (Nomad's default)"}: tend has no Consul; it is registered in tend's local catalog as with provider = "nomad" (templates read it with nomadService, not service)`,
      );
    }
    const mode = str(a.address_mode) || 'auto';
    if (!['auto', 'host', 'alloc', 'driver'].includes(mode)) r.error('schema', b.steps, 'address_mode', `expected address_mode "auto", "host", "alloc" or "driver", got ${shown(mode)}`);
    const address = str(a.address);
    if (address && mode !== 'auto') r.error('schema', b.steps, 'address', `expected address_mode "auto" with address, got "${mode}"`);
    const port = str(a.port) || undefined;
    const portWhy = portProblem(ctx, port);
    if (portWhy) r.error('schema', b.steps, 'port', portWhy.message, portWhy.hint);
    let task = str(a.task) || undefined;
    if (level.kind === 'task') {
      if (task && task !== level.task) r.error('schema', b.steps, 'task', `expected no task in a task's service (it belongs to task ${shown(level.task)}), got ${shown(task)}`);
      task = level.task;
    } else if (task) {
      const why = taskProblem(ctx, task);
      if (why) r.error('schema', b.steps, 'task', why.message, why.hint);
    }
    const onUpdate = (str(a.on_update) as OnUpdate | undefined) ?? 'require_healthy';
    const restart = checkRestart(r, first(b, 'check_restart'));
    const checks: ServiceCheck[] = [];
    const names = new Map<string, number>();
    for (const cb of b.blocks.check ?? []) {
      const c = buildCheck(r, cb, { restart, onUpdate }, ctx);
      if (!c) continue;
      if (level.kind === 'task' && c.task && c.task !== level.task) r.error('schema', cb.steps, 'task', `expected no task in a task's check (it runs in task ${shown(level.task)}), got ${shown(c.task)}`);
      if (!c.port && !port && c.type !== 'script') {
        r.error('schema', cb.steps, undefined, `check needs a port: neither the check nor service ${shown(name)} has one (a ${c.type} check asks a port)`);
      }
      if (level.kind === 'group' && !c.task && !task) {
        const only = ctx.tasks.length === 1 ? ctx.tasks[0] : undefined;
        if (only) c.task = only;
        else if (c.type === 'script') r.error('schema', cb.steps, undefined, "expected task in a group service's script check (or in its service): the task the script runs in");
        else if (c.checkRestart) r.error('schema', cb.steps, undefined, "expected task in a group service's check with check_restart (or in its service): the task to restart");
      }
      if (!c.task && task) c.task = task;
      const key = c.name ?? '';
      names.set(key, (names.get(key) ?? 0) + 1);
      if (names.get(key) === 2) {
        r.error(
          'schema',
          cb.steps,
          c.name ? 'name' : undefined,
          c.name ? `duplicate check name ${shown(c.name)} in service ${shown(name)}` : `expected a name on each check of service ${shown(name)} when it has more than one`,
        );
      }
      checks.push(c);
    }
    out.push({
      name,
      ...(port ? { port } : {}),
      tags: strs(a.tags),
      meta: Object.fromEntries(Object.entries(first(b, 'meta')?.attrs ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
      provider: provider === 'nomad' ? 'nomad' : 'consul',
      addressMode: mode as Service['addressMode'],
      ...(address ? { address } : {}),
      ...(task ? { task } : {}),
      onUpdate,
      checks,
      pos: ctx.posOf(b.steps),
    });
  }
  return out.length ? out : undefined;
}

/**
 * The services of an allocation: the group's and each task's, checked against the allocation's
 * port labels (group and task networks) and task names. `group.body` is undefined for a task
 * written directly under the job (it has no group block).
 */
export function buildAllocServices(
  r: Reporter,
  group: { body: Body | undefined; ports?: PortSpec[] },
  tasks: { name: string; body: Body; ports?: PortSpec[] }[],
  posOf: PosOf,
): { group?: Service[]; tasks: (Service[] | undefined)[] } {
  const ctx: AllocContext = {
    labels: new Set([...(group.ports ?? []), ...tasks.flatMap((t) => t.ports ?? [])].map((p) => p.label)),
    tasks: tasks.map((t) => t.name),
    posOf,
  };
  const g = buildServices(r, group.body, { kind: 'group' }, ctx);
  return { ...(g ? { group: g } : {}), tasks: tasks.map((t) => buildServices(r, t.body, { kind: 'task', task: t.name }, ctx)) };
}
