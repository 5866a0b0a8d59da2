/**
 * The jobspec schema as data: for each block, its attributes with their
 * types, its nested blocks, and what Nomad accepts but tend ignores (a
 * warning). Anything else is an unknown field (an error with a hint).
 * Blocks that tend ignores still list their field names, so that a typo in
 * them (`nterval` in a service check) is still caught as Nomad would.
 */

/** 'any' takes any value; a string array is an enum. */
/** `int`: a whole number (Nomad's int fields: a fraction would not run unchanged on a cluster). */
export type AttrType = 'string' | 'number' | 'int' | 'bool' | 'duration' | 'strings' | 'map' | 'any' | readonly string[];

export interface BlockSchema {
  /** Number of labels (`group "g"`: 1). Default 0. */
  labels?: number;
  /** At most one such block in its parent. */
  single?: boolean;
  /** `attr = value` fields. */
  attrs?: Record<string, AttrType>;
  /** Nested blocks. */
  blocks?: Record<string, BlockSchema>;
  /** Attributes Nomad accepts that have no meaning here, with the reason: warnings. */
  ignored?: Record<string, string>;
  /** Anything is accepted inside (driver config of other drivers, connect, …). */
  open?: boolean;
  /** This block is valid in Nomad but has no meaning on one node: a warning with this reason. */
  warn?: string;
  /** Also accepted written as an attribute (`env = { … }`, `config = { … }`). */
  asAttr?: boolean;
}

const ONE_NODE = 'has no meaning on a single node';
const NO_CONSUL = 'tend has no Consul integration';
const NO_VAULT = 'tend has no Vault integration';

const any = (...names: string[]): Record<string, AttrType> => Object.fromEntries(names.map((n) => [n, 'any' as const]));
const open = (warn?: string, extra: Partial<BlockSchema> = {}): BlockSchema => ({ open: true, warn, ...extra });
const ignored = (reason: string, ...names: string[]): Record<string, string> => Object.fromEntries(names.map((n) => [n, reason]));

const constraint: BlockSchema = {
  attrs: {
    attribute: 'string',
    operator: 'string',
    value: 'string',
    // Nomad's shorthands: `version = "> 1.2"`, `regexp = "…"`, `distinct_hosts = true`, …
    version: 'string',
    semver: 'string',
    regexp: 'string',
    set_contains: 'string',
    set_contains_any: 'string',
    set_contains_all: 'string',
    distinct_hosts: 'any',
    distinct_property: 'string',
  },
};
const affinity: BlockSchema = { warn: 'affinities need a scheduler', attrs: any('attribute', 'operator', 'value', 'weight', 'version', 'semver', 'regexp', 'set_contains_any', 'set_contains_all') };
const spread: BlockSchema = {
  warn: 'spread needs a scheduler',
  attrs: any('attribute', 'weight'),
  blocks: { target: { labels: 1, attrs: any('value', 'percent') } },
};
const restart: BlockSchema = {
  single: true,
  attrs: { attempts: 'int', interval: 'duration', delay: 'duration', mode: ['fail', 'delay'], render_templates: 'bool' },
};
const reschedule: BlockSchema = { single: true, warn: 'rescheduling to another node needs a cluster', attrs: any('attempts', 'interval', 'delay', 'delay_function', 'max_delay', 'unlimited') };
const migrate: BlockSchema = { single: true, warn: 'migration needs a cluster', attrs: any('max_parallel', 'health_check', 'min_healthy_time', 'healthy_deadline') };
/** Rollouts (update.ts); canary, auto_promote and a batch job's block are warned by unsupported.ts. */
const update: BlockSchema = {
  single: true,
  attrs: {
    max_parallel: 'int',
    health_check: ['checks', 'task_states', 'manual'],
    min_healthy_time: 'duration',
    healthy_deadline: 'duration',
    progress_deadline: 'duration',
    auto_revert: 'bool',
    auto_promote: 'bool',
    canary: 'int',
    stagger: 'duration',
  },
};
// service: warned by unsupported.ts, which says what happens instead.
const vault: BlockSchema = {
  single: true,
  warn: NO_VAULT,
  attrs: any('policies', 'role', 'env', 'disable_file', 'change_mode', 'change_signal', 'namespace', 'cluster', 'allow_token_expiration'),
};
const consul: BlockSchema = { single: true, warn: NO_CONSUL, attrs: any('namespace', 'cluster', 'partition') };
const identity: BlockSchema = {
  warn: 'workload identities need a Nomad server',
  attrs: any('name', 'aud', 'env', 'file', 'change_mode', 'change_signal', 'ttl', 'filepath'),
};
const checkRestart: BlockSchema = { single: true, attrs: { limit: 'int', grace: 'duration', ignore_warnings: 'bool' } };
const onUpdate = ['require_healthy', 'ignore_warnings', 'ignore'] as const;
// Types and enums that need a custom message ("type", "address_mode", "initial_status") are checked in services.ts.
const check: BlockSchema = {
  attrs: {
    name: 'string',
    type: 'string',
    command: 'string',
    args: 'strings',
    path: 'string',
    protocol: ['http', 'https'],
    port: 'string',
    interval: 'duration',
    timeout: 'duration',
    method: 'string',
    body: 'string',
    tls_skip_verify: 'bool',
    tls_server_name: 'string',
    expose: 'bool',
    address_mode: 'string',
    task: 'string',
    on_update: onUpdate,
    grpc_service: 'string',
    grpc_use_tls: 'bool',
    initial_status: 'string',
    success_before_passing: 'int',
    failures_before_critical: 'int',
    failures_before_warning: 'int',
    notes: 'string',
  },
  blocks: { check_restart: checkRestart, header: { ...open(), single: true, asAttr: true } },
};
const service: BlockSchema = {
  attrs: {
    name: 'string',
    port: 'string',
    tags: 'strings',
    canary_tags: 'strings',
    enable_tag_override: 'bool',
    address_mode: 'string',
    address: 'string',
    task: 'string',
    provider: 'string',
    on_update: onUpdate,
    cluster: 'string',
    kind: 'string',
    tagged_addresses: 'map',
    canary_meta: 'map',
  },
  blocks: {
    check,
    check_restart: checkRestart,
    connect: open(),
    meta: open(undefined, { asAttr: true }),
    canary_meta: open(),
    tagged_addresses: open(),
    weights: open(),
    identity: open(),
  },
};
const port: BlockSchema = { labels: 1, attrs: { static: 'int', to: 'int', host_network: 'string', ignore_collision: 'bool' } };
/** Host mode only: `mode` other than "host" and `cni` are `unsupported` errors (build.ts, network.ts). */
const network: BlockSchema = {
  attrs: { mode: 'string' },
  ignored: {
    ...ignored('is deprecated in Nomad and tend does not limit bandwidth', 'mbits'),
    ...ignored('is set only in bridge mode; tasks see the host\'s hostname', 'hostname'),
    ...ignored('is deprecated in Nomad; ports are on the node\'s address or their host_network', 'cidr'),
  },
  blocks: {
    port,
    dns: { single: true, warn: "is applied only in bridge mode; tasks use the host's resolv.conf", attrs: any('servers', 'searches', 'options') },
    cni: open(),
  },
};
const ephemeralDisk: BlockSchema = { single: true, warn: 'the allocation dir lives on the local disk already', attrs: any('size', 'sticky', 'migrate') };
const scaling: BlockSchema = { warn: 'autoscaling needs the Nomad autoscaler', labels: 0, attrs: any('min', 'max', 'enabled', 'type'), blocks: { policy: open() } };
/** Task-level `scaling "cpu"` / `scaling "mem"` (Nomad Enterprise dynamic application sizing). */
const taskScaling: BlockSchema = { ...scaling, labels: 1, warn: 'dynamic application sizing needs the Nomad autoscaler' };
const meta: BlockSchema = { open: true, single: true, asAttr: true };

const volume: BlockSchema = {
  labels: 1,
  attrs: { type: 'string', source: 'string', read_only: 'bool' },
  ignored: ignored('only host volumes are supported', 'access_mode', 'attachment_mode', 'per_alloc', 'sticky'),
  blocks: { mount_options: open('only host volumes are supported') },
};
const volumeMount: BlockSchema = {
  attrs: { volume: 'string', destination: 'string', read_only: 'bool' },
  ignored: ignored(ONE_NODE, 'propagation_mode', 'selinux_label'),
};

const resources: BlockSchema = {
  single: true,
  attrs: { cpu: 'int', memory: 'int', memory_max: 'int', cores: 'int' },
  ignored: ignored('tend does not reserve disk or IOPS', 'disk', 'iops', 'secrets'),
  blocks: {
    network: { ...network, single: true },
    device: { labels: 1, warn: 'device plugins are not supported', attrs: any('count'), blocks: { constraint, affinity } },
    numa: open('NUMA-aware scheduling is not supported'),
  },
};
const logs: BlockSchema = { single: true, attrs: { max_files: 'int', max_file_size: 'int', disabled: 'bool', enabled: 'bool' } };
const artifact: BlockSchema = {
  attrs: { source: 'string', destination: 'string', mode: ['any', 'file', 'dir'], chown: 'bool' },
  blocks: { options: { ...meta, single: true }, headers: { ...meta, single: true } },
};
const template: BlockSchema = {
  attrs: {
    data: 'string',
    source: 'string',
    destination: 'string',
    change_mode: ['restart', 'signal', 'noop', 'script'],
    change_signal: 'string',
    perms: 'string',
    env: 'bool',
    left_delimiter: 'string',
    right_delimiter: 'string',
    error_on_missing_key: 'bool',
    splay: 'duration',
    uid: 'number',
    gid: 'number',
    once: 'bool',
  },
  ignored: ignored(NO_VAULT, 'vault_grace'),
  blocks: {
    wait: { single: true, attrs: { min: 'duration', max: 'duration' } },
    change_script: { single: true, attrs: { command: 'string', args: 'strings', timeout: 'duration', fail_on_error: 'bool' } },
  },
};
const lifecycle: BlockSchema = { single: true, attrs: { hook: ['prestart', 'poststart', 'poststop'], sidecar: 'bool' } };

/** Driver config for exec and raw_exec (the drivers tend runs). */
export const execConfig: BlockSchema = {
  single: true,
  asAttr: true,
  attrs: {
    command: 'string',
    args: 'strings',
    pid_mode: ['private', 'host'],
    ipc_mode: ['private', 'host'],
    cap_add: 'strings',
    cap_drop: 'strings',
    pids_limit: 'int',
  },
  ignored: ignored(
    'not supported by tend',
    'oom_score_adj', 'cgroup_v1_override', 'cgroup_v2_override', 'work_dir', 'denied_envvars', 'cpu_hard_limit', 'cpu_cfs_period',
  ),
};
/** Driver config of drivers tend does not run: not validated. */
export const otherConfig: BlockSchema = { single: true, asAttr: true, open: true };

const task: BlockSchema = {
  labels: 1,
  attrs: { driver: 'string', user: 'string', kill_signal: 'string', kill_timeout: 'duration', leader: 'bool' },
  ignored: ignored(ONE_NODE, 'shutdown_delay', 'kind', 'max_kill_timeout'),
  blocks: {
    config: otherConfig, // replaced by execConfig for exec/raw_exec when checked
    env: meta,
    meta,
    resources,
    restart,
    logs,
    artifact,
    template,
    constraint,
    volume_mount: volumeMount,
    lifecycle,
    affinity,
    spread,
    service,
    vault,
    consul,
    identity,
    scaling: taskScaling,
    csi_plugin: { single: true, warn: 'CSI plugins are not supported', attrs: any('id', 'type', 'mount_dir', 'stage_publish_base_dir', 'health_timeout') },
    dispatch_payload: { single: true, attrs: { file: 'string' } },
    action: { labels: 1, warn: 'actions need a Nomad server', attrs: any('command', 'args') },
    schedule: open('task schedules are not supported'),
    secret: open('secrets providers are not supported', { labels: 1 }),
  },
};

const group: BlockSchema = {
  labels: 1,
  attrs: { count: 'int' },
  ignored: ignored(
    ONE_NODE,
    'shutdown_delay', 'stop_after_client_disconnect', 'max_client_disconnect', 'prevent_reschedule_on_lost', 'max_run_duration',
  ),
  blocks: {
    task,
    meta,
    restart,
    constraint,
    volume,
    affinity,
    spread,
    network: { ...network, single: true },
    service,
    update,
    migrate,
    reschedule,
    vault,
    consul,
    scaling,
    ephemeral_disk: ephemeralDisk,
    disconnect: { single: true, warn: 'client disconnects need a cluster', attrs: any('lost_after', 'replace', 'reconcile', 'stop_on_client_after') },
  },
};

export const job: BlockSchema = {
  labels: 1,
  attrs: { id: 'string', name: 'string', type: 'string', namespace: 'string', region: 'string', datacenters: 'strings', priority: 'int' },
  ignored: ignored(ONE_NODE, 'all_at_once', 'node_pool', 'vault_token', 'consul_token', 'payload', 'dispatched', 'ui'),
  blocks: {
    group,
    task, // a task directly under the job gets an implicit group named after it
    meta,
    constraint,
    affinity,
    spread,
    update,
    migrate,
    reschedule,
    vault,
    consul,
    multiregion: open('multi-region deployments need a cluster', { single: true }),
    periodic: { single: true, attrs: any('cron', 'crons', 'prohibit_overlap', 'time_zone', 'enabled') },
    parameterized: { single: true, attrs: { payload: ['optional', 'required', 'forbidden'], meta_required: 'strings', meta_optional: 'strings' } },
    ui: open('the Nomad UI is not part of tend', { single: true }),
  },
};

export const variable: BlockSchema = {
  labels: 1,
  attrs: any('type', 'default', 'description', 'sensitive', 'nullable'),
  blocks: { validation: open() },
};

/** The top level of a job file. */
export const file: BlockSchema = {
  blocks: { job, variable, locals: open() },
};

/** Every field name a block knows, for "did you mean". */
export function knownNames(s: BlockSchema): string[] {
  return [...Object.keys(s.attrs ?? {}), ...Object.keys(s.blocks ?? {}), ...Object.keys(s.ignored ?? {})];
}
