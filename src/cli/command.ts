/**
 * A CLI command: tendctl and tend dispatch to these by name. Each lives in
 * src/cli/commands/<name>.ts and exports a `Command`.
 */
export interface CommandIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full help text (shown by `-help`). */
  help(): string;
  /** Returns the process exit code. Throw UsageError for bad flags. */
  run(argv: string[], io: CommandIO): Promise<number>;
  /** The exit code of an error or a usage error (default: 1 and 2). `plan` uses 255, as `nomad job plan`. */
  errorExitCode?: number;
}

export function defaultIO(): CommandIO {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}
