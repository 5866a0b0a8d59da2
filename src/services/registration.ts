/**
 * A job file's `service` blocks → catalog registrations for one allocation, as Nomad's client
 * makes them (nomad/structs Service.Canonicalize, client/serviceregistration):
 *
 *  - the name: `${JOB}` (the job's name), `${TASKGROUP}`, `${TASK}` ("group" for a group service)
 *    and `${BASE}` (`<job>-<group>-<task>`) first, then the runtime references (`${NOMAD_*}`,
 *    `${node.*}`, `${attr.*}`, `${meta.*}`), and checked again (RFC 1123, 63 characters);
 *    tags, meta, `address`, `port` and the check fields get the runtime references;
 *  - the address and port from the allocation's ports (src/ports/ports.ts `resolvePort`):
 *    `auto`/`host` give the port's host address and host port, `alloc`/`driver` its mapped `to`;
 *    a number is that port on the node's address; no port: the node's address, port 0;
 *  - a check asks its own `port` or the service's, with its own `address_mode` (not inherited;
 *    "host" by default), or the service's `address` when it has one and the check sets none;
 *  - a check's default name is `service: "<name>" check`.
 * Pure; throws TendError E_SPEC_INVALID naming the field when something cannot be resolved.
 */
import { TendError } from '../errors.js';
import type { Service, ServiceCheck } from '../jobspec/model.js';
import { serviceNameProblem } from '../jobspec/services.js';
import { joinHostPort, resolvePort, type AllocatedPort } from '../ports/ports.js';
import type { CheckSpec, Registration } from './services.js';

export interface RegistrationContext {
  job: { id: string; name: string; namespace?: string; file: string };
  group: string;
  index: number;
  allocId: string;
  /** The task of a task-level service; absent for the group's services. */
  task?: string;
  ports: readonly AllocatedPort[];
  /** The default host network's address (a numeric port, no port). */
  nodeAddress: string;
  /** Fills runtime references (src/jobspec/interpolate.ts runtimeFiller). */
  fill(s: string, field: string): string;
}

function invalid(ctx: RegistrationContext, field: string, why: string): TendError {
  const where = `job "${ctx.job.id}" › group "${ctx.group}"${ctx.task ? ` › task "${ctx.task}"` : ''} › ${field}`;
  return new TendError('E_SPEC_INVALID', `failed to register service: ${where}: ${why}`, { details: { job: ctx.job.id, group: ctx.group, field } });
}

/** `${JOB}`, `${TASKGROUP}`, `${TASK}`, `${BASE}` in a service name (Nomad's ReplaceEnv on the name only). */
export function serviceNameVars(name: string, job: string, group: string, task: string): string {
  const vars: Record<string, string> = { JOB: job, TASKGROUP: group, TASK: task, BASE: `${job}-${group}-${task}` };
  return name.replace(/\$\{\s*(JOB|TASKGROUP|TASK|BASE)\s*\}/g, (_, k: string) => vars[k]);
}

/** Where a port asked as `port` is, or an error naming the field. */
function target(ctx: RegistrationContext, port: string, mode: 'auto' | 'host' | 'alloc' | 'driver', field: string): { address: string; port: number; label?: string } {
  const r = resolvePort(ctx.ports, port, { nodeAddress: ctx.nodeAddress, addressMode: mode });
  if (!r) {
    const have = ctx.ports.map((p) => p.label);
    throw invalid(ctx, field, `port label "${port}" names no port of this allocation (${have.length ? `it has ${have.map((l) => `"${l}"`).join(', ')}` : 'it has no ports'})`);
  }
  return r;
}

function checkSpec(ctx: RegistrationContext, service: { id: string; name: string; address?: string; port?: string }, c: ServiceCheck, i: number): CheckSpec {
  const field = (f: string) => `service "${service.name}" › check[${i}].${f}`;
  const fill = (v: string, f: string) => ctx.fill(v, field(f));
  const name = c.name !== undefined ? fill(c.name, 'name') : `service: "${service.name}" check`;
  const out: CheckSpec = {
    id: `${service.id}#${i}`,
    name,
    type: c.type,
    intervalMs: c.intervalMs,
    timeoutMs: c.timeoutMs,
    ...(c.task ? { task: c.task } : ctx.task ? { task: ctx.task } : {}),
    ...(c.initialStatus ? { initialStatus: c.initialStatus } : {}),
    successBeforePassing: c.successBeforePassing,
    failuresBeforeCritical: c.failuresBeforeCritical,
    ...(c.failuresBeforeWarning !== undefined ? { failuresBeforeWarning: c.failuresBeforeWarning } : {}),
    onUpdate: c.onUpdate,
    ...(c.checkRestart ? { checkRestart: c.checkRestart } : {}),
  };
  if (c.type === 'script') {
    out.script = { command: fill(c.command ?? '', 'command'), args: c.args.map((a, j) => fill(a, `args[${j}]`)) };
    return out;
  }
  const portText = c.port !== undefined ? fill(c.port, 'port') : service.port;
  if (portText === undefined) throw invalid(ctx, field('port'), `a ${c.type} check needs a port: neither the check nor the service has one`);
  const t = target(ctx, portText, c.addressMode ?? 'host', field('port'));
  // Nomad: the service's own address is the check's when the check sets no address_mode.
  const address = service.address && !c.addressMode ? service.address : t.address;
  out.address = address;
  out.port = t.port;
  if (c.type === 'http') {
    const path = fill(c.path ?? '/', 'path');
    out.http = {
      url: `${c.protocol}://${joinHostPort(address, t.port)}${path.startsWith('/') ? path : `/${path}`}`,
      method: c.method,
      headers: Object.fromEntries(Object.entries(c.headers).map(([k, vs]) => [k, vs.map((v, j) => fill(v, `header.${k}[${j}]`))])),
      ...(c.body !== undefined ? { body: fill(c.body, 'body') } : {}),
      tlsSkipVerify: c.tlsSkipVerify,
      ...(c.tlsServerName ? { serverName: c.tlsServerName } : {}),
    };
  } else if (c.type === 'grpc') {
    out.grpc = { service: fill(c.grpcService ?? '', 'grpc_service'), tls: c.grpcUseTls, tlsSkipVerify: c.tlsSkipVerify, ...(c.tlsServerName ? { serverName: c.tlsServerName } : {}) };
  }
  return out;
}

/** The registrations of `services` (a group's, or one task's) for one allocation. */
export function buildRegistrations(ctx: RegistrationContext, services: readonly Service[]): Registration[] {
  const taskVar = ctx.task ?? 'group';
  const seen = new Set<string>();
  return services.map((s, i) => {
    const field = (f: string) => `service[${i}].${f}`;
    const name = ctx.fill(serviceNameVars(s.name, ctx.job.name, ctx.group, taskVar), field('name'));
    const why = serviceNameProblem(name) ?? (name.includes('${') ? `expected a service name without unresolved references, got "${name}"` : undefined);
    if (why) throw invalid(ctx, field('name'), why);
    const portText = s.port !== undefined ? ctx.fill(s.port, field('port')) : undefined;
    const address = s.address !== undefined ? ctx.fill(s.address, field('address')) : undefined;
    let id = `_tend-${ctx.allocId}-${taskVar}-${name}-${portText ?? ''}`;
    if (seen.has(id)) id = `${id}-${i}`;
    seen.add(id);
    let where: { address: string; port: number } = { address: address ?? ctx.nodeAddress, port: 0 };
    if (portText !== undefined) {
      const t = target(ctx, portText, s.addressMode, field('port'));
      where = { address: address ?? t.address, port: t.port };
    }
    const svc = { id, name, ...(address ? { address } : {}), ...(portText !== undefined ? { port: portText } : {}) };
    return {
      id,
      name,
      namespace: ctx.job.namespace ?? 'default',
      job: ctx.job.id,
      group: ctx.group,
      index: ctx.index,
      allocId: ctx.allocId,
      ...(ctx.task ? { task: ctx.task } : {}),
      tags: s.tags.map((t, j) => ctx.fill(t, field(`tags[${j}]`))),
      meta: Object.fromEntries(Object.entries(s.meta).map(([k, v]) => [k, ctx.fill(v, field(`meta.${k}`))])),
      address: where.address,
      port: where.port,
      checks: s.checks.map((c, j) => checkSpec(ctx, svc, c, j)),
      file: ctx.job.file,
    };
  });
}
