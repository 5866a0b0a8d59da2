/**
 * The agent's wiring — the one place that joins store, executor, drivers,
 * source, reconcile, API and metrics:
 *
 *   config → logger → data dir lock (<dataDir>/agent.lock; held by another
 *   agent → E_DATA_DIR_LOCKED, nothing touched) → store (load; corrupt → moved
 *   aside) → executor (auto: oci or plain) → drivers + fingerprint → node →
 *   job source → variables (<dataDir>/variables.json, then the variables
 *   dir) → Agent.start() → heap settle (heap-settle.ts) → API server on <dataDir>/tend.sock → READY=1 to
 *   systemd when NOTIFY_SOCKET is set (sd-notify.ts) → wait for SIGTERM/SIGINT
 *   (SIGHUP reloads the config: reload.ts). The lock is held until shutdown
 *   is done.
 */
import type pino from 'pino';
import type { AgentConfig } from './config-model.js';
import type { FileView, NodeView } from '../api/api.js';
import type { DriverAvailability, DriverName } from '../executor/executor.js';
import type { Job, NodeInfo } from '../jobspec/model.js';
import { createExecutor } from '../executor/factory.js';
import { createStore } from '../store/lowdb-store.js';
import { RawExecDriver } from '../drivers/raw-exec.js';
import { ExecDriver } from '../drivers/exec.js';
import type { Driver } from '../drivers/driver.js';
import { nodeInfo } from '../drivers/fingerprint.js';
import { createJobSource } from '../source/watcher.js';
import { scanPaths } from '../source/scan.js';
import { fileView } from './offline-plan.js';
import { startApiServer, type ApiServer } from '../api/server.js';
import { PromMetrics } from '../api/metrics.js';
import { platform } from '../platform.js';
import { version } from '../cli/main.js';
import { describeError } from '../errors.js';
import { taskHooks } from './hooks.js';
import { checkHealthSource } from './check-health.js';
import { Agent } from './agent.js';
import { createLogger } from './logger.js';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { DiskWatch } from './disk.js';
import { reloadConfig } from './reload.js';
import { PortBook } from '../ports/book.js';
import { detectPortConfig } from '../ports/address.js';
import { procProbe } from '../ports/listening.js';
import { createVariableStore, type VariableStore } from '../vars/index.js';
import { createLocalServices, type LocalServices } from '../services/index.js';
import { systemdNotifier, takeNotifySocket } from './sd-notify.js';
import { HeapSettle } from './heap-settle.js';

export interface RunningAgent {
  agent: Agent;
  /**
   * The Nomad-variables store. Template rendering reads it per task with
   * `variables.forTask(identity, config.client.variables.policies)` (src/vars/index.ts).
   */
  variables: VariableStore;
  /** The local service catalog, its checks and allocations' health (`agent.health` is `services.health`). */
  services: LocalServices;
  api?: ApiServer;
  logger: pino.Logger;
  /** Stop the agent (tasks keep running unless config.stopTasksOnExit). */
  shutdown(reason: string): Promise<void>;
}

/** Load a dir for `plan(dir)` as the job source would (scan.ts): its walk, its skips, first file by path wins a job id. */
async function loadDir(dir: string, node: NodeInfo, readDirs: string[] = []): Promise<{ jobs: Job[]; files: FileView[] }> {
  const { set } = await scanPaths([dir], { node, readDirs });
  return { jobs: [...set.jobs.values()], files: set.files.map(fileView) };
}

export async function startAgent(config: AgentConfig, logger?: pino.Logger): Promise<RunningAgent> {
  const log = logger ?? createLogger({ level: config.logLevel });
  // Before the store, recovery, gc, the log monitor or the socket touch the data dir.
  const lock = await lockDataDir(config.dataDir);
  try {
    return await startLocked(config, log, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function startLocked(config: AgentConfig, log: pino.Logger, lock: DataDirLock): Promise<RunningAgent> {
  const p = platform();
  // The node's addresses first: a network_interface that is not there stops the start before anything runs.
  const portConfig = detectPortConfig(config.client.network);
  const store = createStore({ dataDir: config.dataDir, logger: log });
  // A store found corrupt or missing is reported by recovery, with what it rebuilt.
  const loaded = await store.load();
  const choice = await createExecutor(config, log);
  const executor = choice.executor;
  log.info({ executor: executor.kind, reason: choice.reason, cgroupParent: choice.cgroups?.parent }, 'executor selected');
  // Tasks' resources under the plain executor are recorded and shown, never enforced: say so once, at start.
  if (executor.kind === 'plain') log.warn({ executor: 'plain' }, 'resource limits (cpu, memory, cores, pids) are not enforced by the plain executor; tendctl status marks them "not enforced"');
  const fp = await executor.fingerprint();
  // Say why this agent runs the plain executor, so the fix is in the message.
  if (executor.kind === 'plain' && !fp.exec.ok) {
    const why = config.executor === 'plain' ? '(set executor = "auto": agent config or -executor)' : '(oci is unavailable here: tendctl node says why)';
    fp.exec = { ok: false, reason: `${fp.exec.reason}; this agent runs "plain" ${why}` };
  }
  const drivers = new Map<string, Driver>();
  // A task replaced one of its dirs by a link or file: it is repaired, never followed; say so.
  const onReplaced = (where: string, kind: string) => log.warn({ path: where, kind }, 'task dir entry replaced: a task put a non-directory there');
  const common = { dataDir: config.dataDir, isRoot: p.isRoot, pidsLimit: config.oci.pidsLimit, envFilter: config.client.env, onReplaced };
  const logsView = executor.kind === 'oci' ? 'mount' : 'link';
  drivers.set('raw_exec', new RawExecDriver({ ...common, config: config.plugins.rawExec, fingerprint: fp.raw_exec, logsView }));
  drivers.set(
    'exec',
    new ExecDriver({ ...common, config: config.plugins.exec, chrootEnv: config.client.chrootEnv, chrootEnvMap: config.client.chrootEnvMap, hostVolumes: config.client.hostVolumes, fingerprint: fp.exec }),
  );
  const availability = {} as Record<DriverName, DriverAvailability>;
  for (const [name, d] of drivers) availability[name as DriverName] = d.availability();
  const networkAddress = portConfig.networks.get('default')!.address;
  const node = nodeInfo({ platform: p, config, nodeId: store.nodeId, version: version(), drivers: availability, networkAddress });
  const ref: { agent?: Agent } = {};
  const ports = new PortBook({ store, config: portConfig, probe: procProbe, logger: log, onRelease: () => ref.agent?.schedulePass() });
  log.info({ address: networkAddress, dynamic: `${portConfig.minDynamic}-${portConfig.maxDynamic}`, hostNetworks: [...portConfig.networks.values()].filter((n) => n.name !== 'default').map((n) => `${n.name}=${n.address}`), unresolved: Object.fromEntries(portConfig.unresolved ?? []) }, 'ports');
  const source = createJobSource({
    dir: config.jobsDir,
    node,
    debounceMs: config.debounceMs,
    resyncMs: config.resyncMs,
    readDirs: config.client.jobFileDirs,
    logger: log,
    exclude: config.configFile ? [config.configFile] : undefined,
  });
  const metrics = new PromMetrics();
  const nodeView: Omit<NodeView, 'drivers' | 'attributes' | 'meta' | 'name' | 'id' | 'class' | 'datacenter' | 'jobsRevision'> = {
    version: version(),
    executor: executor.kind,
    executorReason: choice.reason,
    cgroupMode: p.cgroups.mode,
    cores: p.cpus,
    reservedCores: config.client.reserved.cores,
    memoryBytes: p.totalMemoryBytes,
    dataDir: config.dataDir,
    jobsDir: config.jobsDir,
    ...(choice.cgroups ? { cgroupParent: choice.cgroups.parent } : {}),
    startedAt: new Date().toISOString(),
  };
  // Before any task starts: templates read variables in prestart.
  const variables = createVariableStore({ dataDir: config.dataDir, dir: config.client.variables.dir, logger: log, resyncMs: config.resyncMs, debounceMs: config.debounceMs });
  await variables.open();
  const disk = new DiskWatch({ dataDir: config.dataDir, store, logs: choice.logs, logger: log });
  const services = createLocalServices({ logger: log, metrics });
  const agent = new Agent({
    disk: () => disk.view(),
    dataDir: config.dataDir,
    jobsDir: config.jobsDir,
    store,
    executor,
    drivers,
    source,
    node,
    nodeView,
    logger: log,
    metrics,
    concurrency: config.concurrency,
    reserveCores: choice.cgroups ? (id, n) => choice.cgroups!.cpusets.reserve(id, n) : undefined,
    loadDir: (dir: string, n: NodeInfo) => loadDir(dir, n, config.client.jobFileDirs),
    storeLoad: loaded,
    variables,
    ports,
    services: services.catalog,
    health: services.health,
    checks: checkHealthSource(services.health, Date.now),
    hooks: taskHooks({
      dataDir: config.dataDir,
      node,
      agentEnv: process.env,
      artifacts: config.client.artifact,
      variables,
      policies: () => config.client.variables.policies,
      template: () => config.client.template,
      ports,
      services,
      nodeAddress: networkAddress,
    }),
  });
  ref.agent = agent;
  log.info({ jobsDir: config.jobsDir, dataDir: config.dataDir, lockFile: lock.file, cgroupParent: choice.cgroups?.parent, store: loaded.outcome, drivers: availability }, 'agent starting');
  await agent.start();
  disk.start();
  const mib = (b: number) => Math.round(b / 1048576);
  const settle = new HeapSettle({ onSettle: (before, after, ms) => log.debug({ beforeMiB: mib(before), afterMiB: mib(after), ms: Math.round(ms) }, 'heap settled after a burst') });
  settle.start();
  let api: ApiServer | undefined;
  try {
    api = await startApiServer(agent, { socket: config.api.socket, address: config.api.address, token: config.api.token, logger: log, metrics });
  } catch (err) {
    settle.stop();
    await disk.stop();
    await agent.stop().catch(() => {});
    services.close();
    await variables.close().catch(() => {});
    throw err;
  }
  let done: Promise<void> | undefined;
  return {
    agent,
    variables,
    services,
    api,
    logger: log,
    shutdown(reason: string) {
      done ??= (async () => {
        log.info({ reason, stopTasks: config.stopTasksOnExit }, 'agent stopping');
        settle.stop();
        try {
          await api?.close().catch((err) => log.warn({ err: describeError(err) }, 'failed to close the api server'));
          await disk.stop();
          await agent.stop({ stopTasks: config.stopTasksOnExit });
          services.close();
          await variables.close().catch((err) => log.warn({ err: describeError(err) }, 'failed to close the variables store'));
          if (config.stopTasksOnExit) await choice.logs?.stop().catch(() => {});
        } finally {
          lock.release();
        }
        log.info({}, 'agent stopped');
      })();
      return done;
    },
  };
}

/**
 * Run until SIGTERM or SIGINT; resolves with the process exit code. SIGHUP
 * reloads the config through `reload` (the same file and flags; reload.ts);
 * one received while starting is applied once the agent runs.
 */
export async function runAgent(config: AgentConfig, opts: { reload?: () => Promise<AgentConfig> } = {}): Promise<number> {
  // Before anything is spawned: no task or log monitor inherits systemd's socket.
  const notifySocket = takeNotifySocket();
  let hup: (() => void) | undefined;
  let hupEarly = false;
  process.on('SIGHUP', () => (hup ? hup() : (hupEarly = true)));
  // SIGTERM/SIGINT are ours from the first moment: one that arrives while the agent
  // starts (recovery can take a while) stops it once started, never kills it mid-start.
  let stopEarly: NodeJS.Signals | undefined;
  let onStop: ((sig: NodeJS.Signals) => void) | undefined;
  const early = (sig: NodeJS.Signals) => (onStop ? onStop(sig) : (stopEarly ??= sig));
  process.on('SIGTERM', early);
  process.on('SIGINT', early);
  const running = await startAgent(config);
  // Tasks recovered, the jobs dir watched, the API listening: ready (systemd Type=notify).
  const notifier = notifySocket ? systemdNotifier(notifySocket, running.logger) : undefined;
  void notifier?.ready(`running; API on ${config.api.socket}`);
  let reloading = Promise.resolve();
  hup = () => {
    running.logger.info({ signal: 'SIGHUP' }, 'reloading agent config');
    if (!opts.reload) return void running.logger.warn({}, 'agent config reload unavailable: no loader');
    const load = opts.reload;
    reloading = reloading.then(() => reloadConfig(config, load, running.logger)).then(() => undefined, () => undefined);
  };
  if (hupEarly) hup();
  return new Promise<number>((resolve) => {
    let signals = 0;
    onStop = (sig: NodeJS.Signals) => {
      if (++signals > 1) {
        running.logger.warn({ signal: sig }, 'second signal, exiting now');
        resolve(130);
        return;
      }
      void notifier?.stopping();
      running.shutdown(sig).then(
        () => resolve(0),
        (err) => {
          running.logger.error({ err: describeError(err) }, 'agent shutdown failed');
          resolve(1);
        },
      );
    };
    if (stopEarly) onStop(stopEarly);
  });
}
