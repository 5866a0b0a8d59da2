/** `tendctl signal TASK SIGNAL`: send a signal to a task's process. */
import { constants } from 'node:os';
import type { Command, CommandIO } from '../command.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type Example, type FlagSpec } from '../flags.js';
import { clientFromFlags, connectionFlags } from '../../api/client-flags.js';
import { jsonFlag, writeJson, writeOut } from '../format/output.js';

const flags: FlagSpec[] = [jsonFlag, ...connectionFlags, helpFlag];

const usage = 'tendctl signal [options] TASK SIGNAL';
const description = `
Sends SIGNAL (SIGHUP, HUP, 1, …) to a task. The desired state does not change:
if the signal ends the task, its restart policy applies.`;

/** "hup", "SIGHUP", "1" → "SIGHUP"; a UsageError for anything else. */
export function normalizeSignal(s: string): string {
  const signals = constants.signals as Record<string, number>;
  if (/^\d+$/.test(s)) {
    const name = Object.keys(signals).find((k) => signals[k] === Number(s));
    if (name) return name;
  } else {
    const up = s.toUpperCase();
    const name = up.startsWith('SIG') ? up : `SIG${up}`;
    if (name in signals) return name;
  }
  throw new UsageError(`invalid signal: expected a name like SIGHUP or a number, got "${s}"`);
}

const examples: Example[] = [
  { command: "tendctl signal web SIGHUP", what: "ask the task to reload its config" },
  { command: "tendctl signal 'web/server[0]/app' USR1", what: "one instance, a signal without its SIG prefix" },
];

export const signalCommand: Command = {
  name: 'signal',
  summary: 'Send a signal to a task',
  help: () => formatHelp(usage, description, flags, examples),
  usage,
  description,
  flags,
  examples,
  args: { positional: ['task', { words: ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGKILL', 'SIGUSR1', 'SIGUSR2', 'SIGSTOP', 'SIGCONT', 'SIGWINCH'] }] },
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { flags: f, args } = parseFlags(argv, flags);
    if (args.length !== 2) throw new UsageError(`expected TASK and SIGNAL, got ${args.length} arguments`);
    const signal = normalizeSignal(args[1]);
    const client = clientFromFlags(f, io);
    try {
      const r = await client.signal(args[0], signal);
      if (f.json) await writeJson(io, r);
      else await writeOut(io.stdout, `Sent ${r.signal} to ${r.task}\n`);
      return 0;
    } finally {
      client.close();
    }
  },
};
