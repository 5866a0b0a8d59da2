/**
 * The agent's logger: pino, JSON lines by default, pino-pretty when stdout
 * is a terminal. Components take child loggers (`{ component: 'runner' }`)
 * and add `job`, `group`, `index`, `task` per action; messages are fixed.
 */
import { createRequire } from 'node:module';
import pino from 'pino';

export interface LoggerOptions {
  level: string;
  /** Human-readable output (default: when stdout is a TTY). */
  pretty?: boolean;
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions): pino.Logger {
  const usePretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  // No base pid: task pids are logged as `pid` fields.
  // Variable items are secrets: no code logs them, and a field named `items` is censored should one slip in.
  const base = { level: opts.level, base: null, redact: ['token', 'api.token', 'config.api.token', 'items', '*.items', 'variable.items'] };
  if (usePretty) {
    // Loaded only for a terminal: an agent under systemd never holds pino-pretty and its dependencies (~2–5 MiB).
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    return pino(base, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', destination: (opts.destination ?? process.stdout) as NodeJS.WritableStream & { write: (s: string) => boolean } }));
  }
  return pino(base, opts.destination ?? pino.destination({ dest: 1, sync: true }));
}
