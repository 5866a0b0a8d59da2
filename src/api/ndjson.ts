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

/**
 * What a client sends in the body of an exec with `input=frames`: stdin bytes, the end of stdin,
 * and the terminal's new size. An agent that reads frames answers with the header
 * `tend-exec-input: frames`; an older one does not, and the client sends raw stdin instead.
 */
export type ExecInputFrame =
  | { stdin: string }
  | { eof: true }
  | { resize: { rows: number; cols: number } };

/** The response header by which an agent says it reads exec input frames. */
export const EXEC_INPUT_HEADER = 'tend-exec-input';

export interface HeartbeatFrame {
  heartbeat: string;
}

export function isHeartbeat(v: unknown): v is HeartbeatFrame {
  return typeof v === 'object' && v !== null && 'heartbeat' in v;
}

/** Splits a byte stream into parsed JSON lines (blank lines skipped); a line longer than `maxLine` characters is an error. */
export async function* ndjsonLines(stream: AsyncIterable<Buffer | string>, maxLine = Infinity): AsyncGenerator<unknown> {
  let rest = '';
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    rest += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    if (rest.length > maxLine && rest.lastIndexOf('\n', maxLine) < 0) throw new RangeError(`expected lines of at most ${maxLine} characters, got a longer one`);
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
