/**
 * Limits that keep slow or hostile clients from starving the API: how long a
 * client may take to send its request headers, how long a kept-alive
 * connection may sit idle, how long a JSON body may take, and how many
 * connections each listener (the unix socket, the TCP address) holds at once.
 *
 * Streams (`events -f`, `logs -f`, `exec`) have no time limit: the header
 * deadline is over once their headers are in, the idle deadline only runs
 * between requests, and exec's request body (the command's stdin) has no
 * deadline. So Node's `requestTimeout`, which would bound exec's stdin, stays 0.
 */
import { TendError } from '../errors.js';

export interface ApiLimits {
  /**
   * From connect, or from the first byte of a further request on a kept-alive
   * connection, to the end of the request headers (default 10 000 ms). Past
   * it the client gets 408 and the connection is closed.
   */
  headersTimeoutMs: number;
  /** A kept-alive connection with no request in flight is closed after this (default 30 000 ms). */
  idleTimeoutMs: number;
  /**
   * The JSON body of signal and restart must be in this long after the headers
   * (default 10 000 ms), else 408 and close. exec's streamed stdin has no deadline.
   */
  bodyTimeoutMs: number;
  /** Open connections per listener; beyond it a new connection is closed as soon as it is accepted (default 256). */
  maxConnections: number;
  /**
   * Bytes of a variable's PUT body (default 1 MiB): 64 KiB of items, JSON-escaped
   * up to six times (`\u0000`), plus room. The items themselves are then held to 64 KiB.
   */
  maxVarBodyBytes: number;
  /**
   * How often header deadlines are checked (default 1000 ms): a client that
   * sends no headers is cut between headersTimeoutMs and headersTimeoutMs + this.
   */
  checkIntervalMs: number;
  /** Refused connections and timeouts are logged at most once per this (default 10 000 ms), with the count since the last line. */
  logIntervalMs: number;
}

export const DEFAULT_API_LIMITS: Readonly<ApiLimits> = Object.freeze({
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  bodyTimeoutMs: 10_000,
  maxConnections: 256,
  maxVarBodyBytes: 1024 * 1024,
  checkIntervalMs: 1_000,
  logIntervalMs: 10_000,
});

/** The defaults with `over` applied; each value must be a positive integer, and the check interval no longer than the header timeout. */
export function apiLimits(over: Partial<ApiLimits> = {}): ApiLimits {
  const limits: ApiLimits = { ...DEFAULT_API_LIMITS };
  for (const key of Object.keys(DEFAULT_API_LIMITS) as (keyof ApiLimits)[]) {
    const v = over[key];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v <= 0) {
      throw new TendError('E_CONFIG_INVALID', `invalid api limit ${key}: expected a positive integer, got ${JSON.stringify(v)}`);
    }
    limits[key] = v;
  }
  if (limits.checkIntervalMs > limits.headersTimeoutMs) {
    throw new TendError(
      'E_CONFIG_INVALID',
      `invalid api limit checkIntervalMs: expected at most headersTimeoutMs (${limits.headersTimeoutMs}), got ${limits.checkIntervalMs}`,
    );
  }
  return limits;
}

/**
 * Counts events and says when to report them: the first at once, then at
 * most one report per `intervalMs`, carrying how many happened since the
 * last report. Events after the last report wait for the next event past
 * the interval (the metrics have the exact totals).
 */
export class ThrottledCount {
  readonly #intervalMs: number;
  readonly #now: () => number;
  #lastReport = -Infinity;
  #pending = 0;

  constructor(intervalMs: number, now: () => number = () => performance.now()) {
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /** Counts one event; returns how many to report now (this one included), or 0 while throttled. */
  hit(): number {
    this.#pending++;
    const t = this.#now();
    if (t - this.#lastReport < this.#intervalMs) return 0;
    this.#lastReport = t;
    const n = this.#pending;
    this.#pending = 0;
    return n;
  }
}
