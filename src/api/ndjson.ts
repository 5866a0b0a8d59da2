/**
 * Newline-delimited JSON, the framing of the API's streams: `/v1/events?follow=1`
 * (one event per line, `{"heartbeat": time}` lines while idle) and exec
 * (`{"stdout": base64}`, `{"stderr": base64}`, then `{"exit": code}` or
 * `{"error": {code, message}}` as the last line).
 */

export type ExecFrame =
  | { stdout: string }
  | { stderr: string }
  | { exit: number }
  | { error: { code: string; message: string } };

export interface HeartbeatFrame {
  heartbeat: string;
}

export function isHeartbeat(v: unknown): v is HeartbeatFrame {
  return typeof v === 'object' && v !== null && 'heartbeat' in v;
}

/** Splits a byte stream into parsed JSON lines (blank lines skipped). */
export async function* ndjsonLines(stream: AsyncIterable<Buffer | string>): AsyncGenerator<unknown> {
  let rest = '';
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    rest += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl).trim();
      rest = rest.slice(nl + 1);
      if (line) yield JSON.parse(line);
    }
  }
  rest += decoder.decode();
  if (rest.trim()) yield JSON.parse(rest);
}
