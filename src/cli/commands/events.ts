/** `tendctl events [-f] [-job JOB] [-task TASK]`: the node-wide event stream. */
import type { Command, CommandIO } from '../command.js';
import type { EventQuery } from '../../api/api.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type Example, type FlagSpec } from '../flags.js';
import { clientFromFlags, connectionFlags } from '../../api/client-flags.js';
import { jsonFlag, noColorFlag, paletteFor, writeOut } from '../format/output.js';
import { formatEventLine } from '../format/events.js';

const flags: FlagSpec[] = [
  { names: ['f', 'follow'], kind: 'bool', help: 'Keep printing events as they happen, until interrupted.' },
  { names: ['job'], kind: 'string', value: 'JOB', help: "Only this job's events." },
  { names: ['task'], kind: 'string', value: 'TASK', help: "Only this task's events (an instance id or an unambiguous prefix)." },
  { names: ['n', 'limit'], kind: 'number', value: 'N', help: 'Only the last N events of the backlog.' },
  { names: ['json'], kind: 'bool', help: jsonFlag.help + ' One event per line (NDJSON).' },
  noColorFlag,
  ...connectionFlags,
  helpFlag,
];

const usage = 'tendctl events [options]';
const description = `
Prints the node's recent events (task started, exited, restarting, file errors,
…), oldest first; with -f keeps printing new ones as they happen.`;

const examples: Example[] = [
  { command: "tendctl events -f", what: "every event, as it happens" },
  { command: "tendctl events -job web -n 20", what: "job web's last 20 events" },
];

export const eventsCommand: Command = {
  name: 'events',
  summary: 'Print or follow the node-wide event stream',
  help: () => formatHelp(usage, description, flags, examples),
  usage,
  description,
  flags,
  examples,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { flags: f, args } = parseFlags(argv, flags);
    if (args.length) throw new UsageError(`expected no arguments, got "${args[0]}" (filter with -job or -task)`);
    const q: EventQuery = {};
    if (typeof f.job === 'string') q.job = f.job;
    if (typeof f.task === 'string') q.task = f.task;
    if (typeof f.n === 'number') {
      if (!Number.isInteger(f.n) || f.n < 0) throw new UsageError(`flag -n: expected a non-negative integer, got ${f.n}`);
      q.limit = f.n;
    }
    const p = paletteFor(io, f['no-color']);
    const line = (e: Parameters<typeof formatEventLine>[0]) => (f.json ? JSON.stringify(e) : formatEventLine(e, p)) + '\n';
    const client = clientFromFlags(f, io);
    const stop = new AbortController();
    const onPipeClosed = () => stop.abort();
    io.stdout.once('error', onPipeClosed);
    try {
      if (!f.f) {
        const events = await client.events(q);
        await writeOut(io.stdout, events.map(line).join(''));
        return 0;
      }
      for await (const e of client.followEvents(q, { signal: stop.signal })) {
        await writeOut(io.stdout, line(e));
        if (stop.signal.aborted) break;
      }
      // A follow only ends when the agent goes away (or stdout's reader did).
      if (!stop.signal.aborted) {
        io.stderr.write('tendctl events: the agent ended the stream (did it stop?)\n');
        return 1;
      }
      return 0;
    } finally {
      io.stdout.off('error', onPipeClosed);
      client.close();
    }
  },
};
