/**
 * Small HTTP helpers of the API server: JSON replies, the error body
 * `{ "error": { "code", "message" } }` with the status its code implies, and
 * JSON request bodies bounded in size and time.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TendError, describeError, isTendError, type ErrorCode } from '../errors.js';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  E_TASK_NOT_FOUND: 404,
  E_JOB_NOT_FOUND: 404,
  E_TASK_AMBIGUOUS: 409,
  E_TASK_NOT_RUNNING: 409,
  E_BAD_REQUEST: 400,
  E_SPEC_INVALID: 400,
  E_CONFIG_INVALID: 400,
  E_UNAUTHORIZED: 401,
  E_CAPABILITY_DENIED: 403,
  E_USER_DENIED: 403,
  E_DRIVER_UNAVAILABLE: 409,
  E_AGENT_UNREACHABLE: 502,
  E_VAR_NOT_FOUND: 404,
  E_VAR_INVALID: 400,
  E_VAR_CONFLICT: 409,
  E_VAR_READ_ONLY: 409,
  E_PERMISSION_DENIED: 403,
  E_SERVICE_NOT_FOUND: 404,
};

export function httpStatusOf(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

/** A TendError answered with a specific status (404 unknown endpoint, 405 wrong method). */
export function httpError(code: ErrorCode, status: number, message: string): TendError {
  return Object.assign(new TendError(code, message), { httpStatus: status });
}

function statusOf(err: TendError): number {
  const s = (err as { httpStatus?: unknown }).httpStatus;
  return typeof s === 'number' ? s : httpStatusOf(err.code);
}

/** The error body for any thrown value; unknown errors become E_INTERNAL with their message, never a stack. */
export function errorBody(err: unknown): { status: number; body: ErrorBody } {
  if (isTendError(err)) {
    const details = Object.keys(err.details).length ? err.details : undefined;
    return { status: statusOf(err), body: { error: { code: err.code, message: describeError(err), details } } };
  }
  return { status: 500, body: { error: { code: 'E_INTERNAL', message: describeError(err) } } };
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** Replies with the error, or, when a stream already started, ends it with an error line. */
export function sendError(res: ServerResponse, err: unknown): void {
  const { status, body } = errorBody(err);
  if (res.headersSent) {
    if (!res.writableEnded && !res.destroyed) res.end(JSON.stringify(body) + '\n');
    return;
  }
  sendJson(res, status, body);
}

export function badRequest(message: string): TendError {
  return new TendError('E_BAD_REQUEST', message);
}

export interface ReadBodyOptions {
  /** At most this many bytes (default 64 KiB), else 400. */
  limit?: number;
  /** The whole body within this many ms (default: no deadline), else 408. */
  timeoutMs?: number;
}

/** The 408 of a body that did not arrive in time; the server counts it as a body timeout. */
export function isBodyTimeout(err: unknown): boolean {
  return isTendError(err, 'E_BAD_REQUEST') && statusOf(err) === 408;
}

/** Collects a request body of at most `limit` bytes within `timeoutMs`. On failure the request is left paused, unread. */
function readBody(req: IncomingMessage, limit: number, timeoutMs: number | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => fail(httpError('E_BAD_REQUEST', 408, `failed to read request body: not complete within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) fail(badRequest(`request body too large: expected at most ${limit} bytes`));
      else chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onClose = () => fail(badRequest('failed to read request body: the client closed the connection'));
    const onError = (err: Error) => fail(badRequest(`failed to read request body: ${err.message}`));
    function cleanup() {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onError);
    }
    function fail(err: TendError) {
      cleanup();
      req.pause();
      reject(err);
    }
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
    req.once('error', onError);
  });
}

/** Reads a JSON object body ({} when empty); see ReadBodyOptions for the bounds. */
export async function readJsonBody(req: IncomingMessage, opts: ReadBodyOptions = {}): Promise<Record<string, unknown>> {
  const text = (await readBody(req, opts.limit ?? 64 * 1024, opts.timeoutMs)).toString('utf8').trim();
  if (!text) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest(`failed to parse request body: expected JSON, got ${JSON.stringify(text.slice(0, 40))}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest('failed to parse request body: expected a JSON object');
  return value as Record<string, unknown>;
}

/** Headers of the newline-delimited JSON streams (events, exec). */
export const NDJSON_HEADERS = {
  'content-type': 'application/x-ndjson; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

/** A query flag: `?follow=1`, `?follow=true`, `?follow` → true. */
export function queryFlag(url: URL, name: string): boolean {
  const v = url.searchParams.get(name);
  return v !== null && !['0', 'false', 'no'].includes(v.toLowerCase());
}

/** A non-negative integer query parameter, or undefined; 400 on anything else. */
export function queryInt(url: URL, name: string): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw badRequest(`invalid ${name}: expected a non-negative integer, got "${v}"`);
  return Number(v);
}
