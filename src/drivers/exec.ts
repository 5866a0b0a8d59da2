/**
 * The exec driver (Nomad's): the task runs isolated, through the oci
 * executor — a root of read-only bind mounts of `chroot_env` plus its dirs,
 * private pid/ipc namespaces by default, a bounded capability set, checked
 * users. Enabled by default; available only where the executor can isolate
 * (root, runc, conmon, cgroups), otherwise the reason is reported.
 *
 * The isolation settings come from `resolveIsolation` (exec-isolation.ts).
 */
import type { DriverAvailability, ExecIsolation, LaunchSpec } from '../executor/executor.js';
import type { ExecPluginConfig, HostVolumeConfig } from '../agent/config-model.js';
import type { Group, Task } from '../jobspec/model.js';
import { TendError } from '../errors.js';
import type { Driver, PrepareContext, TaskInstance, TaskSetup } from './driver.js';
import { buildLaunchSpec, setupTask, type BuildOptions } from './launch-spec.js';
import type { EnvFilter } from './host-env.js';
import { checkUser, resolveIsolation, type HostVolumeMount } from './exec-isolation.js';

export type IsolationResolver = (task: Task, config: ExecPluginConfig, chrootEnv: string[], mounts: HostVolumeMount[], chrootEnvMap?: Record<string, string>) => ExecIsolation;

/**
 * Host volumes of a task: each `volume_mount` names a group `volume` whose
 * `source` names an agent `host_volume`; read-only when any of the three says so.
 */
export function hostVolumeMounts(group: Group, task: Task, hostVolumes: HostVolumeConfig[]): HostVolumeMount[] {
  return task.volumeMounts.map((vm) => {
    const gv = group.volumes.find((v) => v.name === vm.volume);
    if (!gv) throw new TendError('E_SPEC_INVALID', `failed to mount volume "${vm.volume}" in task ${task.name}: expected a group volume of that name, got none`);
    const hv = hostVolumes.find((v) => v.name === gv.source);
    if (!hv) throw new TendError('E_SPEC_INVALID', `failed to mount volume "${vm.volume}" in task ${task.name}: expected a host_volume "${gv.source}" in the agent config, got none`);
    return { source: hv.path, destination: vm.destination, readOnly: vm.readOnly || gv.readOnly || hv.readOnly };
  });
}

export interface ExecDriverOptions {
  config: ExecPluginConfig;
  dataDir: string;
  chrootEnv: string[];
  /** chroot_env's map form: host path → path inside the task's root. */
  chrootEnvMap?: Record<string, string>;
  hostVolumes: HostVolumeConfig[];
  isRoot: boolean;
  fingerprint: DriverAvailability;
  pidsLimit?: number;
  resolveIsolation?: IsolationResolver;
  /** Which host variables reach tasks (client options env.denylist / env.allowlist). */
  envFilter?: EnvFilter;
  /** Warn: a task planted a link or file at one of its dirs (replaced). */
  onReplaced?(path: string, kind: string): void;
}

/** The user of an exec task that sets none, as in Nomad's exec driver. */
export const EXEC_DEFAULT_USER = 'nobody';

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
    if (!this.enabled) return { ok: false, reason: 'disabled in the agent config (enable: plugin "exec" { config { enabled = true } })' };
    return this.#opts.fingerprint;
  }

  /** Checked before anything is made: a denied user never gets dirs. No user means nobody (Nomad's rule). */
  setup(instance: TaskInstance): Promise<TaskSetup> {
    const mounts = hostVolumeMounts(instance.group, instance.task, this.#opts.hostVolumes);
    return setupTask(instance, this.#build(instance, mounts));
  }

  async prepare(instance: TaskInstance, ctx: PrepareContext): Promise<LaunchSpec> {
    // Without setup, buildLaunchSpec makes the dirs (and checks the user first).
    const mounts = hostVolumeMounts(instance.group, instance.task, this.#opts.hostVolumes);
    return buildLaunchSpec(instance, ctx, this.#build(instance, mounts));
  }

  #build(instance: TaskInstance, mounts: HostVolumeMount[]): BuildOptions {
    const { config } = this.#opts;
    const resolve = this.#opts.resolveIsolation ?? resolveIsolation;
    return {
      driver: 'exec',
      dataDir: this.#opts.dataDir,
      isRoot: this.#opts.isRoot,
      withHostEnv: true,
      envFilter: this.#opts.envFilter,
      defaultUser: EXEC_DEFAULT_USER,
      logsView: 'mount',
      onReplaced: this.#opts.onReplaced,
      pidsLimit: this.#opts.pidsLimit,
      // Before anything is made: a denied user never gets dirs. No user means nobody (Nomad's rule).
      checkUser: (user) => checkUser(user, config),
      isolation: (task) => resolve(task, config, this.#opts.chrootEnv, mounts, this.#opts.chrootEnvMap),
      // Inside the root the dirs sit where Nomad puts them.
      taskView: { allocDir: '/alloc', taskDir: '/' },
    };
  }
}
