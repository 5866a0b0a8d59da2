/**
 * The page's side of the agent's API: the same `/v1/` endpoints tendctl
 * uses, with the token as `Authorization: Bearer` (none is needed on the
 * unix socket behind `tendctl ui`'s proxy, which checks its own). The token
 * comes from the URL's fragment (`#token=…`, never sent to a server) or the
 * token form, and stays in this tab's sessionStorage.
 */
const TOKEN_KEY = 'tend.token';

let token = sessionStorage.getItem(TOKEN_KEY) ?? '';

/** Takes `#token=…` off the address bar (and out of history) into sessionStorage. */
export function takeTokenFromFragment(): void {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (!m) return;
  setToken(decodeURIComponent(m[1]));
  const rest = location.hash.slice(1).split('&').filter((p) => !p.startsWith('token=')).join('&');
  history.replaceState(null, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
}

export function setToken(t: string): void {
  token = t.trim();
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export function hasToken(): boolean {
  return token !== '';
}

/** The agent answered 401: no token, or not its token. */
export class Unauthorized extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Unauthorized';
  }
}

/** An error the agent explained (`{ error: { code, message } }`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function headers(): HeadersInit {
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function failure(res: Response, path: string): Promise<Error> {
  let code = 'E_HTTP';
  let message = `GET ${path}: ${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.message) message = body.error.message;
    if (body.error?.code) code = body.error.code;
  } catch {
    /* not JSON: the status line says it */
  }
  if (res.status === 401) return new Unauthorized(message);
  return new ApiError(res.status, code, message);
}

async function request(path: string, signal?: AbortSignal): Promise<Response> {
  const res = await fetch(path, { headers: headers(), cache: 'no-store', credentials: 'omit', signal });
  if (!res.ok) throw await failure(res, path);
  return res;
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  return (await (await request(path, signal)).json()) as T;
}

/**
 * A streaming response (`/v1/events?follow=1`, `/v1/logs/…?follow=1`) as text chunks, until the
 * agent ends it or `signal` aborts. `onOpen` runs once the agent answered.
 */
export async function* streamText(path: string, signal: AbortSignal, onOpen?: () => void): AsyncGenerator<string> {
  const res = await request(path, signal);
  onOpen?.();
  if (!res.body) return;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** Whole lines of a streaming response (the last, unfinished one waits for its newline). */
export async function* streamLines(path: string, signal: AbortSignal, onOpen?: () => void): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of streamText(path, signal, onOpen)) {
    rest += chunk;
    const lines = rest.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) yield line;
  }
  if (rest) yield rest;
}

/** `/v1/task/<id>`: the id as one URL segment. */
export function taskPath(prefix: string, id: string): string {
  return `${prefix}/${encodeURIComponent(id)}`;
}
