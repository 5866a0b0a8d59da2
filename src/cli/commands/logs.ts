/** `tendctl logs TASK [-f] [-stderr] [-n N]`: a task's output across its rotated files. */
import type { Command, CommandIO } from '../command.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type Example, type FlagSpec } from '../flags.js';
import { clientFromFlags, connectionFlags } from '../../api/client-flags.js';
import { writeOut } from '../format/output.js';

const flags: FlagSpec[] = [
  { names: ['f', 'follow'], kind: 'bool', help: 'Keep printing new output, across log rotation, until interrupted.' },
  { names: ['stderr'], kind: 'bool', help: 'Show stderr instead of stdout.' },
  { names: ['n', 'tail'], kind: 'number', value: 'N', help: 'Only the last N lines.' },
  ...connectionFlags,
  helpFlag,
];

const usage = 'tendctl logs [options] TASK';
const description = `
Prints a task's stdout (or stderr with -stderr), oldest first, across the
rotated files in its alloc/logs dir. TASK is an instance id (web/server[0]/server)
or an unambiguous prefix of one (web/server).`;

const examples: Example[] = [
  { command: "tendctl logs -f web", what: "follow the output of job web's only task" },
  { command: "tendctl logs -stderr -n 50 'web/server[1]/app'", what: "the last 50 lines of one instance's stderr" },
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
    if (args.length !== 1) throw new UsageError(`expected one TASK, got ${args.length} arguments`);
    const n = f.n as number | undefined;
    if (n !== undefined && (!Number.isInteger(n) || n < 0)) throw new UsageError(`flag -n: expected a non-negative integer, got ${n}`);
    const client = clientFromFlags(f, io);
    const stop = new AbortController();
    // The reader went away (`tendctl logs -f x | head`): stop quietly.
    const onPipeClosed = () => stop.abort();
    io.stdout.once('error', onPipeClosed);
    try {
      for await (const chunk of client.logs(args[0], { stream: f.stderr ? 'stderr' : 'stdout', n, follow: f.f === true, signal: stop.signal })) {
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
