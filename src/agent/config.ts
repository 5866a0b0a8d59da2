/**
 * The agent config parser: an HCL file (Nomad's agent layout, the part that
 * means something on one node), then flags, then defaults → AgentConfig.
 * Unknown keys and wrong types are errors naming file:line (and a hint).
 * Relative paths in the file resolve against the file's dir; in flags,
 * against the cwd.
 */
import { createHash } from 'node:crypto';
import { promises as fs, realpathSync } from 'node:fs';
import path from 'node:path';
import { hclParser } from '../jobspec/hcl-parser.js';
import { TendError, describeError, errnoCode } from '../errors.js';
import { platform } from '../platform.js';
import type { AgentConfig, ClientNetworkConfig, HostVolumeConfig, VariablesClientConfig } from './config-model.js';
import type { VariableCapability, VariablePolicy } from '../vars/vars.js';
import { DEFAULT_ENV_DENYLIST, parseEnvList } from '../drivers/host-env.js';
import { DEFAULT_ARTIFACT_LIMITS } from '../artifacts/artifacts.js';

/** Flags that override the file (`tend agent -jobs-dir …`). */
export interface AgentFlags {
  jobsDir: string;
  dataDir: string;
  nodeName: string;
  logLevel: string;
  executor: string;
  concurrency: number;
  stopTasksOnExit: boolean;
  /** A duration such as "30s". */
  resyncInterval: string;
}

export interface LoadAgentConfigOptions {
  /** The HCL config file; without it, flags and defaults only. */
  file?: string;
  flags: Partial<AgentFlags>;
  /** Base of relative flag paths and defaults (default process.cwd()). */
  cwd?: string;
  /** For `~` in paths (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Nomad's exec driver default (docker's defaults without net_raw). */
export const DEFAULT_ALLOW_CAPS = [
  'audit_write', 'chown', 'dac_override', 'fowner', 'fsetid', 'kill', 'mknod',
  'net_bind_service', 'setfcap', 'setgid', 'setpcap', 'setuid', 'sys_chroot',
];
/** Keys of `client { options = { … } }` tend acts on (Nomad's names). */
const CLIENT_OPTIONS = ['env.denylist', 'env.allowlist'];

/** Nomad's default chroot_env (missing dirs are skipped when building a root). */
export const DEFAULT_CHROOT_ENV = ['/bin', '/etc', '/lib', '/lib32', '/lib64', '/run/resolvconf', '/sbin', '/usr'];

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
const EXECUTORS = ['auto', 'plain', 'oci'] as const;
const MODES = ['private', 'host'] as const;

type Raw = Record<string, unknown>;

const KEYS = {
  top: ['data_dir', 'jobs_dir', 'log_level', 'executor', 'concurrency', 'resync_interval', 'stop_tasks_on_exit', 'client', 'plugin', 'oci', 'api'],
  client: [
    'node_name', 'node_class', 'datacenter', 'meta', 'chroot_env', 'reserved', 'host_volume', 'options', 'artifact', 'job_file_dirs', 'variables', 'template',
    'network_interface', 'min_dynamic_port', 'max_dynamic_port', 'host_network',
  ],
  template: ['wait', 'function_denylist', 'disable_file_sandbox', 'file_dirs', 'max_stale', 'block_query_wait', 'wait_bounds', 'consul_retry', 'vault_retry', 'nomad_retry'],
  templateWait: ['min', 'max'],
  variables: ['dir', 'policy'],
  varPolicy: ['job', 'group', 'task', 'path'],
  varPath: ['capabilities'],
  artifact: [
    'http_read_timeout', 'http_max_size', 'gcs_timeout', 'git_timeout', 'hg_timeout', 's3_timeout', 'decompression_size_limit',
    'decompression_file_count_limit', 'disable_filesystem_isolation', 'set_environment_variables', 'allowed_local_dirs',
  ],
  reserved: ['cores', 'memory', 'cpu', 'reserved_ports'],
  hostVolume: ['path', 'read_only'],
  hostNetwork: ['cidr', 'interface', 'reserved_ports'],
  plugin: ['config'],
  rawExec: ['enabled', 'no_cgroups'],
  exec: ['enabled', 'default_pid_mode', 'default_ipc_mode', 'no_pivot_root', 'allow_caps', 'denied_host_uids', 'denied_host_gids'],
  oci: ['runtime', 'conmon', 'pids_limit', 'cgroup_parent'],
  api: ['socket', 'address', 'token'],
};

/** Read, parse and resolve the agent config. Throws TendError E_CONFIG_INVALID. */
export async function loadAgentConfig(opts: LoadAgentConfigOptions): Promise<AgentConfig> {
  if (opts.file === undefined) return buildConfig(undefined, {}, opts);
  const file = path.resolve(opts.cwd ?? process.cwd(), opts.file);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new TendError('E_CONFIG_INVALID', `failed to read agent config ${file}: ${describeError(err)}`, { cause: err, details: { file } });
  }
  return parseAgentConfig(file, text, opts);
}

/** Same, from text already read (`file` names it in messages and anchors relative paths). */
export async function parseAgentConfig(file: string, text: string, opts: Omit<LoadAgentConfigOptions, 'file'>): Promise<AgentConfig> {
  let raw: Raw;
  try {
    raw = (await hclParser().parse(file, text)) as Raw; // the same worker as job files: one wasm instance per process
  } catch (err) {
    const m = /([^\s[]+):(\d+),(\d+)[^:]*: ([^\]]*)\]?\s*$/.exec(describeError(err));
    const where = m ? `${m[1]}:${m[2]}:${m[3]}` : file;
    throw new TendError('E_CONFIG_INVALID', `failed to load agent config: ${where}: ${m ? m[4] : describeError(err)}`, {
      cause: err,
      details: { file, line: m ? Number(m[2]) : 0 },
    });
  }
  return buildConfig(new Source(file, text), raw, opts);
}

/** A copy safe to log: the API token is replaced. */
export function redactConfig(cfg: AgentConfig): AgentConfig {
  const copy = structuredClone(cfg);
  if (copy.api.token !== undefined) copy.api.token = '<redacted>';
  return copy;
}

/** Go-style durations: "30s", "1m30s", "500ms", "1.5h". */
export function parseDuration(s: string): number | undefined {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s)) return undefined;
  let ms = 0;
  for (const [, n, , u] of s.matchAll(/(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(n) * units[u];
  return Math.round(ms);
}

/**
 * Sizes as Nomad reads them (go-humanize): "100GB" = 100·10⁹, "1GiB" = 2³⁰,
 * "512MB", "4096" (bytes), "1.5 GB"; case-insensitive. Undefined when malformed.
 */
export function parseBytes(s: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtpe]?)(i?)(b?)\s*$/i.exec(s);
  if (!m) return undefined;
  const power = ' kmgtpe'.indexOf(m[2].toLowerCase() || ' ');
  if (m[3] && !m[2]) return undefined;
  const n = Number(m[1]) * (m[3] ? 1024 : 1000) ** power;
  return Number.isFinite(n) ? Math.floor(n) : undefined;
}

/** "0,10-15" → [[0,0],[10,15]]; undefined when malformed. */
export function parseRanges(s: string): [number, number][] | undefined {
  if (s.trim() === '') return [];
  const out: [number, number][] = [];
  for (const part of s.split(',')) {
    const m = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(part);
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) return undefined;
    out.push([lo, hi]);
  }
  return out;
}

/** The closest candidate within a small edit distance, for "did you mean". */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The config text, for line numbers: a key path (`client`, `host_volume "data"`, `path`) is found
 * by scanning for each segment in turn after the line of the one before.
 */
class Source {
  readonly file: string;
  readonly #lines: string[];
  constructor(file: string, text: string) {
    this.file = file;
    this.#lines = text.split('\n');
  }
  lineOf(segments: string[]): number {
    let [line, col, found] = [0, 0, 0];
    for (const seg of segments) {
      const [key, label] = seg.split('\u0000').map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
      // `key =`, `key {`, `"key" =` or `key "label"`, at a line start or after `{` (one-line blocks).
      const re = new RegExp(label === undefined ? `(^|[{\\s])"?${key}"?\\s*[={]` : `(^|[{\\s])${key}\\s+"${label}"`);
      let hit: { line: number; col: number } | undefined;
      for (let n = line; n < this.#lines.length && !hit; n++) {
        const text = this.#lines[n].slice(n === line ? col : 0);
        const m = /^\s*(#|\/\/)/.test(text) ? null : re.exec(text);
        if (m) hit = { line: n, col: (n === line ? col : 0) + m.index + m[0].length };
      }
      if (!hit) break;
      [line, col, found] = [hit.line, hit.col, hit.line + 1];
    }
    return found;
  }
}

/** Where a value sits, for messages: the dotted key and its line. */
class At {
  constructor(
    readonly src: Source | undefined,
    readonly segments: string[],
  ) {}
  key(k: string): At {
    return new At(this.src, [...this.segments, k]);
  }
  labeled(k: string, label: string): At {
    return new At(this.src, [...this.segments, `${k}\u0000${label}`]);
  }
  get name(): string {
    return this.segments.map((s) => s.replace(/\u0000(.*)/, ' "$1"')).join('.');
  }
  fail(message: string, extra: Record<string, unknown> = {}): never {
    const line = this.src?.lineOf(this.segments) ?? 0;
    const where = this.src ? `${this.src.file}:${line}: ` : '';
    throw new TendError('E_CONFIG_INVALID', `failed to load agent config: ${where}${message}`, {
      details: { file: this.src?.file, line, key: this.name, ...extra },
    });
  }
  expected(what: string, got: unknown): never {
    return this.fail(`${this.name}: expected ${what}, got ${show(got)}`);
  }
}

function show(v: unknown): string {
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'object') return 'a block';
  return typeof v === 'object' && v !== null ? (Array.isArray(v) ? 'a list' : 'a block') : JSON.stringify(v);
}

/** A block (hcl2json gives `[ {…} ]`) or an object attribute; unknown keys are errors. */
function block(at: At, v: unknown, keys: readonly string[]): Raw {
  const obj = Array.isArray(v) && v.length === 1 ? v[0] : v;
  if (Array.isArray(v) && v.length > 1) at.fail(`${at.name}: expected one block, got ${v.length}`);
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return at.expected('a block', v);
  for (const k of Object.keys(obj)) {
    if (keys.includes(k)) continue;
    const hint = closest(k, keys);
    at.key(k).fail(`unknown key "${at.key(k).name}"${hint ? `; did you mean "${hint}"?` : ''}`, { hint });
  }
  return obj as Raw;
}

/** Labeled blocks (`plugin "exec" {…}`) → label → body. */
function labeled(at: At, v: unknown): Map<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return at.expected('labeled blocks', v);
  return new Map(Object.entries(v));
}

const get = {
  str(at: At, o: Raw, k: string): string | undefined {
    const v = o[k];
    if (v === undefined) return undefined;
    return typeof v === 'string' ? v : at.key(k).expected('a string', v);
  },
  int(at: At, o: Raw, k: string, min: number): number | undefined {
    const v = o[k];
    if (v === undefined) return undefined;
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) return at.key(k).expected('a number', v);
    return n >= min ? n : at.key(k).expected(`a whole number >= ${min}`, v);
  },
  bool(at: At, o: Raw, k: string): boolean | undefined {
    const v = o[k];
    if (v === undefined) return undefined;
    return typeof v === 'boolean' ? v : at.key(k).expected('true or false', v);
  },
  oneOf<T extends string>(at: At, o: Raw, k: string, allowed: readonly T[]): T | undefined {
    const v = get.str(at, o, k);
    if (v === undefined) return undefined;
    return (allowed as readonly string[]).includes(v) ? (v as T) : at.key(k).expected(`one of ${allowed.map((a) => `"${a}"`).join(', ')}`, v);
  },
  bytes(at: At, o: Raw, k: string): number | undefined {
    const v = o[k];
    if (v === undefined) return undefined;
    const n = typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : typeof v === 'string' ? parseBytes(v) : undefined;
    return n ?? at.key(k).expected('a size like "100GB" or "512MiB"', v);
  },
  duration(at: At, o: Raw, k: string): number | undefined {
    const v = get.str(at, o, k);
    if (v === undefined) return undefined;
    return parseDuration(v) ?? at.key(k).expected('a duration like "30s"', v);
  },
  strings(at: At, o: Raw, k: string): string[] | undefined {
    const v = o[k];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) return at.key(k).expected('a list of strings', v);
    return v as string[];
  },
  stringMap(at: At, o: Raw, k: string): Record<string, string> | undefined {
    const v = o[k];
    if (v === undefined) return undefined;
    const obj = Array.isArray(v) && v.length === 1 ? v[0] : v;
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return at.key(k).expected('a map of strings', v);
    const out: Record<string, string> = {};
    for (const [mk, mv] of Object.entries(obj)) {
      if (typeof mv === 'object' || mv === null) return at.key(k).key(mk).expected('a string', mv);
      out[mk] = String(mv);
    }
    return out;
  },
  ranges(at: At, o: Raw, k: string): [number, number][] | undefined {
    const v = o[k];
    if (v === undefined) return undefined;
    const r = typeof v === 'number' && Number.isInteger(v) ? parseRanges(String(v)) : typeof v === 'string' ? parseRanges(v) : undefined;
    return r ?? at.key(k).expected('ranges like "0,10-15"', v);
  },
};

function expandPath(p: string, base: string, env: NodeJS.ProcessEnv): string {
  if ((p === '~' || p.startsWith('~/')) && env.HOME) p = path.join(env.HOME, p.slice(1));
  return path.resolve(base, p);
}

function buildConfig(src: Source | undefined, raw: Raw, opts: Omit<LoadAgentConfigOptions, 'file'>): AgentConfig {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const fileDir = src ? path.dirname(src.file) : cwd;
  const root = new At(src, []);
  const top = block(root, raw, KEYS.top);

  const c = root.key('client');
  const client = top.client === undefined ? {} : block(c, top.client, KEYS.client);
  const r = c.key('reserved');
  const reserved = client.reserved === undefined ? {} : block(r, client.reserved, KEYS.reserved);
  const cores = reserved.cores === undefined ? [] : coresOf(r, reserved.cores);

  let chrootEnv = DEFAULT_CHROOT_ENV;
  let chrootEnvMap: Record<string, string> | undefined;
  if (Array.isArray(client.chroot_env)) chrootEnv = get.strings(c, client, 'chroot_env')!;
  else if (client.chroot_env !== undefined) {
    chrootEnvMap = get.stringMap(c, client, 'chroot_env')!;
    chrootEnv = Object.keys(chrootEnvMap);
  }
  for (const p of chrootEnv) if (!path.isAbsolute(p)) c.key('chroot_env').expected('absolute paths', p);
  for (const p of Object.values(chrootEnvMap ?? {})) if (!path.isAbsolute(p)) c.key('chroot_env').expected('absolute paths inside the task', p);
  chrootEnvMap ??= Object.fromEntries(chrootEnv.map((p) => [p, p]));

  // Nomad's client options map: the ones with a meaning here.
  const options = get.stringMap(c, client, 'options') ?? {};
  for (const k of Object.keys(options)) {
    if (!CLIENT_OPTIONS.includes(k)) {
      const hint = closest(k, CLIENT_OPTIONS);
      c.key('options').fail(`unknown client option "${k}": tend has ${CLIENT_OPTIONS.map((o) => `"${o}"`).join(', ')}${hint ? `; did you mean "${hint}"?` : ''}`, { hint });
    }
  }
  const taskEnv = {
    denylist: options['env.denylist'] === undefined ? [...DEFAULT_ENV_DENYLIST] : parseEnvList(options['env.denylist']),
    ...(options['env.allowlist'] === undefined ? {} : { allowlist: parseEnvList(options['env.allowlist']) }),
  };

  const art = c.key('artifact');
  const artifactRaw = client.artifact === undefined ? {} : block(art, client.artifact, KEYS.artifact);
  for (const k of ['gcs_timeout', 'hg_timeout', 's3_timeout']) get.duration(art, artifactRaw, k); // accepted for Nomad compatibility
  get.bool(art, artifactRaw, 'disable_filesystem_isolation');
  const artifact = {
    limits: {
      httpReadTimeoutMs: get.duration(art, artifactRaw, 'http_read_timeout') ?? DEFAULT_ARTIFACT_LIMITS.httpReadTimeoutMs,
      httpMaxBytes: get.bytes(art, artifactRaw, 'http_max_size') ?? DEFAULT_ARTIFACT_LIMITS.httpMaxBytes,
      gitTimeoutMs: get.duration(art, artifactRaw, 'git_timeout') ?? DEFAULT_ARTIFACT_LIMITS.gitTimeoutMs,
      decompressionSizeLimit: get.bytes(art, artifactRaw, 'decompression_size_limit') ?? DEFAULT_ARTIFACT_LIMITS.decompressionSizeLimit,
      decompressionFileCountLimit: get.int(art, artifactRaw, 'decompression_file_count_limit', 0) ?? DEFAULT_ARTIFACT_LIMITS.decompressionFileCountLimit,
    },
    setEnvironmentVariables: (get.str(art, artifactRaw, 'set_environment_variables') ?? '').split(/[\s,]+/).filter(Boolean),
    allowedLocalDirs: (get.strings(art, artifactRaw, 'allowed_local_dirs') ?? []).map((p) => expandPath(p, fileDir, env)),
  };
  const jobFileDirs = (get.strings(c, client, 'job_file_dirs') ?? []).map((d) => expandPath(d, fileDir, env));

  const variables = variablesConfig(c.key('variables'), client.variables, fileDir, env);

  // client { template { … } }: Nomad's client template options that mean something on one node.
  const tpl = c.key('template');
  const tplRaw = client.template === undefined ? {} : block(tpl, client.template, KEYS.template);
  for (const k of ['max_stale', 'block_query_wait']) get.duration(tpl, tplRaw, k); // accepted for Nomad compatibility: no servers to query
  const waitRaw = tplRaw.wait === undefined ? {} : block(tpl.key('wait'), tplRaw.wait, KEYS.templateWait);
  const waitMin = get.duration(tpl.key('wait'), waitRaw, 'min') ?? 5000;
  const waitMax = get.duration(tpl.key('wait'), waitRaw, 'max') ?? 240_000;
  if (waitMax < waitMin) tpl.key('wait').fail(`expected max >= min, got min ${waitMin} ms and max ${waitMax} ms`);
  const template = {
    wait: { minMs: waitMin, maxMs: waitMax },
    functionDenylist: get.strings(tpl, tplRaw, 'function_denylist') ?? ['plugin', 'writeToFile'],
    disableFileSandbox: get.bool(tpl, tplRaw, 'disable_file_sandbox') ?? false,
    fileDirs: (get.strings(tpl, tplRaw, 'file_dirs') ?? []).map((d) => expandPath(d, fileDir, env)),
  };

  const hostVolumes: HostVolumeConfig[] = [];
  if (client.host_volume !== undefined) {
    for (const [name, body] of labeled(c.key('host_volume'), client.host_volume)) {
      const at = c.labeled('host_volume', name);
      const hv = block(at, body, KEYS.hostVolume);
      const p = get.str(at, hv, 'path') ?? at.fail(`${at.name}: path is required`);
      hostVolumes.push({ name, path: expandPath(p, fileDir, env), readOnly: get.bool(at, hv, 'read_only') ?? false });
    }
  }

  const plugins: Record<string, Raw> = {};
  if (top.plugin !== undefined) {
    for (const [name, body] of labeled(root.key('plugin'), top.plugin)) {
      const at = root.labeled('plugin', name);
      const keys = name === 'raw_exec' ? KEYS.rawExec : name === 'exec' ? KEYS.exec : undefined;
      if (!keys) {
        const hint = closest(name, ['raw_exec', 'exec']);
        return at.fail(`unknown plugin "${name}": tend has "exec" and "raw_exec"${hint ? `; did you mean "${hint}"?` : ''}`, { hint });
      }
      const p = block(at, body, KEYS.plugin);
      plugins[name] = p.config === undefined ? {} : block(at.key('config'), p.config, keys);
    }
  }
  const rawAt = root.labeled('plugin', 'raw_exec').key('config');
  const execAt = root.labeled('plugin', 'exec').key('config');
  const rx = plugins.raw_exec ?? {};
  const ex = plugins.exec ?? {};
  const allowCaps = get.strings(execAt, ex, 'allow_caps')?.map((s) => s.toLowerCase().replace(/^cap_/, '')) ?? DEFAULT_ALLOW_CAPS;

  const o = root.key('oci');
  const oci = top.oci === undefined ? {} : block(o, top.oci, KEYS.oci);
  const a = root.key('api');
  const api = top.api === undefined ? {} : block(a, top.api, KEYS.api);

  const f = opts.flags;
  const flagAt = new At(undefined, []);
  const flagOneOf = <T extends string>(name: string, v: string | undefined, allowed: readonly T[]): T | undefined =>
    v === undefined ? undefined : get.oneOf(flagAt, { [name]: v }, name, allowed);

  const fromFile = (k: 'data_dir' | 'jobs_dir'): string | undefined => {
    const v = get.str(root, top, k);
    return v === undefined ? undefined : expandPath(v, fileDir, env);
  };
  const dataDir = f.dataDir !== undefined ? expandPath(f.dataDir, cwd, env) : (fromFile('data_dir') ?? path.resolve(cwd, 'state'));
  const jobsDir = f.jobsDir !== undefined ? expandPath(f.jobsDir, cwd, env) : (fromFile('jobs_dir') ?? path.resolve(cwd, 'jobs'));
  const resyncFlag = f.resyncInterval === undefined ? undefined : get.duration(flagAt, { '-resync-interval': f.resyncInterval }, '-resync-interval');
  const concurrencyFlag = f.concurrency === undefined ? undefined : get.int(flagAt, { '-concurrency': f.concurrency }, '-concurrency', 1);

  const address = get.str(a, api, 'address');
  const token = get.str(a, api, 'token');
  if (address !== undefined) {
    if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/.test(address)) a.key('address').expected('a loopback address like "127.0.0.1:4747"', address);
    if (!token) a.key('address').fail('api.address: a TCP address requires api.token');
  }
  const socket = get.str(a, api, 'socket');

  const cfg: AgentConfig = {
    dataDir,
    jobsDir,
    logLevel: flagOneOf('-log-level', f.logLevel, LOG_LEVELS) ?? get.oneOf(root, top, 'log_level', LOG_LEVELS) ?? 'info',
    executor: flagOneOf('-executor', f.executor, EXECUTORS) ?? get.oneOf(root, top, 'executor', EXECUTORS) ?? 'auto',
    concurrency: concurrencyFlag ?? get.int(root, top, 'concurrency', 1) ?? 8,
    stopTasksOnExit: f.stopTasksOnExit ?? get.bool(root, top, 'stop_tasks_on_exit') ?? false,
    resyncMs: resyncFlag ?? get.duration(root, top, 'resync_interval') ?? 30_000,
    debounceMs: 100,
    client: {
      nodeName: f.nodeName ?? get.str(c, client, 'node_name') ?? platform().hostname,
      nodeClass: get.str(c, client, 'node_class') ?? '',
      datacenter: get.str(c, client, 'datacenter') ?? 'dc1',
      meta: get.stringMap(c, client, 'meta') ?? {},
      chrootEnv,
      chrootEnvMap,
      reserved: { cores, memoryMB: get.int(r, reserved, 'memory', 0) ?? 0, cpu: get.int(r, reserved, 'cpu', 0) ?? 0 },
      hostVolumes,
      jobFileDirs,
      env: taskEnv,
      artifact,
      variables,
      template,
      network: clientNetwork(c, client, reserved),
    },
    plugins: {
      rawExec: { enabled: get.bool(rawAt, rx, 'enabled') ?? false, noCgroups: get.bool(rawAt, rx, 'no_cgroups') ?? false },
      exec: {
        enabled: get.bool(execAt, ex, 'enabled') ?? true,
        defaultPidMode: get.oneOf(execAt, ex, 'default_pid_mode', MODES) ?? 'private',
        defaultIpcMode: get.oneOf(execAt, ex, 'default_ipc_mode', MODES) ?? 'private',
        noPivotRoot: get.bool(execAt, ex, 'no_pivot_root') ?? false,
        allowCaps,
        deniedHostUids: get.ranges(execAt, ex, 'denied_host_uids') ?? [],
        deniedHostGids: get.ranges(execAt, ex, 'denied_host_gids') ?? [],
      },
    },
    oci: {
      runtime: get.str(o, oci, 'runtime') ?? 'runc',
      conmon: get.str(o, oci, 'conmon') ?? 'conmon',
      pidsLimit: get.int(o, oci, 'pids_limit', 1) ?? 4096,
      cgroupParent: get.str(o, oci, 'cgroup_parent') ?? defaultCgroupParent(dataDir),
    },
    api: { socket: socket === undefined ? path.join(dataDir, 'tend.sock') : expandPath(socket, fileDir, env) },
  };
  if (src) cfg.configFile = src.file;
  if (address !== undefined) cfg.api.address = address;
  if (token !== undefined) cfg.api.token = token;
  return cfg;
}

/**
 * The default `oci.cgroup_parent`: one per data dir (Nomad: one parent per
 * client), `tend-` and a short hash of the data dir's real path, so two
 * agents with two data dirs never share a parent, and a symlinked path names
 * the same parent as its target.
 */
export function defaultCgroupParent(dataDir: string): string {
  const real = realPathOf(path.resolve(dataDir));
  return `tend-${createHash('sha256').update(real).digest('hex').slice(0, 12)}`;
}

/** realpath of `p`, or of its deepest existing ancestor with the rest appended (a data dir not made yet). */
function realPathOf(p: string): string {
  const rest: string[] = [];
  for (let at = p; ; ) {
    try {
      return path.join(realpathSync(at), ...rest);
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      const up = path.dirname(at);
      if (up === at) return p;
      rest.unshift(path.basename(at));
      at = up;
    }
  }
}

const MAX_PORT = 65535;

/** Port ranges like "22,80,8000-8100", each port 1..65535. */
function portRanges(at: At, o: Raw, k: string): [number, number][] {
  const r = get.ranges(at, o, k) ?? [];
  for (const [lo, hi] of r) if (lo < 1 || hi > MAX_PORT) at.key(k).expected(`ports from 1 to ${MAX_PORT} like "22,80,8000-8100"`, o[k]);
  return r;
}

const CIDR = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)\/\d{1,3}$/;

/** `client { network_interface, min_dynamic_port, max_dynamic_port, reserved { reserved_ports }, host_network "name" { … } }`. */
function clientNetwork(c: At, client: Raw, reserved: Raw): ClientNetworkConfig {
  const min = get.int(c, client, 'min_dynamic_port', 1) ?? 20000;
  const max = get.int(c, client, 'max_dynamic_port', 1) ?? 32000;
  if (min > MAX_PORT) c.key('min_dynamic_port').expected(`a port from 1 to ${MAX_PORT}`, min);
  if (max > MAX_PORT) c.key('max_dynamic_port').expected(`a port from 1 to ${MAX_PORT}`, max);
  if (min > max) c.key('min_dynamic_port').fail(`client.min_dynamic_port: expected at most max_dynamic_port (${max}), got ${min}`);
  const hostNetworks: ClientNetworkConfig['hostNetworks'] = [];
  if (client.host_network !== undefined) {
    for (const [name, body] of labeled(c.key('host_network'), client.host_network)) {
      const at = c.labeled('host_network', name);
      if (name === 'default') at.fail(`${at.name}: "default" is the node's own network (client.network_interface); expected another name`);
      const hn = block(at, body, KEYS.hostNetwork);
      const cidr = get.str(at, hn, 'cidr');
      const iface = get.str(at, hn, 'interface');
      if (cidr !== undefined && !CIDR.test(cidr)) at.key('cidr').expected('a CIDR like "10.0.0.0/8"', cidr);
      if (cidr === undefined && iface === undefined) at.fail(`${at.name}: expected cidr or interface, got neither`);
      hostNetworks.push({ name, ...(cidr !== undefined ? { cidr } : {}), ...(iface !== undefined ? { interface: iface } : {}), reservedPorts: portRanges(at, hn, 'reserved_ports') });
    }
  }
  const iface = get.str(c, client, 'network_interface');
  return {
    ...(iface ? { networkInterface: iface } : {}),
    minDynamicPort: min,
    maxDynamicPort: max,
    reservedPorts: portRanges(c.key('reserved'), reserved, 'reserved_ports'),
    hostNetworks,
  };
}

const VAR_CAPABILITIES: readonly VariableCapability[] = ['read', 'list', 'deny'];
const VAR_PATTERN_RE = /^[a-zA-Z0-9\-_~/*]{1,128}$/;

/**
 * `client { variables { dir, policy "NAME" { job, group, task, path "GLOB" { capabilities } } } }`:
 * the variables dir and Nomad ACL policies attached to workloads (src/vars/acl.ts).
 */
function variablesConfig(at: At, v: unknown, fileDir: string, env: NodeJS.ProcessEnv): VariablesClientConfig {
  if (v === undefined) return { policies: [] };
  const body = block(at, v, KEYS.variables);
  const dir = get.str(at, body, 'dir');
  if (dir === '') at.key('dir').expected('a directory path', dir);
  const policies: VariablePolicy[] = [];
  if (body.policy !== undefined) {
    for (const [name, raw] of labeled(at.key('policy'), body.policy)) {
      const pAt = at.labeled('policy', name);
      const p = block(pAt, raw, KEYS.varPolicy);
      const policy: VariablePolicy = { name, paths: [] };
      for (const k of ['job', 'group', 'task'] as const) {
        const x = get.str(pAt, p, k);
        if (x === undefined) continue;
        if (x === '' || x.includes('/')) pAt.key(k).expected(`a ${k} name (no "/")`, x);
        policy[k] = x;
      }
      // As `nomad acl policy apply`: -group needs -job, -task needs -group.
      if (policy.group !== undefined && policy.job === undefined) pAt.key('group').fail(`${pAt.name}: group needs job`);
      if (policy.task !== undefined && policy.group === undefined) pAt.key('task').fail(`${pAt.name}: task needs group`);
      if (p.path === undefined) pAt.fail(`${pAt.name}: expected at least one path "GLOB" { capabilities = [...] } block`);
      for (const [pattern, pathBody] of labeled(pAt.key('path'), p.path)) {
        const gAt = pAt.labeled('path', pattern);
        if (!VAR_PATTERN_RE.test(pattern)) gAt.fail(`${gAt.name}: expected a variable path or glob (letters, digits, "-", "_", "~", "/", "*"; at most 128), got ${JSON.stringify(pattern)}`);
        const g = block(gAt, pathBody, KEYS.varPath);
        const caps = get.strings(gAt, g, 'capabilities') ?? gAt.fail(`${gAt.name}: capabilities is required`);
        if (!caps.length) gAt.key('capabilities').expected('at least one of "read", "list", "deny"', caps);
        for (const cap of caps) {
          if (cap === 'write' || cap === 'destroy') gAt.key('capabilities').fail(`${gAt.key('capabilities').name}: tasks only read variables (tendctl writes them): expected "read", "list" or "deny", got "${cap}"`);
          if (!(VAR_CAPABILITIES as readonly string[]).includes(cap)) gAt.key('capabilities').expected('"read", "list" or "deny"', cap);
        }
        policy.paths.push({ pattern, capabilities: caps as VariableCapability[] });
      }
      policies.push(policy);
    }
  }
  return { ...(dir !== undefined ? { dir: expandPath(dir, fileDir, env) } : {}), policies };
}

function coresOf(at: At, v: unknown): number[] {
  const ranges = typeof v === 'number' && Number.isInteger(v) && v >= 0 ? [[v, v] as [number, number]] : typeof v === 'string' ? parseRanges(v) : undefined;
  if (!ranges) return at.key('cores').expected('cores like "0-1,4"', v);
  const cores = new Set<number>();
  for (const [lo, hi] of ranges) for (let i = lo; i <= hi; i++) cores.add(i);
  return [...cores].sort((x, y) => x - y);
}
