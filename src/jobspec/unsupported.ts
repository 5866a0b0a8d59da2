/**
 * What tend does with each jobspec field it accepts: acted on, or accepted
 * and not acted on (an `unsupported` warning that says what will happen).
 * This file is the one list of both. When a field gets implemented, delete
 * its line from NOT_ACTED_ON and add it to ACTED_ON; its warning goes away.
 *
 * Fields are named `<block type>.<field>` (`task.template`, `logs.disabled`).
 * Blocks Nomad has that mean nothing on one node (vault, consul, affinity,
 * spread, …) and their attributes are warned by the schema itself
 * (`warn` / `ignored` in schema.ts); checks that depend on a value (job type
 * "system", a non-host volume, a distinct_hosts constraint) are warned where
 * the model is built (build.ts).
 */
import type { Body } from './check.js';
import type { Reporter } from './diagnostics.js';
import { shown } from './diagnostics.js';

/** Where a field was found: the block instance (for a block) or the body holding it (for an attribute). */
export interface FieldContext {
  body: Body;
  /** The attribute's value (attributes only). */
  value?: unknown;
  /** Enclosing bodies, outermost (the job) first. */
  ancestors: Body[];
}

/** What will happen, or undefined when, for this value or driver, the field is acted on after all. */
export type Consequence = (f: FieldContext) => string | undefined;

/** Fields the agent acts on (drivers, executor, reconcile, interpolation). */
export const ACTED_ON: readonly string[] = [
  'job.id', 'job.name', 'job.type', 'job.namespace', 'job.group', 'job.task', 'job.meta', 'job.constraint',
  'group.count', 'group.task', 'group.meta', 'group.restart', 'group.constraint', 'group.volume',
  'task.driver', 'task.user', 'task.kill_signal', 'task.kill_timeout', 'task.config', 'task.env', 'task.meta',
  'task.resources', 'task.restart', 'task.logs', 'task.constraint', 'task.volume_mount', 'task.artifact', 'task.lifecycle', 'task.leader',
  'config.command', 'config.args', 'config.pid_mode', 'config.ipc_mode', 'config.cap_add', 'config.cap_drop', 'config.pids_limit',
  'resources.cpu', 'resources.memory', 'resources.memory_max', 'resources.cores',
  'restart.attempts', 'restart.interval', 'restart.delay', 'restart.mode',
  'logs.max_files', 'logs.max_file_size',
  'artifact.source', 'artifact.destination', 'artifact.mode', 'artifact.chown', 'artifact.options', 'artifact.headers',
  'constraint.attribute', 'constraint.operator', 'constraint.value', 'constraint.version', 'constraint.semver',
  'constraint.regexp', 'constraint.set_contains', 'constraint.set_contains_any', 'constraint.set_contains_all',
  'constraint.distinct_hosts', 'constraint.distinct_property', // warned in build.ts: no meaning on one node
  'lifecycle.hook', 'lifecycle.sidecar',
  'job.periodic', 'periodic.cron', 'periodic.crons', 'periodic.prohibit_overlap', 'periodic.time_zone', 'periodic.enabled',
  'job.parameterized', 'parameterized.payload', 'parameterized.meta_required', 'parameterized.meta_optional',
  'task.dispatch_payload', 'dispatch_payload.file',
  'volume.type', 'volume.source', 'volume.read_only',
  'volume_mount.volume', 'volume_mount.destination', 'volume_mount.read_only',
  'group.network', 'resources.network', 'network.mode', 'network.port', 'port.static', 'port.to', 'port.host_network', 'port.ignore_collision',
  'network.cni', // refused: an unsupported error (network.ts)
  'task.template', 'template.data', 'template.source', 'template.destination', 'template.change_mode', 'template.change_signal',
  'template.change_script', 'change_script.command', 'change_script.args', 'change_script.timeout', 'change_script.fail_on_error',
  'template.perms', 'template.uid', 'template.gid', 'template.env', 'template.once', 'template.splay', 'template.wait', 'wait.min', 'wait.max',
  'template.left_delimiter', 'template.right_delimiter', 'template.error_on_missing_key', 'restart.render_templates',
  'job.update', 'group.update', 'update.max_parallel', 'update.health_check', 'update.min_healthy_time', 'update.healthy_deadline',
  'update.progress_deadline', 'update.auto_revert', 'update.stagger', 'update.canary', 'update.auto_promote',
  // src/services/: the local catalog and the checks (Consul-only fields are warned in services.ts).
  'group.service', 'task.service', 'service.name', 'service.port', 'service.tags', 'service.meta', 'service.provider', 'service.address_mode',
  'service.address', 'service.task', 'service.on_update', 'service.check', 'service.check_restart',
  'check.name', 'check.type', 'check.port', 'check.interval', 'check.timeout', 'check.path', 'check.method', 'check.header', 'check.body',
  'check.protocol', 'check.tls_skip_verify', 'check.tls_server_name', 'check.command', 'check.args', 'check.task', 'check.address_mode',
  'check.grpc_service', 'check.grpc_use_tls', 'check.initial_status', 'check.success_before_passing', 'check.failures_before_critical',
  'check.failures_before_warning', 'check.on_update', 'check.check_restart', 'check_restart.limit', 'check_restart.grace',
  'check_restart.ignore_warnings',
  'check.notes', // for humans only, as in Consul
];

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const driverOf = (f: FieldContext): string | undefined => str([...f.ancestors, f.body].reverse().find((b) => b.steps.at(-1)?.type === 'task')?.attrs.driver);
const rawExecOnly = (what: string): Consequence => (f) => (driverOf(f) === 'raw_exec' ? `not applied to raw_exec tasks; ${what}` : undefined);

/** The job's `type` as written (`update` means something else, or nothing, for batch and system jobs). */
const jobTypeOf = (f: FieldContext): string | undefined => str(f.ancestors.find((b) => b.steps.at(-1)?.type === 'job')?.attrs.type ?? (f.body.steps.at(-1)?.type === 'job' ? f.body.attrs.type : undefined));
const isBatch = (f: FieldContext): boolean => ['batch', 'sysbatch'].includes(jobTypeOf(f) ?? '');
const update: Consequence = (f) => (isBatch(f) ? 'not followed: Nomad refuses an update block in a batch job; an edit replaces every instance at once' : undefined);

/** Fields tend accepts and does not act on, with what happens instead. One line each. */
export const NOT_ACTED_ON: Record<string, Consequence> = {
  // Need a scheduler or a network: what tend does instead.
  'job.update': update,
  'group.update': update,
  'update.canary': (f) => (typeof f.value === 'number' && f.value > 0 && !isBatch(f) ? 'not followed; tend has no canaries: it replaces max_parallel instances at a time, each once healthy' : undefined),
  'update.auto_promote': (f) => (f.value === true && !isBatch(f) ? 'has no effect; tend has no canaries to promote' : undefined),
  'update.stagger': (f) => (jobTypeOf(f) === 'system' ? 'not followed; tend runs a system job as a service job, whose rollouts wait for health (min_healthy_time), not for stagger' : undefined),
  'job.datacenters': (f) => (Array.isArray(f.value) && f.value.some((d) => d !== '*') ? 'not checked; the job runs on this node whatever its datacenter (a constraint on ${node.datacenter} selects nodes)' : undefined),
  'job.region': () => 'not checked; the job runs on this node whatever its region',
  'job.priority': () => 'has no effect on one node; no job waits for or preempts another',
  'logs.disabled': (f) => (f.value === true ? "not followed; the task's output is collected and rotated anyway" : undefined),
  'logs.enabled': (f) => (f.value === false ? "not followed; the task's output is collected and rotated anyway" : undefined),

  // Services: what needs Consul or canaries (src/jobspec/services.ts warns about the provider).
  'service.connect': () => 'Consul Connect is not supported by tend; the service is registered without a sidecar or upstreams',
  'service.canary_tags': () => 'tend runs no canaries; the service always has its tags',
  'service.canary_meta': () => 'tend runs no canaries; the service always has its meta',
  'service.enable_tag_override': () => "is Consul's anti-entropy setting; tend's catalog holds the tags as written",
  'service.tagged_addresses': () => 'are Consul addresses; tend registers the service address only',
  'service.cluster': () => 'names a Consul cluster; tend has none',
  'service.kind': () => 'is a Consul service kind; the service is registered as a plain one',
  'service.weights': () => 'are Consul DNS weights; tend has no DNS',
  'service.identity': () => 'service identities need a Nomad server; none is made',
  'check.expose': (f) => (f.value === true ? "needs Consul Connect; the check asks the service's port directly" : undefined),

  // exec-only fields, on a raw_exec task.
  'config.pid_mode': rawExecOnly('they share the host PID namespace'),
  'config.ipc_mode': rawExecOnly('they share the host IPC namespace'),
  'config.cap_add': rawExecOnly("they run with the agent's capabilities"),
  'config.cap_drop': rawExecOnly("they run with the agent's capabilities"),
  'task.volume_mount': (f) => (driverOf(f) === 'raw_exec' ? `not mounted for raw_exec tasks; they see the host filesystem, not ${shown(str(f.body.attrs.destination) ?? '')}` : undefined),
};

/** Report every field of the checked tree that NOT_ACTED_ON names, at the field. */
export function reportUnsupported(top: Body, r: Reporter): void {
  const visit = (b: Body, type: string, ancestors: Body[]): void => {
    for (const key of b.written) {
      if (b.blocks[key]) continue;
      const note = NOT_ACTED_ON[`${type}.${key}`]?.({ body: b, value: b.attrs[key], ancestors });
      const name = b.labels.length || !type ? key : `${type}.${key}`; // `logs.disabled`, but `leader`
      if (note) r.warn('unsupported', b.steps, key, `${name}: ${note}`);
    }
    const inner = [...ancestors, b];
    for (const [key, bodies] of Object.entries(b.blocks)) {
      for (const child of bodies) {
        const note = NOT_ACTED_ON[`${type}.${key}`]?.({ body: child, ancestors: inner });
        if (note) r.warn('unsupported', child.steps, undefined, `${key}: ${note}`);
        visit(child, key, inner);
      }
    }
  };
  visit(top, '', []);
}
