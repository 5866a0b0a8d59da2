/**
 * Picks the executor backend once, at agent start: `auto` → oci when the
 * node is root and the oci executor's fingerprint says runc, conmon and the
 * cgroup controllers work; else plain. `oci` forced on a node that cannot
 * run it is an error naming why.
 */
import type pino from 'pino';
import type { AgentConfig } from '../agent/config-model.js';
import { TendError } from '../errors.js';
import { platform } from '../platform.js';
import type { Executor } from './executor.js';
import type { LogMonitorClient } from './logs/logs.js';
import type { CgroupManager } from '../cgroups/cgroups.js';

export interface ExecutorChoice {
  executor: Executor;
  /** The log monitor client the executor uses (stopped with `-stop-tasks-on-exit`). */
  logs?: LogMonitorClient;
  /** The cgroup manager of the oci executor (exclusive cores for `cores`). */
  cgroups?: CgroupManager;
  /** Why this backend ("executor = plain in config", "auto: runc not found on PATH", …). */
  reason: string;
}

async function logClient(config: AgentConfig): Promise<LogMonitorClient> {
  const mod = await import('./logs/client.js');
  return mod.createLogMonitorClient({ dataDir: config.dataDir });
}

export async function createPlain(config: AgentConfig, logger: pino.Logger, logs: LogMonitorClient): Promise<Executor> {
  const { createPlainExecutor } = await import('./plain.js');
  return createPlainExecutor({ dataDir: config.dataDir, logs, logger });
}

export async function createOci(config: AgentConfig, logger: pino.Logger, logs: LogMonitorClient): Promise<{ executor: Executor; cgroups: CgroupManager }> {
  const { createCgroupManager } = await import('../cgroups/factory.js');
  const { createOciExecutor } = await import('./oci/executor.js');
  const cgroups = createCgroupManager({ parent: config.oci.cgroupParent, reservedCores: config.client.reserved.cores, logger });
  const executor = createOciExecutor({
    dataDir: config.dataDir,
    runtime: config.oci.runtime,
    conmon: config.oci.conmon,
    cgroups,
    logs,
    pidsLimit: config.oci.pidsLimit,
    logger,
  });
  return { executor, cgroups };
}

export async function createExecutor(config: AgentConfig, logger: pino.Logger): Promise<ExecutorChoice> {
  const logs = await logClient(config);
  if (config.executor === 'plain') return { executor: await createPlain(config, logger, logs), logs, reason: 'executor = "plain" (agent config or -executor)' };
  const p = platform();
  let why: string | undefined;
  if (!p.isLinux) why = 'requires Linux';
  else if (!p.isRoot) why = 'requires root';
  let oci: Executor | undefined;
  let cgroups: CgroupManager | undefined;
  if (!why) {
    try {
      ({ executor: oci, cgroups } = await createOci(config, logger, logs));
      const fp = await oci.fingerprint();
      if (!fp.exec.ok) why = fp.exec.reason ?? 'exec isolation unavailable';
    } catch (err) {
      why = (err as Error).message;
    }
  }
  if (!why && oci) return { executor: oci, logs, cgroups, reason: config.executor === 'oci' ? 'executor = "oci" (agent config or -executor)' : 'auto: root, runc, conmon and cgroups work' };
  await oci?.close().catch(() => {});
  if (config.executor === 'oci') throw new TendError('E_EXECUTOR', `failed to start the oci executor: ${why}`);
  return { executor: await createPlain(config, logger, logs), logs, reason: `auto: oci unavailable (${why})` };
}
