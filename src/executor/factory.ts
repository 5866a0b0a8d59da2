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

export interface ExecutorChoice {
  executor: Executor;
  /** The log monitor client the executor uses (stopped with `-stop-tasks-on-exit`). */
  logs?: LogMonitorClient;
  /** Why this backend ("executor = plain in config", "auto: runc not found on PATH", …). */
  reason: string;
}

type Factory = (opts: Record<string, unknown>) => Executor | Promise<Executor>;

// The backends are loaded lazily: the plain agent never loads the oci code, and
// a backend that fails to load is reported as unavailable rather than crashing.
async function load(spec: string, name: string): Promise<Factory> {
  const mod = (await import(spec)) as Record<string, unknown>;
  const f = mod[name];
  if (typeof f !== 'function') throw new TendError('E_EXECUTOR', `failed to load executor: ${spec} exports no ${name}`);
  return f as Factory;
}

async function logClient(config: AgentConfig): Promise<LogMonitorClient> {
  const mod = await import('./logs/client.js');
  return mod.createLogMonitorClient({ dataDir: config.dataDir });
}

export async function createPlain(config: AgentConfig, logger: pino.Logger, logs: LogMonitorClient): Promise<Executor> {
  const plain = await load('./plain.js', 'createPlainExecutor');
  return plain({ dataDir: config.dataDir, logs, logger });
}

export async function createOci(config: AgentConfig, logger: pino.Logger, logs: LogMonitorClient): Promise<Executor> {
  const oci = await load('./oci/executor.js', 'createOciExecutor');
  return oci({
    dataDir: config.dataDir,
    config,
    runtime: config.oci.runtime,
    conmon: config.oci.conmon,
    cgroupParent: config.oci.cgroupParent,
    pidsLimit: config.oci.pidsLimit,
    reservedCores: config.client.reserved.cores,
    logs,
    logger,
  });
}

export async function createExecutor(config: AgentConfig, logger: pino.Logger): Promise<ExecutorChoice> {
  const logs = await logClient(config);
  if (config.executor === 'plain') return { executor: await createPlain(config, logger, logs), logs, reason: 'executor = "plain" in the agent config' };
  const p = platform();
  let why: string | undefined;
  if (!p.isLinux) why = 'requires Linux';
  else if (!p.isRoot) why = 'requires root';
  let oci: Executor | undefined;
  if (!why) {
    try {
      oci = await createOci(config, logger, logs);
      const fp = await oci.fingerprint();
      if (!fp.exec.ok) why = fp.exec.reason ?? 'exec isolation unavailable';
    } catch (err) {
      why = (err as Error).message;
    }
  }
  if (!why && oci) return { executor: oci, logs, reason: config.executor === 'oci' ? 'executor = "oci" in the agent config' : 'auto: root, runc, conmon and cgroups work' };
  await oci?.close().catch(() => {});
  if (config.executor === 'oci') throw new TendError('E_EXECUTOR', `failed to start the oci executor: ${why}`);
  return { executor: await createPlain(config, logger, logs), logs, reason: `auto: oci unavailable (${why})` };
}
