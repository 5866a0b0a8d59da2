/**
 * The raw_exec driver (Nomad's): the command runs on the host, as the
 * agent's user (or `user` when the agent is root), in the task dir, with the
 * host environment (minus Nomad's env.denylist), the NOMAD_* variables and
 * the task's env. Disabled by default; `plugin "raw_exec" { config { enabled = true } }`.
 */
import type { DriverAvailability, LaunchSpec } from '../executor/executor.js';
import type { RawExecPluginConfig } from '../agent/config-model.js';
import type { Driver, PrepareContext, TaskInstance, TaskSetup } from './driver.js';
import { buildLaunchSpec, setupTask, type BuildOptions } from './launch-spec.js';
import type { EnvFilter } from './host-env.js';
import type { LogsView } from './alloc-dir.js';

export interface RawExecDriverOptions {
  config: RawExecPluginConfig;
  dataDir: string;
  isRoot: boolean;
  /** The executor's fingerprint for raw_exec. */
  fingerprint: DriverAvailability;
  pidsLimit?: number;
  /** Which host variables reach tasks (client options env.denylist / env.allowlist). */
  envFilter?: EnvFilter;
  /** How tasks see alloc/logs: the oci executor binds it, the plain one links it. */
  logsView?: LogsView;
  /** Warn: a task planted a link or file at one of its dirs (replaced). */
  onReplaced?(path: string, kind: string): void;
}

export class RawExecDriver implements Driver {
  readonly name = 'raw_exec' as const;
  readonly #opts: RawExecDriverOptions;

  constructor(opts: RawExecDriverOptions) {
    this.#opts = opts;
  }

  get enabled(): boolean {
    return this.#opts.config.enabled;
  }

  availability(): DriverAvailability {
    if (!this.enabled) return { ok: false, reason: 'disabled in the agent config (enable: plugin "raw_exec" { config { enabled = true } })' };
    return this.#opts.fingerprint;
  }

  setup(instance: TaskInstance): Promise<TaskSetup> {
    return setupTask(instance, this.#build());
  }

  prepare(instance: TaskInstance, ctx: PrepareContext): Promise<LaunchSpec> {
    return buildLaunchSpec(instance, ctx, this.#build());
  }

  #build(): BuildOptions {
    return {
      driver: 'raw_exec',
      dataDir: this.#opts.dataDir,
      isRoot: this.#opts.isRoot,
      withHostEnv: true,
      envFilter: this.#opts.envFilter,
      logsView: this.#opts.logsView,
      onReplaced: this.#opts.onReplaced,
      pidsLimit: this.#opts.pidsLimit,
      noCgroups: this.#opts.config.noCgroups,
    };
  }
}
