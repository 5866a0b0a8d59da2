/** `tendctl logs [-f] [-stderr] [-tail N] [-timestamps] [-since D] TASK | JOB | JOB/GROUP`: output of a task, or of every instance merged. */
import type { Command, CommandIO } from '../command.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type Example, type FlagSpec } from '../flags.js';
import { clientFromFlags, connectionFlags } from '../../api/client-flags.js';
import { writeOut } from '../format/output.js';
import { parseSince, SINCE_EXPECTED } from '../../api/since.js';

const flags: FlagSpec[] = [
  { names: ['f', 'follow'], kind: 'bool', help: 'Keep printing new output, across log rotation, until interrupted.' },
  { names: ['stderr'], kind: 'bool', help: 'Show stderr instead of stdout.' },
  { names: ['tail', 'n'], kind: 'number', value: 'N', help: 'Only the last N lines (of each instance).' },
  { names: ['timestamps', 't'], kind: 'bool', help: 'Prefix each line with the RFC 3339 time it was read (`-` for lines written before tend kept times).' },
  { names: ['since'], kind: 'string', value: 'D', help: 'Only lines read since: a duration back from now (10m, 1h30m) or an RFC 3339 time (2026-11-30T12:00:00Z).' },
  ...connectionFlags,
  helpFlag,
];

const usage = 'tendctl logs [options] TASK | JOB | JOB/GROUP[INDEX]';
const description = `
Prints a task's stdout (or stderr with -stderr), oldest first, across the
rotated files in its alloc/logs dir. TASK is an instance id (web/server[0]/server)
or an unambiguous prefix of one (web/server), or the first characters of its
alloc id.

A JOB or JOB/GROUP (or any prefix) that names several instances prints all of
them, each line prefixed with its instance ([frontend[1]/server]): what exists
in time order, then with -f each line as it comes. -tail counts per instance.

Times: the log monitor records when it read each line (for oci tasks, the time
conmon stamped on it), beside the log files, which stay as the task wrote them.
A line without a newline is printed with one: at the end, or while following
after half a second.`;

const examples: Example[] = [
  { command: "tendctl logs -f web", what: "follow the output of job web's only task" },
  { command: "tendctl logs -stderr -tail 50 'web/server[1]/app'", what: "the last 50 lines of one instance's stderr" },
  { command: 'tendctl logs -timestamps -since 10m web/frontend', what: "every instance of group frontend, prefixed [frontend[i]/task], with each line's time" },
  { command: 'tendctl logs -since 2026-11-30T12:00:00Z -f api', what: 'what job api printed since noon, then follow it' },
];

export const logsCommand: Command = {
  name: 'logs',
  summary: "Print or follow a task's output",
  help: () => formatHelp(usage, description, flags, examples),
  usage,
  description,
  flags,
  examples,
  args: { positional: ['task'] },
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { flags: f, args } = parseFlags(argv, flags);
    if (args.length !== 1) throw new UsageError(`expected one TASK or JOB, got ${args.length} arguments`);
    const n = f.tail as number | undefined;
    if (n !== undefined && (!Number.isInteger(n) || n < 0)) throw new UsageError(`flag -tail: expected a non-negative integer, got ${n}`);
    const since = typeof f.since === 'string' ? f.since : undefined;
    if (since !== undefined && parseSince(since, Date.now()) === undefined) throw new UsageError(`flag -since: expected ${SINCE_EXPECTED}, got "${since}"`);
    const client = clientFromFlags(f, io);
    const stop = new AbortController();
    // The reader went away (`tendctl logs -f x | head`): stop quietly.
    const onPipeClosed = () => stop.abort();
    io.stdout.once('error', onPipeClosed);
    try {
      const chunks = client.logs(args[0], {
        stream: f.stderr ? 'stderr' : 'stdout',
        n,
        follow: f.f === true,
        timestamps: f.timestamps === true,
        since,
        merge: true,
        signal: stop.signal,
      });
      for await (const chunk of chunks) {
        await writeOut(io.stdout, chunk);
        if (stop.signal.aborted) break;
      }
      // A follow only ends when the agent goes away (or stdout's reader did).
      if (f.f === true && !stop.signal.aborted) {
        io.stderr.write('tendctl logs: the agent ended the stream (did it stop?)\n');
        return 1;
      }
      return 0;
    } finally {
      io.stdout.off('error', onPipeClosed);
      client.close();
    }
  },
};
