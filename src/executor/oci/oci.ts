/**
 * The oci executor's contract: its options, the on-disk layout under
 * `<dataDir>/oci/`, and the reattach data it keeps in a TaskHandle.
 *
 * Layout (one runc state root so `runc list` shows only tend's containers):
 *   <dataDir>/oci/<id>/config.json   the bundle (rootfs/ is the exec root)
 *   <dataDir>/oci/<id>/identity.json who the task is, the caller's notes and
 *                                    (once started) its handle: TaskRecordFile
 *   <dataDir>/oci/<id>/pidfile       container pid (written by runc via conmon)
 *   <dataDir>/oci/<id>/conmon.pid    conmon's pid
 *   <dataDir>/oci/<id>/ctl, winsz    conmon's fifos (ctl asks for a log reopen; winsz,
 *                                    held open by conmon while it lives, tells the
 *                                    exit watch when it is gone: exit-watch.ts)
 *   <dataDir>/oci/exits/<id>         exit code, written by conmon
 *   <dataDir>/oci/sockets/           conmon attach sockets (links to bundles and exec dirs)
 *   <dataDir>/oci/execs/<xid>/       one `exec -t` session: conmon's process.json,
 *                                    pidfile and fifos (terminal.ts)
 *   <dataDir>/oci/runc-root/         runc --root
 */
import type { Launcher } from '../launcher.js';
import path from 'node:path';
import type pino from 'pino';
import type { CgroupManager } from '../../cgroups/cgroups.js';
import type { LogMonitorClient } from '../logs/logs.js';
import type { DriverName, TaskHandle, TaskIdentity } from '../executor.js';

export interface OciExecutorOptions {
  /** Agent data dir; the executor keeps everything under `<dataDir>/oci`. */
  dataDir: string;
  /** Path or name of the OCI runtime (runc). */
  runtime: string;
  /** Path or name of conmon. */
  conmon: string;
  cgroups: CgroupManager;
  logs: LogMonitorClient;
  /** Default pids.max per task when the task sets none. */
  pidsLimit: number;
  logger?: pino.Logger;
  /** How long to wait for conmon to report the container pid (default 30 s). */
  createTimeoutMs?: number;
  /** Starts conmon and runc's verbs (launcher.ts). Default: a launcher of this executor's own; `false`: from this process. */
  launcher?: Launcher | false;
}

/** What a TaskHandle of the oci executor carries in `data` (version 1). */
export interface OciHandleData {
  bundle: string;
  exitFile: string;
  conmonPid: number;
  conmonStartTime: number;
  /** OOM kill count of the cgroup at launch (0 for a fresh cgroup). */
  oomKillsAtStart: number;
  driver: 'exec' | 'raw_exec';
  /** Exclusive cores assigned at launch (re-adopted after a restart). */
  cores?: number[];
  noCgroups?: boolean;
}

/**
 * `<bundle>/identity.json`, written with the bundle (no handle yet) and again once the task runs
 * (with its handle), before launch resolves: what `list()` reads to rebuild a lost record.
 */
export interface TaskRecordFile {
  version: 1;
  id: string;
  identity: TaskIdentity;
  driver: DriverName;
  notes?: Record<string, unknown>;
  handle?: TaskHandle;
}

/** Paths of the executor's state under a data dir. */
export class OciLayout {
  readonly root: string;
  readonly exitDir: string;
  readonly socketDir: string;
  readonly runcRoot: string;
  readonly execsDir: string;

  constructor(dataDir: string) {
    this.root = path.join(dataDir, 'oci');
    this.exitDir = path.join(this.root, 'exits');
    this.socketDir = path.join(this.root, 'sockets');
    this.runcRoot = path.join(this.root, 'runc-root');
    this.execsDir = path.join(this.root, 'execs');
  }

  bundle(id: string): string {
    return path.join(this.root, id);
  }

  rootfs(id: string): string {
    return path.join(this.root, id, 'rootfs');
  }

  exitFile(id: string): string {
    return path.join(this.exitDir, id);
  }

  pidFile(id: string): string {
    return path.join(this.root, id, 'pidfile');
  }

  conmonPidFile(id: string): string {
    return path.join(this.root, id, 'conmon.pid');
  }

  identityFile(id: string): string {
    return path.join(this.root, id, 'identity.json');
  }

  ctlFifo(id: string): string {
    return path.join(this.root, id, 'ctl');
  }

  winszFifo(id: string): string {
    return path.join(this.root, id, 'winsz');
  }

  /** Names under `root` that are not task bundles. */
  static readonly reserved = new Set(['exits', 'sockets', 'runc-root', 'execs']);
}
