/** `tendctl restart TASK`: restart a task without changing its desired state. */
import type { Command, CommandIO } from '../command.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type Example, type FlagSpec } from '../flags.js';
import { clientFromFlags, connectionFlags } from '../../api/client-flags.js';
import { jsonFlag, writeJson, writeOut } from '../format/output.js';

const flags: FlagSpec[] = [jsonFlag, ...connectionFlags, helpFlag];

const usage = 'tendctl restart [options] TASK';
const description = `
Stops a task (its kill_signal, then kill_timeout) and starts it again with the
same spec. The job file is not touched. Also revives a task that failed after
exhausting its restart policy.`;

/** What happens now, in the operator's terms: a running task is stopped first (how, and for how long at most). */
export function restartNote(r: { task: string; state?: string; killSignal?: string; killTimeout?: string }): string {
  if (r.state === 'running' || r.state === 'starting') {
    const stop = r.killSignal ? `${r.killSignal} now${r.killTimeout ? `, SIGKILL after ${r.killTimeout} if it is still running` : ''}` : 'it is stopped';
    return `Restarting ${r.task}: ${stop}, then it starts again.\nFollow it: tendctl events -f -task '${r.task}'\n`;
  }
  return r.state ? `Restarting ${r.task} (it was ${r.state}): it starts again now.\n` : `Restarting ${r.task}\n`;
}

const examples: Example[] = [
  { command: "tendctl restart web", what: "stop and start job web's only task" },
  { command: "tendctl restart 'web/server[1]/app'", what: "one instance of a group with count > 1" },
];

export const restartCommand: Command = {
  name: 'restart',
  summary: 'Restart a task (desired state unchanged)',
  help: () => formatHelp(usage, description, flags, examples),
  usage,
  description,
  flags,
  examples,
  args: { positional: ['task'] },
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { flags: f, args } = parseFlags(argv, flags);
    if (args.length !== 1) throw new UsageError(`expected one TASK, got ${args.length} arguments`);
    const client = clientFromFlags(f, io);
    try {
      const r = await client.restart(args[0]);
      if (f.json) await writeJson(io, r);
      else await writeOut(io.stdout, restartNote(r));
      return 0;
    } finally {
      client.close();
    }
  },
};
