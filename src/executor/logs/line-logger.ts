/**
 * The log monitor's own logger: the few calls it makes (`child`, `info`,
 * `warn`, `error` with fields and a fixed message), written as the JSON lines
 * pino writes (`{"level":30,"time":…,<bindings>,<fields>,"msg":"…"}`, an
 * Error field as pino's `{type, message, stack, code}`), so logmon.log reads
 * like the agent's log. pino itself is ~7 MiB of RSS, a seventh of the
 * monitor's (bench/README.md, "Log monitor memory"); this is a few hundred
 * bytes.
 */

/** What the monitor and its collectors log through; a pino.Logger is one too. */
export interface MonitorLog {
  child(bindings: Record<string, unknown>): MonitorLog;
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

/** pino's level names and numbers. */
const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

export interface LineLoggerOptions {
  /** trace, debug, info, warn, error, fatal or silent (default info). */
  level?: string;
  /** Where each line goes (default: nowhere). */
  write?: (line: string) => void;
}

export function isLogLevel(level: string): boolean {
  return level in LEVELS;
}

/** pino's err serializer, in short: what an Error says, and its code. */
function plain(v: unknown): unknown {
  if (!(v instanceof Error)) return v;
  const e = v as Error & { code?: unknown };
  return { type: e.constructor?.name ?? 'Error', message: e.message, stack: e.stack, ...(e.code !== undefined ? { code: e.code } : {}) };
}

export function createLineLogger(opts: LineLoggerOptions = {}): MonitorLog {
  const min = LEVELS[opts.level ?? 'info'] ?? LEVELS.info;
  const write = opts.write;
  const make = (bindings: string): MonitorLog => {
    const at = (level: number) => (fields: Record<string, unknown>, msg: string) => {
      if (level < min || !write) return;
      let body = '';
      for (const [k, v] of Object.entries(fields)) {
        if (v === undefined) continue;
        const json = JSON.stringify(plain(v));
        if (json !== undefined) body += `,${JSON.stringify(k)}:${json}`;
      }
      write(`{"level":${level},"time":${Date.now()}${bindings}${body},"msg":${JSON.stringify(msg)}}\n`);
    };
    return {
      child: (b) => make(bindings + Object.entries(b).map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(plain(v))}`).join('')),
      info: at(LEVELS.info),
      warn: at(LEVELS.warn),
      error: at(LEVELS.error),
    };
  };
  return make('');
}
