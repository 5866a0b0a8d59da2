/**
 * The exec driver (Nomad's): the task runs isolated, through the oci
 * executor — a root of read-only bind mounts of `chroot_env` plus its dirs,
 * private pid/ipc namespaces by default, a bounded capability set, checked
 * users. Enabled by default; available only where the executor can isolate
 * (root, runc, conmon, cgroups), otherwise the reason is reported.
 *
 * The isolation settings come from `resolveIsolation` (src/drivers/exec-isolation.ts
 * once it lands); `defaultIsolation` here is the minimal fallback.
 */
import { existsSync } from 'node:fs';
import type { DriverAvailability, ExecIsolation, LaunchSpec } from '../executor/executor.js';
import type { ExecPluginConfig } from '../agent/config-model.js';
import type { Task } from '../jobspec/model.js';
import { TendError } from '../errors.js';
import type { Driver, PrepareContext, TaskInstance } from './driver.js';
import { buildLaunchSpec } from './launch-spec.js';
import type { ResolvedUser } from './user.js';

/** Nomad's default allow_caps for exec. */
export const DEFAULT_ALLOW_CAPS = ['audit_write', 'chown', 'dac_override', 'fowner', 'fsetid', 'kill', 'mknod', 'net_bind_service', 'setfcap', 'setgid', 'setpcap', 'setuid', 'sys_chroot'];

export type IsolationResolver = (task: Task, config: ExecPluginConfig, chrootEnv: string[]) => ExecIsolation;

const capName = (c: string) => `CAP_${c.toUpperCase().replace(/^CAP_/, '')}`;

/** allow_caps bounds cap_add; cap_drop removes; the defaults are allow_caps. */
export const defaultIsolation: IsolationResolver = (task, config, chrootEnv) => {
  const allowAll = config.allowCaps.some((c) => c.toLowerCase() === 'all');
  const allowed = new Set(config.allowCaps.map(capName));
  const denied = task.config.capAdd.filter((c) => !allowAll && !allowed.has(capName(c)));
  if (denied.length) {
    throw new TendError('E_CAPABILITY_DENIED', `failed to prepare task ${task.name}: cap_add ${denied.join(', ')} not in the exec plugin's allow_caps`);
  }
  const caps = new Set(allowAll ? DEFAULT_ALLOW_CAPS.map(capName) : allowed);
  for (const c of task.config.capAdd) caps.add(capName(c));
  if (task.config.capDrop.some((c) => c.toLowerCase() === 'all')) caps.clear();
  for (const c of task.config.capDrop) caps.delete(capName(c));
  return {
    chrootEnv: chrootEnv.filter((d) => existsSync(d)),
    pidMode: task.config.pidMode ?? config.defaultPidMode,
    ipcMode: task.config.ipcMode ?? config.defaultIpcMode,
    noPivotRoot: config.noPivotRoot,
    capabilities: [...caps].sort(),
    mounts: [],
  };
};

export function inRanges(n: number, ranges: [number, number][]): boolean {
  return ranges.some(([a, b]) => n >= a && n <= b);
}

export interface ExecDriverOptions {
  config: ExecPluginConfig;
  dataDir: string;
  chrootEnv: string[];
  isRoot: boolean;
  fingerprint: DriverAvailability;
  pidsLimit?: number;
  resolveIsolation?: IsolationResolver;
}

export class ExecDriver implements Driver {
  readonly name = 'exec' as const;
  readonly #opts: ExecDriverOptions;

  constructor(opts: ExecDriverOptions) {
    this.#opts = opts;
  }

  get enabled(): boolean {
    return this.#opts.config.enabled;
  }

  availability(): DriverAvailability {
    if (!this.enabled) return { ok: false, reason: 'disabled in the agent config (plugin "exec" { config { enabled = true } })' };
    return this.#opts.fingerprint;
  }

  prepare(instance: TaskInstance, ctx: PrepareContext): Promise<LaunchSpec> {
    const { config } = this.#opts;
    const resolve = this.#opts.resolveIsolation ?? defaultIsolation;
    return buildLaunchSpec(instance, ctx, {
      driver: 'exec',
      dataDir: this.#opts.dataDir,
      isRoot: this.#opts.isRoot,
      withHostEnv: true,
      pidsLimit: this.#opts.pidsLimit,
      checkUser: (u: ResolvedUser) => {
        if (inRanges(u.uid, config.deniedHostUids)) throw new TendError('E_USER_DENIED', `failed to prepare task ${instance.task.name}: user ${u.name} (uid ${u.uid}) is in denied_host_uids`);
        if (inRanges(u.gid, config.deniedHostGids)) throw new TendError('E_USER_DENIED', `failed to prepare task ${instance.task.name}: user ${u.name} (gid ${u.gid}) is in denied_host_gids`);
      },
      isolation: (task) => resolve(task, config, this.#opts.chrootEnv),
      // Inside the root the dirs sit where Nomad puts them.
      taskView: { allocDir: '/alloc', taskDir: '/' },
    });
  }
}
