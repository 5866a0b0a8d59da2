/**
 * A CLI command: tendctl and tend dispatch to these by name. Each lives in
 * src/cli/commands/<name>.ts and exports a `Command`. Its usage, description,
 * flags and examples are data as well as help text: shell completion
 * (completion.ts) and the man page (man.ts) are generated from them, so they
 * cannot drift from what the command accepts.
 */
import type { Example, FlagSpec } from './flags.js';

/**
 * What a positional argument is, for shell completion: live names from the
 * agent (`task` instance ids, `job` ids, both, `service` names), a `path` or
 * `dir`, or one of fixed `words`.
 */
export type ArgKind = 'task' | 'job' | 'job-or-task' | 'service' | 'path' | 'dir' | { words: string[] };

/** The positional arguments of a command: by position (the last repeats with `repeat`), or subcommands first. */
export interface ArgSpec {
  positional?: ArgKind[];
  repeat?: boolean;
  /** Words that select a subcommand (`job dispatch`, `deployment fail`), each with its own arguments. */
  subcommands?: Record<string, ArgSpec>;
}
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
  /** `tendctl status [options] [JOB | TASK]` (may be several lines). */
  usage?: string;
  description?: string;
  /** Every flag the command parses. */
  flags?: FlagSpec[];
  /** At least one for every tendctl command (test/unit/cli/completion.test.ts checks). */
  examples?: Example[];
  /** Its positional arguments, for completion. */
  args?: ArgSpec;
  /** Returns the process exit code. Throw UsageError for bad flags. */
  run(argv: string[], io: CommandIO): Promise<number>;
  /** The exit code of an error or a usage error (default: 1 and 2). `plan` uses 255, as `nomad job plan`. */
  errorExitCode?: number;
}

export function defaultIO(): CommandIO {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}
