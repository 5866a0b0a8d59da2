/**
 * SIGHUP: reload the agent config (Nomad's behaviour). The file is read
 * again with the same `-config` path and flags; what can change live is
 * applied to the running agent, the rest is reported as requiring a restart.
 *
 *   live:     log_level; plugin "exec" allow_caps, denied_host_uids,
 *             denied_host_gids; client options env.denylist / env.allowlist
 *             (for tasks started from then on); stop_tasks_on_exit;
 *             client variables policies (for reads from then on)
 *   restart:  everything else (data_dir, jobs_dir, executor, api.*, oci.*, …)
 *
 * A file that fails to load changes nothing; the error names file:line.
 */
import type pino from 'pino';
import type { AgentConfig } from './config-model.js';
import { describeError } from '../errors.js';
import { redactConfig } from './config.js';

export interface ReloadResult {
  /** Config keys applied live, with old and new values. */
  applied: Record<string, { from: unknown; to: unknown }>;
  /** Changed keys that only a restart applies. */
  needRestart: Record<string, { from: unknown; to: unknown }>;
}

/** Config paths (of AgentConfig) applied live, and their names in the config file. */
const LIVE: Record<string, string> = {
  logLevel: 'log_level',
  stopTasksOnExit: 'stop_tasks_on_exit',
  'plugins.exec.allowCaps': 'plugin "exec" allow_caps',
  'plugins.exec.deniedHostUids': 'plugin "exec" denied_host_uids',
  'plugins.exec.deniedHostGids': 'plugin "exec" denied_host_gids',
  'client.env.denylist': 'client options env.denylist',
  'client.env.allowlist': 'client options env.allowlist',
  'client.variables.policies': 'client variables policy',
  'client.template.wait': 'client template wait',
  'client.template.functionDenylist': 'client template function_denylist',
  'client.template.disableFileSandbox': 'client template disable_file_sandbox',
  'client.template.fileDirs': 'client template file_dirs',
};

/** Config-file names of other paths, where they differ from the path. */
const NAMES: Record<string, string> = {
  dataDir: 'data_dir',
  jobsDir: 'jobs_dir',
  resyncMs: 'resync_interval',
  debounceMs: 'debounce',
  concurrency: 'concurrency',
  executor: 'executor',
  'api.socket': 'api.socket',
  'api.address': 'api.address',
  'api.token': 'api.token',
  'oci.runtime': 'oci.runtime',
  'oci.conmon': 'oci.conmon',
  'oci.pidsLimit': 'oci.pids_limit',
  'oci.cgroupParent': 'oci.cgroup_parent',
  'client.nodeName': 'client.node_name',
  'client.nodeClass': 'client.node_class',
  'client.chrootEnv': 'client.chroot_env',
  'client.chrootEnvMap': 'client.chroot_env',
  'client.hostVolumes': 'client.host_volume',
  'client.variables.dir': 'client.variables.dir',
  'plugins.rawExec.enabled': 'plugin "raw_exec" enabled',
  'plugins.rawExec.noCgroups': 'plugin "raw_exec" no_cgroups',
  'plugins.exec.enabled': 'plugin "exec" enabled',
  'plugins.exec.defaultPidMode': 'plugin "exec" default_pid_mode',
  'plugins.exec.defaultIpcMode': 'plugin "exec" default_ipc_mode',
  'plugins.exec.noPivotRoot': 'plugin "exec" no_pivot_root',
  'client.network.networkInterface': 'client.network_interface',
  'client.network.minDynamicPort': 'client.min_dynamic_port',
  'client.network.maxDynamicPort': 'client.max_dynamic_port',
  'client.network.reservedPorts': 'client.reserved.reserved_ports',
  'client.network.hostNetworks': 'client.host_network',
};

/** Leaves of a config: path → value (arrays and null are leaves). */
function leaves(v: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) leaves(x, prefix ? `${prefix}.${k}` : k, out);
  } else if (v !== undefined) {
    out.set(prefix, v);
  }
  return out;
}

/** The paths whose values differ, in a stable order; a live key's whole object path counts once. */
export function diffConfig(a: AgentConfig, b: AgentConfig): ReloadResult {
  const la = leaves(redactConfig(a));
  const lb = leaves(redactConfig(b));
  const applied: ReloadResult['applied'] = {};
  const needRestart: ReloadResult['needRestart'] = {};
  for (const key of [...new Set([...la.keys(), ...lb.keys()])].sort()) {
    const from = la.get(key);
    const to = lb.get(key);
    if (JSON.stringify(from) === JSON.stringify(to)) continue;
    if (key === 'configFile') continue;
    const live = Object.keys(LIVE).find((p) => key === p || key.startsWith(`${p}.`));
    if (live) applied[LIVE[live]] = { from: pick(a, live), to: pick(b, live) };
    else {
      const name = Object.keys(NAMES).find((p) => key === p || key.startsWith(`${p}.`));
      needRestart[name ? NAMES[name] : key] = { from: name ? pick(redactConfig(a), name) : from, to: name ? pick(redactConfig(b), name) : to };
    }
  }
  return { applied, needRestart };
}

function pick(obj: unknown, p: string): unknown {
  let v = obj;
  for (const k of p.split('.')) v = v === null || typeof v !== 'object' ? undefined : (v as Record<string, unknown>)[k];
  return v;
}

/**
 * Apply the live part of `next` to `running` in place: the drivers and the
 * shutdown path read these objects when a task starts or the agent stops.
 */
export function applyLive(running: AgentConfig, next: AgentConfig, logger: pino.Logger): void {
  if (running.logLevel !== next.logLevel) {
    running.logLevel = next.logLevel;
    logger.level = next.logLevel;
  }
  running.stopTasksOnExit = next.stopTasksOnExit;
  const exec = running.plugins.exec;
  exec.allowCaps = [...next.plugins.exec.allowCaps];
  exec.deniedHostUids = next.plugins.exec.deniedHostUids.map((r) => [...r] as [number, number]);
  exec.deniedHostGids = next.plugins.exec.deniedHostGids.map((r) => [...r] as [number, number]);
  const env = running.client.env;
  env.denylist = [...next.client.env.denylist];
  if (next.client.env.allowlist) env.allowlist = [...next.client.env.allowlist];
  else delete env.allowlist;
  running.client.variables.policies = structuredClone(next.client.variables.policies);
  // Templates read these at each start of a task.
  running.client.template = structuredClone(next.client.template);
}

/** Load the config again, apply what can change live, log what changed and what needs a restart. */
export async function reloadConfig(running: AgentConfig, load: () => Promise<AgentConfig>, logger: pino.Logger): Promise<ReloadResult | undefined> {
  const log = logger.child({ component: 'reload' });
  let next: AgentConfig;
  try {
    next = await load();
  } catch (err) {
    const details = (err as { details?: { file?: string; line?: number } }).details;
    log.error({ err: describeError(err), file: details?.file ?? running.configFile, line: details?.line }, 'agent config reload failed; the running config stays');
    return undefined;
  }
  const result = diffConfig(running, next);
  applyLive(running, next, logger);
  for (const [key, change] of Object.entries(result.needRestart)) {
    log.warn({ key, from: change.from, to: change.to }, 'agent config change requires a restart');
  }
  log.info(
    { file: running.configFile, changed: result.applied, requiresRestart: Object.keys(result.needRestart) },
    Object.keys(result.applied).length ? 'agent config reloaded' : 'agent config reloaded: nothing to apply live',
  );
  return result;
}
