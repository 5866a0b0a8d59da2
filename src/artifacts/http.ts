/**
 * HTTP(S) downloads with Node's fetch: the whole download within
 * `http_read_timeout`, at most `http_max_size` bytes (checked against
 * Content-Length up front and counted while reading), `Accept-Encoding:
 * identity` (the bytes checksummed are the bytes served), redirects followed
 * (fetch's limit of 20). The body goes to a file in an agent-only dir.
 */
import { createHash } from 'node:crypto';
import { constants as C } from 'node:fs';
import fs from 'node:fs/promises';
import { ArtifactError } from './artifacts.js';
import type { ChecksumType } from './source.js';

export interface DownloadOptions {
  headers: Record<string, string>;
  timeoutMs: number;
  maxBytes: number;
  signal: AbortSignal;
  /** Also hash the body with this algorithm. */
  hash?: ChecksumType;
  /** Validators of a cached copy: a 304 answers `notModified`. */
  ifNoneMatch?: string;
  ifModifiedSince?: string;
}

export type DownloadResult =
  | { notModified: true }
  | { notModified: false; bytes: number; digest?: string; etag?: string; lastModified?: string };

/** Download `url` into `file` (created O_EXCL in an agent-only dir). */
export async function download(url: string, file: string, o: DownloadOptions): Promise<DownloadResult> {
  const timeout = AbortSignal.timeout(o.timeoutMs);
  const signal = AbortSignal.any([o.signal, timeout]);
  const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'tend-artifact', ...o.headers };
  if (o.ifNoneMatch) headers['if-none-match'] = o.ifNoneMatch;
  if (o.ifModifiedSince) headers['if-modified-since'] = o.ifModifiedSince;
  const where = redact(url);
  let res: Response;
  try {
    res = await fetch(url, { headers, signal, redirect: 'follow' });
  } catch (err) {
    throw failure(`failed to download ${where}`, err, timeout, o);
  }
  if (res.status === 304 && (o.ifNoneMatch || o.ifModifiedSince)) {
    await res.body?.cancel().catch(() => undefined);
    return { notModified: true };
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new ArtifactError(`failed to download ${where}: bad response code: ${res.status}`, { recoverable: true, details: { status: res.status } });
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > o.maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw tooBig(where, o.maxBytes);
  }
  const h = o.hash ? createHash(o.hash) : undefined;
  const fh = await fs.open(file, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
  let bytes = 0;
  try {
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        bytes += chunk.byteLength;
        if (bytes > o.maxBytes) throw tooBig(where, o.maxBytes);
        h?.update(chunk);
        await fh.write(chunk);
      }
    }
  } catch (err) {
    if (err instanceof ArtifactError) throw err;
    throw failure(`failed to download ${where}`, err, timeout, o);
  } finally {
    await fh.close();
  }
  return {
    notModified: false,
    bytes,
    ...(h ? { digest: h.digest('hex') } : {}),
    ...(res.headers.get('etag') ? { etag: res.headers.get('etag')! } : {}),
    ...(res.headers.get('last-modified') ? { lastModified: res.headers.get('last-modified')! } : {}),
  };
}

/** Read a small text resource (a sums file) into memory, with the same limits (capped at 1 MiB). */
export async function downloadText(url: string, file: string, o: DownloadOptions): Promise<string> {
  await download(url, file, { ...o, maxBytes: Math.min(o.maxBytes, 1 << 20) });
  try {
    return await fs.readFile(file, 'utf8');
  } finally {
    await fs.rm(file, { force: true });
  }
}

/** A URL for messages: user info and query values are dropped (they may carry tokens). */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    for (const k of [...u.searchParams.keys()]) u.searchParams.set(k, 'redacted');
    return u.toString().replace(/=redacted/g, '=…');
  } catch {
    return url;
  }
}

function tooBig(where: string, max: number): ArtifactError {
  return new ArtifactError(`failed to download ${where}: larger than http_max_size (${max} bytes)`, { recoverable: true, details: { limit: 'http_max_size' } });
}

function failure(msg: string, err: unknown, timeout: AbortSignal, o: DownloadOptions): ArtifactError {
  if (o.signal.aborted) return new ArtifactError(`${msg}: canceled`, { recoverable: true, cause: err });
  if (timeout.aborted) return new ArtifactError(`${msg}: did not finish within http_read_timeout (${o.timeoutMs} ms)`, { recoverable: true, cause: err });
  const cause = (err as { cause?: { message?: string } })?.cause?.message;
  return new ArtifactError(`${msg}: ${cause ?? (err as Error)?.message ?? String(err)}`, { recoverable: true, cause: err });
}
