/**
 * The API client tendctl uses. Methods mirror the endpoints of routes.ts.
 *
 * Address: `address` option (tendctl `-address`), else `TEND_ADDR`
 * (`unix:///var/lib/tend/tend.sock`, `http://127.0.0.1:4646`), else the
 * socket of the development default data dir, `./state/tend.sock` relative to
 * the working directory. Token: `token` option (`-token`), else `TEND_TOKEN`.
 *
 * A missing agent or an unreadable socket is a TendError E_AGENT_UNREACHABLE
 * whose message says what to do; API errors are TendErrors with the
 * server's code and message.
 */
import { existsSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type { CasOptions, DeploymentView, DispatchInput, EventQuery, FileView, JobView, NodeView, Plan, PlanDetail, ServiceInstanceView, ServiceSummaryView, TaskEvent, TaskView, Variable, VariableItems, VariableMetadata } from './api.js';
import type { TaskStats, TtySize } from '../executor/executor.js';
import { defaultClientCandidates, parseClientAddress, type ApiAddress, type UnixAddress } from './address.js';
import { EXEC_INPUT_HEADER, isHeartbeat, ndjsonLines, type ExecFrame, type ExecInputFrame } from './ndjson.js';
import type { ErrorBody } from './http.js';
import { TendError, errnoCode, isTendError, type ErrorCode } from '../errors.js';
import { ambiguousMessage, notFoundMessage } from './task-errors.js';

export interface ClientOptions {
  /** `unix:///path/tend.sock`, a socket path, `http://127.0.0.1:PORT` or `127.0.0.1:PORT`. */
  address?: string;
  token?: string;
  /** Where TEND_ADDR / TEND_TOKEN are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Base of relative socket paths (default process.cwd()). */
  cwd?: string;
  /** Sockets tried without an address, in order (default: defaultClientCandidates). */
  candidates?: UnixAddress[];
}

export interface LogsOptions {
  stream?: 'stdout' | 'stderr';
  /** Only the last N lines (default: everything retained). */
  n?: number;
  follow?: boolean;
  signal?: AbortSignal;
  /** Prefix each line with the RFC 3339 time it was read. */
  timestamps?: boolean;
  /** Only lines since: a duration back from now (`10m`) or an RFC 3339 time. */
  since?: string;
  /** A query naming several instances (a job, `job/group`) gives their lines merged, each prefixed `[group[i]/task]`. */
  merge?: boolean;
}

export interface ExecStreams {
  stdout: Readable;
  stderr: Readable;
  /** The command's exit code (128+N after signal N). */
  exit: Promise<number>;
  /** Ends the request: the agent kills the command. */
  kill(): void;
  /** Tell the terminal its new size (with `tty`; a no-op against an agent that reads no input frames). */
  resize(size: TtySize): void;
}

export interface ExecOpts {
  /** The command's stdin (`exec -i`); its end closes the command's stdin. */
  stdin?: NodeJS.ReadableStream;
  /** Run on a terminal of this size (`exec -t`). */
  tty?: TtySize;
  /** TERM inside the terminal (the caller's own). */
  term?: string;
}

export interface TendClient {
  readonly address: ApiAddress;
  node(): Promise<NodeView>;
  jobs(): Promise<JobView[]>;
  files(): Promise<FileView[]>;
  tasks(): Promise<TaskView[]>;
  task(id: string, opts?: { stats?: boolean }): Promise<TaskView>;
  /** Instance ids matching a prefix. */
  resolve(query: string): Promise<string[]>;
  /**
   * The one instance a query names (the id, or the only match of a prefix);
   * E_TASK_NOT_FOUND naming it, or E_TASK_AMBIGUOUS listing the matches.
   */
  resolveOne(query: string): Promise<string>;
  /** For a query that matches nothing: the instance ids (or the corrected query) it was likely meant to be. */
  suggestTasks(query: string): Promise<string[]>;
  events(q?: EventQuery): Promise<TaskEvent[]>;
  /**
   * The backlog after `q.after`, then live events until `signal` aborts or the iteration stops.
   * `onOpen`: called once the agent has answered (it is subscribed: no later event is missed).
   */
  followEvents(q?: EventQuery, opts?: { signal?: AbortSignal; onOpen?: () => void }): AsyncIterable<TaskEvent>;
  logs(id: string, opts?: LogsOptions): AsyncIterable<Buffer>;
  signal(id: string, signal: string): Promise<{ task: string; signal: string }>;
  /** `state`: the task's state when the restart was asked; `killSignal`, `killTimeout` ("8s"): how it is stopped. */
  restart(id: string): Promise<{ task: string; state?: string; killSignal?: string; killTimeout?: string }>;
  /** Launch a child of a periodic job now; E_JOB_NOT_FOUND when no periodic job has that id. */
  forcePeriodic(job: string): Promise<{ job: string; child: string }>;
  /** Dispatch a child of a parameterized job; E_JOB_NOT_FOUND, or E_BAD_REQUEST saying what the job refuses. */
  dispatchJob(job: string, input?: DispatchInput): Promise<{ job: string; child: string }>;
  /** A job's latest deployment; E_JOB_NOT_FOUND when it has none. */
  deployment(job: string): Promise<DeploymentView>;
  /** Fail the job's running deployment (auto_revert reverts); E_BAD_REQUEST when none runs. */
  failDeployment(job: string): Promise<DeploymentView>;
  /** Mark the deployment's allocations healthy (health_check = "manual"). */
  promoteDeployment(job: string): Promise<DeploymentView & { promoted: number }>;
  exec(id: string, command: string[], opts?: ExecOpts): Promise<ExecStreams>;
  /** Relist the jobs dir now; resolves once the agent has the set (E_TASK_NOT_FOUND from an agent without the endpoint). */
  resync(): Promise<{ generation: number; files: number }>;
  /** Plan for the files in `dir` (relative paths are resolved against `cwd` here), default: the agent's jobs dir. */
  plan(dir?: string, detail?: PlanDetail): Promise<Plan>;
  stats(): Promise<Record<string, TaskStats>>;
  /** The local service catalog, one line per service name (`nomad service list`). */
  services(): Promise<ServiceSummaryView[]>;
  /** The instances of one service with their checks (`nomad service info`); E_SERVICE_NOT_FOUND. */
  service(name: string): Promise<ServiceInstanceView[]>;
  /** Prometheus text of /metrics. */
  metrics(): Promise<string>;
  /** A Nomad variable with its items; E_VAR_NOT_FOUND. */
  varGet(path: string): Promise<Variable>;
  /** Metadata of the variables under `prefix`, sorted by path. */
  varList(prefix?: string): Promise<VariableMetadata[]>;
  /** Create or replace a variable (check-and-set with `cas`); the variable as written. */
  varPut(path: string, items: VariableItems, opts?: CasOptions): Promise<Variable>;
  varPurge(path: string, opts?: CasOptions): Promise<{ path: string }>;
  /** Lets go of kept-alive connections. */
  close(): void;
}

/**
 * Address and token as tendctl resolves them: options, then environment, then the first default
 * socket that exists (`./state/tend.sock`, the one /etc/tend/agent.hcl names, then the deployed
 * agent's `/var/lib/tend/tend.sock`: defaultClientCandidates).
 * `tried`: the default sockets, when none was given.
 */
export function clientTarget(opts: ClientOptions = {}): { address: ApiAddress; token?: string; tried?: UnixAddress[] } {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const raw = opts.address || env.TEND_ADDR;
  const token = opts.token || env.TEND_TOKEN || undefined;
  if (raw) return { address: parseClientAddress(raw, cwd), token };
  const tried = opts.candidates ?? defaultClientCandidates(cwd);
  const address = tried.find((a) => existsSync(a.path)) ?? tried[0];
  return { address, token, tried };
}

/** The E_AGENT_UNREACHABLE error for a failed connection, saying what to do (and which default sockets were tried). */
export function unreachable(address: ApiAddress, err: unknown, lost = false, tried?: UnixAddress[]): TendError {
  const code = errnoCode(err);
  const unix = address.kind === 'unix';
  const hint = '(is the agent running? set -address or TEND_ADDR)';
  let reason: string;
  switch (code) {
    case 'ENOENT':
      if (unix && !lost && tried && tried.length > 1) {
        return new TendError('E_AGENT_UNREACHABLE', `cannot reach the tend agent: no socket at ${tried.map((a) => a.url).join(' nor ')} ${hint}`, {
          details: { address: address.url, tried: tried.map((a) => a.url), errno: code },
        });
      }
      reason = `${unix ? 'no such socket' : 'not found'} ${hint}`;
      break;
    case 'ECONNREFUSED':
      reason = `${unix ? 'nothing listens on the socket (stale socket file)' : 'connection refused'} ${hint}`;
      break;
    case 'EACCES':
    case 'EPERM':
      if (unix) {
        return new TendError('E_AGENT_UNREACHABLE', `cannot reach the tend agent: permission denied on ${address.path}: run as the agent's user or root`, {
          details: { address: address.url, errno: code },
        });
      }
      reason = 'permission denied';
      break;
    case 'ENOTSOCK':
      reason = 'not a socket';
      break;
    case 'ECONNRESET':
    case 'EPIPE':
      reason = 'the agent closed the connection';
      break;
    default:
      reason = `${err instanceof Error ? err.message : String(err)} ${hint}`;
  }
  const verb = lost ? 'lost the connection to' : 'cannot reach';
  // No `cause`: the reason already says it, and tendctl prints causes after the message.
  return new TendError('E_AGENT_UNREACHABLE', `${verb} the tend agent at ${address.url}: ${reason}`, { details: { address: address.url, errno: code } });
}

const KNOWN_CODES = new Set<string>([
  'E_SPEC_INVALID', 'E_CONFIG_INVALID', 'E_TASK_NOT_FOUND', 'E_JOB_NOT_FOUND', 'E_TASK_AMBIGUOUS', 'E_TASK_NOT_RUNNING', 'E_DRIVER_UNAVAILABLE', 'E_CAPABILITY_DENIED',
  'E_USER_DENIED', 'E_LAUNCH_FAILED', 'E_EXECUTOR', 'E_CGROUP', 'E_STORE', 'E_DATA_DIR_LOCKED', 'E_AGENT_UNREACHABLE', 'E_UNAUTHORIZED', 'E_BAD_REQUEST', 'E_INTERNAL',
  'E_ARTIFACT', 'E_TEMPLATE', 'E_NOT_READY', 'E_VAR_NOT_FOUND', 'E_VAR_INVALID', 'E_VAR_CONFLICT', 'E_VAR_READ_ONLY', 'E_PERMISSION_DENIED',
  'E_SERVICE_NOT_FOUND',
]);

/** The TendError an error body (or a non-JSON error reply) stands for. */
export function apiError(status: number, text: string): TendError {
  try {
    const body = JSON.parse(text) as ErrorBody;
    if (body?.error?.message) {
      const code = (KNOWN_CODES.has(body.error.code) ? body.error.code : 'E_INTERNAL') as ErrorCode;
      return new TendError(code, body.error.message, { details: { ...(body.error.details ?? {}), status } });
    }
  } catch {
    // not JSON: fall through
  }
  const code: ErrorCode = status === 401 ? 'E_UNAUTHORIZED' : status === 404 ? 'E_TASK_NOT_FOUND' : status < 500 ? 'E_BAD_REQUEST' : 'E_INTERNAL';
  return new TendError(code, `agent replied ${status}: ${text.trim().slice(0, 200) || http.STATUS_CODES[status]}`, { details: { status } });
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const enc = encodeURIComponent;

function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== false && v !== '') q.set(k, v === true ? '1' : String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

function eventParams(q: EventQuery = {}) {
  return { after: q.after, task: q.task, job: q.job, limit: q.limit };
}

export function createClient(opts: ClientOptions = {}): TendClient {
  const { address, token, tried } = clientTarget(opts);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

  /** Sends a request; resolves with the response once its headers arrive, E_AGENT_UNREACHABLE when the agent cannot be reached. */
  const open = (
    method: string,
    path: string,
    o: { body?: string; stream?: boolean; signal?: AbortSignal; prepare?: (req: http.ClientRequest) => void } = {},
  ): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { accept: 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      if (o.body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(o.body);
      }
      const base = address.kind === 'unix' ? { socketPath: address.path } : { host: address.host, port: address.port };
      // Long-lived streams get their own connection; short calls share kept-alive ones.
      const req = http.request({ ...base, method, path, headers, agent: o.stream ? false : agent, signal: o.signal });
      req.once('error', (err) => reject(isAbort(err) ? err : unreachable(address, err, false, tried)));
      req.once('response', resolve);
      if (o.prepare) o.prepare(req);
      else req.end(o.body);
    });

  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await open(method, path, { body: body === undefined ? undefined : JSON.stringify(body) });
    let text: string;
    try {
      text = await readAll(res);
    } catch (err) {
      throw unreachable(address, err, true);
    }
    if ((res.statusCode ?? 500) >= 400) throw apiError(res.statusCode ?? 500, text);
    return JSON.parse(text) as T;
  };

  /** Opens a stream and checks its status; errors are read and thrown. */
  const openStream = async (path: string, signal?: AbortSignal): Promise<IncomingMessage> => {
    const res = await open('GET', path, { stream: true, signal });
    if ((res.statusCode ?? 500) >= 400) throw apiError(res.statusCode ?? 500, await readAll(res));
    return res;
  };

  async function* lines(res: IncomingMessage): AsyncGenerator<unknown> {
    try {
      yield* ndjsonLines(res);
    } catch (err) {
      if (isAbort(err) || isTendError(err)) throw err;
      if (err instanceof SyntaxError) throw new TendError('E_INTERNAL', `failed to read the agent's stream: ${err.message}`, { cause: err });
      throw unreachable(address, err, true);
    } finally {
      res.destroy();
    }
  }

  const client: TendClient = {
    address,
    node: () => call('GET', '/v1/node'),
    jobs: () => call('GET', '/v1/jobs'),
    files: () => call('GET', '/v1/files'),
    tasks: () => call('GET', '/v1/tasks'),
    services: () => call('GET', '/v1/services'),
    service: (name) => call('GET', `/v1/service/${enc(name)}`),
    task: (id, o = {}) => call('GET', `/v1/task/${enc(id)}${query({ stats: o.stats })}`),
    resolve: async (q) => (await call<{ matches: string[] }>('GET', `/v1/resolve${query({ q })}`)).matches,
    suggestTasks: async (q) => (await call<{ suggestions?: string[] }>('GET', `/v1/resolve${query({ q })}`)).suggestions ?? [],
    async resolveOne(q) {
      const { matches, suggestions = [] } = await call<{ matches: string[]; suggestions?: string[] }>('GET', `/v1/resolve${query({ q })}`);
      if (matches.includes(q)) return q;
      if (matches.length === 1) return matches[0];
      if (matches.length === 0) throw new TendError('E_TASK_NOT_FOUND', notFoundMessage(q, suggestions), { details: { task: q, suggestions } });
      throw new TendError('E_TASK_AMBIGUOUS', ambiguousMessage(q, matches), {
        details: { task: q, matches },
      });
    },
    events: (q) => call('GET', `/v1/events${query(eventParams(q))}`),
    async *followEvents(q, o = {}) {
      const res = await openStream(`/v1/events${query({ ...eventParams(q), follow: true })}`, o.signal);
      o.onOpen?.();
      try {
        for await (const v of lines(res)) if (!isHeartbeat(v)) yield v as TaskEvent;
      } catch (err) {
        if (!isAbort(err)) throw err;
      }
    },
    async *logs(id, o = {}) {
      const res = await openStream(`/v1/logs/${enc(id)}${query({ stream: o.stream ?? 'stdout', n: o.n, follow: o.follow, timestamps: o.timestamps, since: o.since, merge: o.merge })}`, o.signal);
      try {
        for await (const chunk of res) yield chunk as Buffer;
      } catch (err) {
        if (isAbort(err)) return;
        throw unreachable(address, err, true);
      } finally {
        res.destroy();
      }
    },
    signal: (id, signal) => call('POST', `/v1/task/${enc(id)}/signal`, { signal }),
    restart: (id) => call('POST', `/v1/task/${enc(id)}/restart`, {}),
    forcePeriodic: (job) => call('POST', `/v1/job/${enc(job)}/periodic/force`, {}),
    dispatchJob: (job, input = {}) => call('POST', `/v1/job/${enc(job)}/dispatch`, input),
    deployment: (job) => call('GET', `/v1/job/${enc(job)}/deployment`),
    failDeployment: (job) => call('POST', `/v1/job/${enc(job)}/deployment/fail`, {}),
    promoteDeployment: (job) => call('POST', `/v1/job/${enc(job)}/deployment/promote`, {}),
    async exec(id, command, o = {}) {
      const params = new URLSearchParams();
      for (const c of command) params.append('cmd', c);
      if (o.stdin) params.set('stdin', '1');
      if (o.tty) {
        params.set('tty', '1');
        params.set('rows', String(o.tty.rows));
        params.set('cols', String(o.tty.cols));
        if (o.term) params.set('term', o.term);
        // Input as frames, so that resizes can travel with the keys.
        params.set('input', 'frames');
      }
      let request!: http.ClientRequest;
      const res = await open('POST', `/v1/task/${enc(id)}/exec?${params}`, {
        stream: true,
        prepare(req) {
          request = req;
          req.setHeader('content-type', o.tty ? 'application/x-ndjson' : 'application/octet-stream');
          req.setHeader('transfer-encoding', 'chunked');
          if (o.stdin || o.tty) req.flushHeaders();
          else req.end();
        },
      });
      if ((res.statusCode ?? 500) >= 400) {
        request.destroy();
        throw apiError(res.statusCode ?? 500, await readAll(res));
      }
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const stdin = o.stdin;
      request.on('error', () => {}); // the agent ended the exchange first: input is not needed any more
      const framed = o.tty !== undefined && res.headers[EXEC_INPUT_HEADER] === 'frames';
      const send = (f: ExecInputFrame) => (request.writableEnded || request.destroyed ? true : request.write(JSON.stringify(f) + '\n'));
      const onData = (chunk: Buffer | string) => {
        if (!send({ stdin: Buffer.from(chunk).toString('base64') })) {
          stdin!.pause();
          request.once('drain', () => stdin!.resume());
        }
      };
      const onEnd = () => send({ eof: true });
      if (framed) {
        if (stdin) {
          stdin.on('data', onData);
          stdin.once('end', onEnd);
        }
      } else if (stdin) stdin.pipe(request);
      else if (!request.writableEnded) request.end(); // an agent without input frames: nothing more to send
      const stopStdin = () => {
        if (stdin) {
          if (framed) {
            stdin.off('data', onData);
            stdin.off('end', onEnd);
          } else stdin.unpipe(request);
        }
        if (!request.writableEnded) request.end();
      };
      const exit = (async () => {
        try {
          for await (const v of lines(res)) {
            const f = v as ExecFrame;
            if ('stdout' in f) {
              if (!stdout.write(Buffer.from(f.stdout, 'base64'))) await new Promise((r) => stdout.once('drain', r));
            } else if ('stderr' in f) {
              if (!stderr.write(Buffer.from(f.stderr, 'base64'))) await new Promise((r) => stderr.once('drain', r));
            } else if ('exit' in f) return f.exit;
            else if ('error' in f) throw apiError(500, JSON.stringify(f));
          }
          throw unreachable(address, Object.assign(new Error('stream ended without an exit code'), { code: 'ECONNRESET' }), true);
        } finally {
          stopStdin();
          stdout.end();
          stderr.end();
        }
      })();
      exit.catch(() => {});
      return {
        stdout,
        stderr,
        exit,
        kill: () => request.destroy(),
        resize: (size) => {
          if (framed) send({ resize: { rows: size.rows, cols: size.cols } });
        },
      };
    },
    resync: () => call('POST', '/v1/resync', {}),
    // The agent resolves paths from its own working directory: send an absolute one.
    plan: (dir, detail) => call('GET', `/v1/plan${query({ dir: dir === undefined ? undefined : path.resolve(opts.cwd ?? process.cwd(), dir), verbose: detail?.verbose })}`),
    stats: () => call('GET', '/v1/stats'),
    async metrics() {
      const res = await open('GET', '/metrics');
      const text = await readAll(res);
      if ((res.statusCode ?? 500) >= 400) throw apiError(res.statusCode ?? 500, text);
      return text;
    },
    varGet: (p) => call('GET', `/v1/var/${enc(p)}`),
    varList: (prefix) => call('GET', `/v1/vars${query({ prefix })}`),
    varPut: (p, items, o = {}) => call('PUT', `/v1/var/${enc(p)}${query({ cas: o.cas })}`, { items }),
    varPurge: (p, o = {}) => call('DELETE', `/v1/var/${enc(p)}${query({ cas: o.cas })}`),
    close: () => agent.destroy(),
  };
  return client;
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || errnoCode(err) === 'ABORT_ERR');
}
