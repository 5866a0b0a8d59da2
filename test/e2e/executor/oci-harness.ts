/**
 * Shared setup of the oci executor e2e tests: a temp data dir, a cgroup
 * parent of its own, a no-op log client, a LaunchSpec builder, and checks
 * that nothing of a task is left (processes, mounts, bundle, cgroups).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, existsSync, rmSync, rmdirSync } from 'node:fs';
import os from 'node:os';
import pino from 'pino';
import path from 'node:path';
import { createCgroupManager } from '../../../src/cgroups/factory.js';
import type { CgroupManager } from '../../../src/cgroups/cgroups.js';
import type { LaunchSpec, ExecIsolation } from '../../../src/executor/executor.js';
import type { LogMonitorClient } from '../../../src/executor/logs/logs.js';
import { logPaths } from '../../../src/executor/logs/logs.js';
import { OciExecutor } from '../../../src/executor/oci/executor.js';
import { platform } from '../../../src/platform.js';
import { listPids, readEnviron } from '../../../src/executor/proc.js';
import { DEFAULT_CHROOT_ENV, existingChrootEnv, computeCapabilities, ociCap } from '../../../src/drivers/exec-isolation.js';

export const noopLogs: LogMonitorClient = {
  ensure: async () => undefined,
  add: async () => undefined,
  collect: async () => undefined,
  revive: async () => undefined,
  unregistered: () => [],
  status: async () => undefined,
  remove: async () => undefined,
  sync: async () => undefined,
  pid: async () => undefined,
  stop: async () => undefined,
};

export interface Harness {
  dataDir: string;
  parent: string;
  cgroups: CgroupManager;
  executor: OciExecutor;
  /** A new executor instance on the same data dir and cgroup parent (an agent restart). */
  restart(): OciExecutor;
  spec(id: string, over?: Partial<LaunchSpec> & { iso?: Partial<ExecIsolation> }): LaunchSpec;
  /** The task's stdout+stderr lines as conmon logged them (k8s-file, text only). */
  output(id: string): string;
  dispose(): Promise<void>;
}

export function defaultCaps(): string[] {
  return computeCapabilities(['audit_write', 'chown', 'dac_override', 'fowner', 'fsetid', 'kill', 'mknod', 'net_bind_service', 'setfcap', 'setgid', 'setpcap', 'setuid', 'sys_chroot'], [], []).map(ociCap);
}

export function makeHarness(name: string): Harness {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `tend-oci-${name}-`));
  const parent = `tend-test-${name}-${process.pid}`;
  const cgroups = createCgroupManager({ parent });
  const mk = () => new OciExecutor({ dataDir, runtime: 'runc', conmon: 'conmon', cgroups, logs: noopLogs, pidsLimit: 256, logger: process.env.TEND_TEST_LOG ? pino({ level: 'debug' }) : undefined });
  const executors: OciExecutor[] = [mk()];
  const specs = new Map<string, LaunchSpec>();
  const h: Harness = {
    dataDir,
    parent,
    cgroups,
    executor: executors[0],
    restart() {
      const e = mk();
      executors.push(e);
      return e;
    },
    spec(id, over = {}) {
      const allocDir = path.join(dataDir, 'alloc', id, 'alloc');
      const taskDir = path.join(dataDir, 'alloc', id, 't');
      const logDir = path.join(dataDir, 'logs', id);
      for (const d of [allocDir, logDir, path.join(allocDir, 'logs'), path.join(taskDir, 'local'), path.join(taskDir, 'secrets'), path.join(taskDir, 'tmp')]) mkdirSync(d, { recursive: true });
      const { iso, ...rest } = over;
      const s: LaunchSpec = {
        id,
        identity: { job: 'j', group: 'g', index: 0, task: 't', allocId: id },
        driver: 'exec',
        command: '/bin/sh',
        args: ['-c', 'sleep 30'],
        env: { PATH: '/usr/bin:/bin', TEND_TEST_ID: id },
        allocDir,
        taskDir,
        cwd: '/',
        logDir,
        logs: { maxFiles: 2, maxFileSizeBytes: 1 << 20 },
        resources: { cpuShares: 100, memoryBytes: 64 << 20, memoryMaxBytes: 64 << 20 },
        isolation: {
          chrootEnv: existingChrootEnv(DEFAULT_CHROOT_ENV),
          pidMode: 'private',
          ipcMode: 'private',
          noPivotRoot: false,
          capabilities: defaultCaps(),
          mounts: [],
          ...iso,
        },
        ...rest,
      };
      if (s.driver === 'raw_exec' && !('isolation' in over && over.isolation)) delete s.isolation;
      specs.set(id, s);
      return s;
    },
    output(id) {
      const s = specs.get(id)!;
      const file = logPaths(s.logDir, s.identity.task).conmonLog;
      if (!existsSync(file)) return '';
      // k8s-file: `TIMESTAMP STREAM F|P text`; P is a partial line continued by the next entry.
      let text = '';
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        const [, , tag, ...rest] = line.split(' ');
        if (!tag) continue;
        text += rest.join(' ') + (tag === 'F' ? '\n' : '');
      }
      return text.replace(/\n$/, '');
    },
    async dispose() {
      for (const id of specs.keys()) await executors[0].cleanup(id).catch(() => undefined);
      for (const e of executors) await e.close();
      removeParent(parent);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return h;
}

/** Every cgroup hierarchy's mount point. */
export function cgroupRoots(): string[] {
  const m = platform().cgroups;
  return [...new Set([...Object.values(m.v1), ...(m.unified ? [m.unified] : [])])];
}

function removeParent(parent: string): void {
  for (const root of cgroupRoots()) {
    const dir = path.join(root, parent);
    if (!existsSync(dir)) continue;
    for (const child of readdirSync(dir, { withFileTypes: true })) if (child.isDirectory()) rmdirSync(path.join(dir, child.name));
    rmdirSync(dir);
  }
}

/** What is left of a task: cgroup dirs, mounts mentioning its bundle, processes with its id, the bundle. */
export function leftovers(h: Harness, id: string): string[] {
  const out: string[] = [];
  for (const root of cgroupRoots()) if (existsSync(path.join(root, h.parent, id))) out.push(`cgroup ${path.join(root, h.parent, id)}`);
  const bundle = path.join(h.dataDir, 'oci', id);
  if (existsSync(bundle)) out.push(`bundle ${bundle}`);
  if (existsSync(path.join(h.dataDir, 'oci', 'exits', id))) out.push(`exit file of ${id}`);
  if (existsSync(path.join(h.dataDir, 'oci', 'runc-root', id))) out.push(`runc state of ${id}`);
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) if (line.includes(bundle)) out.push(`mount ${line}`);
  for (const pid of listPids()) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmd.includes(bundle) || cmd.includes(`\0${id}\0`)) out.push(`process ${pid} ${cmd.replace(/\0/g, ' ')}`);
    if (readEnviron(pid).TEND_TEST_ID === id) out.push(`process ${pid} (task env)`);
  }
  return out;
}
