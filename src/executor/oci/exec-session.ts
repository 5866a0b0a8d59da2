/**
 * `exec` inside a running task, with the task's own namespaces, root, cgroup,
 * user, groups, capability bounding set and no_new_privs, and the command,
 * env and cwd of the request. The exit code is the command's (128+N when it
 * was killed by signal N).
 *
 * Why not `runc exec`: runc enters the container's mount namespace with
 * setns(2), which puts the process at the namespace's root mount, not at the
 * container's root. When the agent itself runs chrooted inside its mount
 * namespace (build sandboxes, some CI hosts, tend inside a chroot), that root
 * is the host's, and `runc exec` hands the operator a shell on the host's
 * filesystem. nsenter `--root` chroots to /proc/PID/root of the task after
 * entering, which is right everywhere. (A terminal, `exec -t`, is the
 * runtime's own: terminal.ts.) The chain is:
 *
 *   sh (host: joins the task's cgroups) → nsenter (host binary: enters the
 *   task's namespaces and root, cwd) → setpriv (inside the root: user,
 *   groups, bounding set, no_new_privs) → the command
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TendError } from '../../errors.js';
import { descendants, isAlive, normalizeSignal, signalNumber } from '../proc.js';
import type { ExecOptions, ExecSession } from '../executor.js';
import type { OciSpec } from './bundle.js';
import { rewriteSetprivFailure } from '../exec-failure.js';
import { platform } from '../../platform.js';

/** Where setpriv is looked for inside the task's root (chroot_env's /usr or /bin). */
const SETPRIV_IN_ROOT = ['/usr/bin/setpriv', '/bin/setpriv'];

/** Joins every cgroup dir given before `--`, then execs the rest. */
const JOIN_CGROUPS =
  'p=$$; while [ "$1" != "--" ]; do echo "$p" > "$1/cgroup.procs" || { echo "tend exec: cannot join cgroup $1" >&2; exit 125; }; shift; done; shift; exec "$@"';

/** What an exec needs of its task. */
export interface ExecTarget {
  id: string;
  /** The task's init process, as the host sees it. */
  pid: number;
  /** The task's OCI spec (config.json of its bundle). */
  spec: OciSpec;
  /** The task's cgroup dirs, one per hierarchy (joined before entering). */
  cgroupDirs: string[];
  /** setpriv's path inside the task's root. */
  setpriv: string;
  /** nsenter's absolute path on the host (the agent's PATH). */
  nsenter: string;
}

/**
 * Variables that change how a dynamically linked program loads or behaves
 * (glibc's secure-mode list, plus the shell's ENV). The host-side part of the
 * chain (sh, nsenter, as root) must never see a task's value of these: a task
 * could otherwise point LD_PRELOAD at a file it wrote into its alloc dir and
 * run code as root on the host the next time an operator execs into it. They
 * are set again inside the task's root, just before the command.
 */
const LOADER_VARS = /^(LD_\w*|GCONV_PATH|GETCONF_DIR|HOSTALIASES|LOCALDOMAIN|LOCPATH|MALLOC_\w*|NIS_PATH|NLSPATH|RESOLV_HOST_CONF|RES_OPTIONS|TMPDIR|TZDIR|ENV|BASH_ENV)$/;

/** The env of an exec: the task's process env with the request's on top. */
export function execEnv(base: OciSpec['process'], opts: ExecOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of base.env) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return { ...env, ...(opts.env ?? {}) };
}

/** Split an exec env into what the host-side chain may carry and the loader variables set inside. */
export function splitEnv(env: Record<string, string>): { host: Record<string, string>; inside: Record<string, string> } {
  const host: Record<string, string> = {};
  const inside: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) (LOADER_VARS.test(k) ? inside : host)[k] = v;
  return { host, inside };
}

/** The host-side argv that runs `command` inside the task (see the module comment). */
export function execArgv(t: ExecTarget, command: string[], opts: ExecOptions): string[] {
  const { inside } = splitEnv(execEnv(t.spec.process, opts));
  const setInside = Object.keys(inside).length ? ['/usr/bin/env', ...Object.entries(inside).map(([k, v]) => `${k}=${v}`)] : [];
  const p = t.spec.process;
  const ns = new Set(t.spec.linux.namespaces.map((n) => n.type));
  const flags = [`--target=${t.pid}`];
  if (ns.has('mount')) flags.push('--mount');
  if (ns.has('pid')) flags.push('--pid');
  if (ns.has('ipc')) flags.push('--ipc');
  if (ns.has('uts')) flags.push('--uts');
  if (ns.has('network')) flags.push('--net');
  // nsenter opens --wd on the host before entering: reach the task's dir through its root.
  const cwd = opts.cwd ?? p.cwd ?? '/';
  flags.push('--root', `--wd=${path.posix.join(`/proc/${t.pid}/root`, cwd)}`);
  const groups = (p.user.additionalGids ?? []).filter((g) => g !== p.user.gid);
  const caps = (p.capabilities?.bounding ?? []).map((c) => c.replace(/^CAP_/, '').toLowerCase());
  const priv = [
    t.setpriv,
    `--reuid=${p.user.uid}`,
    `--regid=${p.user.gid}`,
    groups.length ? `--groups=${groups.join(',')}` : '--clear-groups',
    `--bounding-set=-all${caps.map((c) => `,+${c}`).join('')}`,
    '--inh-caps=-all',
    ...(p.noNewPrivileges ? ['--no-new-privs'] : []),
    '--',
    ...setInside,
    ...command,
  ];
  return ['/bin/sh', '-c', JOIN_CGROUPS, 'tend-exec', ...t.cgroupDirs, '--', t.nsenter, ...flags, '--', ...priv];
}

/** A running task's spec (config.json of its bundle); refuses a task that is not running. */
export async function runningSpec(id: string, bundle: string, pid: number, pidStartTime: number | undefined): Promise<OciSpec> {
  let spec: OciSpec;
  try {
    spec = JSON.parse(await readFile(path.join(bundle, 'config.json'), 'utf8')) as OciSpec;
  } catch (err) {
    throw new TendError('E_TASK_NOT_FOUND', `failed to exec in task ${id}: its bundle is gone`, { cause: err, details: { id } });
  }
  if (!pid || !isAlive(pid, pidStartTime)) {
    throw new TendError('E_EXECUTOR', `failed to exec in task ${id}: the task is not running`, { details: { id } });
  }
  return spec;
}

/** Read a task's spec and find what an exec needs; refuses a task that is not running. */
export async function execTarget(id: string, bundle: string, pid: number, pidStartTime: number | undefined, cgroupDirs: string[]): Promise<ExecTarget> {
  const spec = await runningSpec(id, bundle, pid, pidStartTime);
  const setpriv = SETPRIV_IN_ROOT.find((p) => existsSync(`/proc/${pid}/root${p}`));
  if (!setpriv) {
    throw new TendError('E_EXECUTOR', `failed to exec in task ${id}: setpriv (util-linux) is not in the task's root; exec needs /usr/bin/setpriv, so chroot_env must include /usr`, { details: { id } });
  }
  // By absolute path from the agent's PATH: the chain runs with the task's.
  const nsenter = platform().which('nsenter');
  if (!nsenter) throw new TendError('E_EXECUTOR', `failed to exec in task ${id}: nsenter (util-linux) is not installed on this host`, { details: { id } });
  return { id, pid, spec, nsenter, cgroupDirs: cgroupDirs.filter((d) => existsSync(path.join(d, 'cgroup.procs'))), setpriv };
}

/** A SIGKILLed session whose chain shows no command yet: this long for nsenter's fork to appear, ms. */
const KILL_FORK_GRACE_MS = 200;
/** Then the chain is killed whatever it holds. */
const KILL_GIVE_UP_MS = 5000;

export function startExec(t: ExecTarget, command: string[], opts: ExecOptions = {}): ExecSession {
  if (command.length === 0) throw new TendError('E_BAD_REQUEST', `failed to exec in task ${t.id}: expected a command, got none`);
  const env = splitEnv(execEnv(t.spec.process, opts)).host;
  const [file, ...args] = execArgv(t, command, opts);
  const child = spawn(file, args, { env, cwd: '/', stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  const exit = new Promise<number>((resolve, reject) => {
    child.once('error', (err) => reject(new TendError('E_EXECUTOR', `failed to exec in task ${t.id}: ${err.message}`, { cause: err })));
    child.once('close', (code, sig) => resolve(code ?? 128 + (sig ? signalNumber(sig) : 0)));
  });
  return {
    stdin: child.stdin,
    stdout: child.stdout!,
    stderr: rewriteSetprivFailure(child.stderr!, exit),
    exit,
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      const sig = normalizeSignal(signal) ?? 'SIGKILL';
      if (!child.pid) return;
      const pid = child.pid;
      const alive = () => child.exitCode === null && child.signalCode === null;
      // nsenter forks into a new pid namespace: signal the command and what
      // it started, not only the chain's first process (nsenter stays to reap
      // the command and report its exit).
      const signalInner = () => {
        const inner = descendants(pid);
        for (const p of inner) {
          try {
            process.kill(p, sig);
          } catch {
            /* already gone */
          }
        }
        return inner.length;
      };
      const found = signalInner();
      if (sig !== 'SIGKILL') {
        if (found === 0) child.kill(sig);
        return;
      }
      // A SIGKILL ends the session. A command forked just as the walk ran can be missed (the
      // kernel's children list is read racily); killing nsenter then orphaned it, still holding
      // the session's output (a test once waited out its 30 s). So until the chain exits, look
      // again every few ms; the chain itself is killed only when nothing under it shows up.
      const since = performance.now();
      const again = setInterval(() => {
        if (!alive()) return clearInterval(again);
        const waited = performance.now() - since;
        if ((signalInner() === 0 && waited > KILL_FORK_GRACE_MS) || waited > KILL_GIVE_UP_MS) {
          child.kill('SIGKILL');
          clearInterval(again);
        }
      }, 10);
      again.unref();
    },
  };
}
