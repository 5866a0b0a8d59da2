/**
 * Runs a real agent (`bin/tend.js agent`, plain executor by default, or oci)
 * as a subprocess on temp dirs, and reads what it records and what runs.
 * Everything it starts — the agent, its tasks (marked TEND_TASK_ID, under
 * this data dir), the log monitor, and with oci every conmon, container,
 * mount and cgroup under its own cgroup parent — is removed in cleanup().
 * A harness made with `shareStateWith` runs its agent on another harness's
 * data dir (its own jobs dir and config): its cleanup stops only its own
 * agent and leaves the data dir to the owner's cleanup.
 */
import { readStoreDocument } from '../../../src/store/lowdb-store.js';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { openSync, closeSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listPids, readEnviron, readStat } from '../../../src/executor/proc.js';
import { defaultCgroupParent } from '../../../src/agent/config.js';
import type { StoreDocument, TaskRecord } from '../../../src/store/store.js';
import { waitFor } from '../../helpers/wait.js';
import { removeOciLeftovers } from './oci-cleanup.js';

const TEND = fileURLToPath(new URL('../../../bin/tend.js', import.meta.url));
const TENDCTL = fileURLToPath(new URL('../../../bin/tendctl.js', import.meta.url));

export interface Harness {
  root: string;
  jobsDir: string;
  stateDir: string;
  configFile: string;
  /** The oci executor's cgroup parent (unique per harness, or the agent's default); undefined with the plain executor. */
  cgroupParent: string | undefined;
  /** The agent's API socket (default `<stateDir>/tend.sock`). */
  socket: string;
  agent: ChildProcess | undefined;
  start(extra?: string[]): Promise<void>;
  /** Run an agent that is expected to exit by itself (a refused start): its exit code, signal and output. */
  runToExit(extra?: string[], timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
  /** SIGKILL the agent (tasks keep running). */
  kill9(): Promise<void>;
  /** SIGTERM and wait for exit. */
  term(): Promise<number | null>;
  writeJob(name: string, text: string): Promise<void>;
  records(): Record<string, TaskRecord>;
  doc(): StoreDocument | undefined;
  /** Live task processes of this agent: TEND_TASK_ID → pids (the plain executor's wrappers only when asked). */
  taskProcs(withWrappers?: boolean): Map<string, number[]>;
  agentLog(): string;
  /** The TCP URL the agent bound (`http://127.0.0.1:PORT`), from its log; undefined before it listens or without `tcp`. */
  tcpUrl(): string | undefined;
  /** Run `bin/tendctl.js ARGS -address <this agent>`. */
  tendctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  cleanup(): Promise<void>;
}

export function job(name: string, opts: { count?: number; args?: string; memory?: number; type?: string } = {}): string {
  return `job "${name}" {
  type = "${opts.type ?? 'service'}"
  group "g" {
    count = ${opts.count ?? 1}
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "${opts.args ?? 'exec sleep 1000'}"]
      }
      kill_timeout = "2s"
      resources {
        cpu    = 100
        memory = ${opts.memory ?? 64}
      }
    }
  }
}
`;
}

export interface HarnessOptions {
  jobsLink?: boolean;
  resync?: string;
  nodeArgs?: string[];
  /** `-executor` of the agent (default plain). oci gets a cgroup parent of its own. */
  executor?: 'plain' | 'oci';
  /** More agent config (e.g. a `plugin "exec" { config { … } }` block). */
  config?: string;
  /**
   * oci: `unique` (default) writes a cgroup parent of the harness's own; `default` leaves the agent's
   * default (one per data dir); `{ name }` writes that one (several harnesses may share it).
   */
  cgroupParent?: 'unique' | 'default' | { name: string };
  /** Run on this harness's data dir (and cgroup parent) with a jobs dir, config and log of its own. */
  shareStateWith?: Harness;
  /** The agent's API socket (default `<stateDir>/tend.sock`, or `<root>/tend.sock` with shareStateWith). */
  socket?: string;
  /** More lines of the `api` block (e.g. `address = "127.0.0.1:0"` and a `token`). */
  api?: string;
  /** Also listen on loopback TCP (`address`, e.g. `127.0.0.1:0`) with this token; `tcpUrl()` reads the address bound. */
  tcp?: { address: string; token: string };
}

export async function createHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'tend-e2e-'));
  const owner = opts.shareStateWith;
  const stateDir = owner?.stateDir ?? path.join(root, 'state');
  const jobsDir = path.join(root, 'jobs');
  if (!opts.jobsLink) await mkdir(jobsDir);
  const configFile = path.join(root, 'agent.hcl');
  const executor = opts.executor ?? 'plain';
  const parentMode = opts.cgroupParent ?? 'unique';
  const cgroupParent =
    executor !== 'oci' ? undefined
    : owner ? owner.cgroupParent
    : typeof parentMode === 'object' ? parentMode.name
    : parentMode === 'default' ? defaultCgroupParent(stateDir)
    : path.basename(root);
  const explicitParent = executor === 'oci' && (owner ? owner.cgroupParent !== undefined : parentMode !== 'default');
  const socket = opts.socket ?? path.join(owner ? root : stateDir, 'tend.sock');
  await writeFile(
    configFile,
    `data_dir = "${stateDir}"\njobs_dir = "${jobsDir}"\nresync_interval = "${opts.resync ?? '30s'}"\nplugin "raw_exec" {\n  config {\n    enabled = true\n  }\n}\n` +
      (explicitParent && cgroupParent ? `oci {\n  cgroup_parent = "${cgroupParent}"\n}\n` : '') +
      `api {\n  socket = "${socket}"\n${opts.tcp ? `  address = "${opts.tcp.address}"\n  token = "${opts.tcp.token}"\n` : ''}${opts.api ? `${opts.api}\n` : ''}}\n` +
      (opts.config ?? ''),
  );
  const logFile = path.join(root, 'agent.log');
  const h: Harness = {
    root,
    jobsDir,
    stateDir,
    configFile,
    cgroupParent,
    socket,
    agent: undefined,
    async start(extra: string[] = []) {
      const fd = openSync(logFile, 'a');
      const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), TEND, 'agent', '-config', configFile, '-executor', executor, '-log-level', 'debug', ...extra], {
        stdio: ['ignore', fd, fd],
        env: { ...process.env, TEND_E2E: root },
      });
      closeSync(fd);
      h.agent = child;
      await waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}:\n${h.agentLog()}`);
        return (await readdir(path.dirname(socket)).catch(() => [] as string[])).includes(path.basename(socket));
      }, { what: 'agent api socket', timeoutMs: 20_000 });
    },
    async runToExit(extra: string[] = [], timeoutMs = 20_000) {
      const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), TEND, 'agent', '-config', configFile, '-executor', executor, '-log-level', 'debug', ...extra], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, TEND_E2E: root },
      });
      h.agent = child;
      let output = '';
      child.stdout!.setEncoding('utf8').on('data', (s: string) => (output += s));
      child.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('close', (code, signal) => r({ code, signal })));
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`agent still running after ${timeoutMs}ms:\n${output}`)), timeoutMs)));
      try {
        return { ...(await Promise.race([exited, deadline])), output };
      } finally {
        clearTimeout(timer);
      }
    },
    async kill9() {
      const a = h.agent;
      if (!a || a.exitCode !== null || a.signalCode !== null) return;
      const exited = new Promise((r) => a.once('exit', r));
      a.kill('SIGKILL');
      await exited;
      await rm(socket, { force: true });
    },
    async term() {
      const a = h.agent;
      if (!a || a.exitCode !== null || a.signalCode !== null) return a?.exitCode ?? null;
      const exited = new Promise<number | null>((r) => a.once('exit', (code) => r(code)));
      a.kill('SIGTERM');
      return exited;
    },
    async writeJob(name, text) {
      // Write to a temp name and rename, as editors and sync tools do.
      const tmp = path.join(jobsDir, `.${name}.tmp`);
      await writeFile(tmp, text);
      const { rename } = await import('node:fs/promises');
      await rename(tmp, path.join(jobsDir, name));
    },
    doc() {
      // The snapshot and its journal, as the agent wrote them (src/store/lowdb-store.ts).
      return readStoreDocument(stateDir);
    },
    records() {
      return h.doc()?.tasks ?? {};
    },
    taskProcs(withWrappers = false) {
      const out = new Map<string, number[]>();
      for (const pid of listPids()) {
        const env = readEnviron(pid);
        const id = env.TEND_TASK_ID;
        if (!id || !(env.NOMAD_ALLOC_DIR ?? '').startsWith(stateDir)) continue;
        const st = readStat(pid);
        if (!st || st.state === 'Z') continue;
        // The plain executor's wrapper (it waits for the task and writes the exit file) is not the task.
        if (!withWrappers) {
          let cmd: string;
          try {
            cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
          } catch {
            continue; // it exited since its stat was read
          }
          if (cmd.includes('tend-wrapper')) continue;
        }
        out.set(id, [...(out.get(id) ?? []), pid]);
      }
      return out;
    },
    tcpUrl() {
      for (const line of h.agentLog().split('\n')) {
        if (!line.includes('"api listening"')) continue;
        try {
          const v = JSON.parse(line) as { tcp?: string };
          if (v.tcp) return v.tcp;
        } catch {
          /* not a JSON line */
        }
      }
      return undefined;
    },
    agentLog() {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    tendctl(args) {
      return new Promise((resolve) => {
        execFile(process.execPath, [TENDCTL, ...args, '-address', `unix://${socket}`], { timeout: 20_000 }, (err, stdout, stderr) => {
          resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
        });
      });
    },
    async cleanup() {
      await h.kill9();
      if (owner) {
        // The data dir, its tasks and cgroups are the owner's to clean up.
        await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
        return;
      }
      if (cgroupParent) await removeOciLeftovers({ stateDir, cgroupParent });
      for (let i = 0; i < 3; i++) {
        for (const pids of h.taskProcs(true).values()) for (const pid of pids) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
      await waitFor(() => h.taskProcs(true).size === 0, { what: 'task processes gone', timeoutMs: 5000 }).catch(() => {});
      // The log monitor of this data dir.
      for (const pid of listPids()) {
        try {
          const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
          if (cmd.includes('logmon') && cmd.includes(stateDir)) process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    },
  };
  return h;
}

export function running(h: Harness, id: string): TaskRecord | undefined {
  const r = h.records()[id];
  return r && r.state === 'running' && r.handle ? r : undefined;
}
