/** `tendctl job periodic force JOB`: launch a child of a periodic job now (Nomad's `job periodic force`). */
import type { Command, CommandIO } from '../command.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type FlagSpec } from '../flags.js';
import { clientFromFlags, connectionFlags } from '../../api/client-flags.js';
import { jsonFlag, writeJson, writeOut } from '../format/output.js';

const flags: FlagSpec[] = [jsonFlag, ...connectionFlags, helpFlag];

const usage = 'tendctl job periodic force [options] JOB';
const description = `
Job subcommands.

  periodic force JOB   Launch a child run of the periodic job JOB now
                       (<JOB>/periodic-<unix time>), as if its schedule were due.
                       As Nomad's, a forced launch ignores prohibit_overlap; a job
                       with enabled = false cannot be forced.`;

export const jobCommand: Command = {
  name: 'job',
  summary: 'Job subcommands: periodic force',
  help: () => formatHelp(usage, description, flags),
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { flags: f, args } = parseFlags(argv, flags);
    const [group, verb, ...rest] = args;
    if (group !== 'periodic' || verb !== 'force') {
      throw new UsageError(`expected "periodic force JOB", got ${args.length ? `"${args.slice(0, 2).join(' ')}"` : 'no subcommand'}`);
    }
    if (rest.length !== 1) throw new UsageError(`expected one JOB, got ${rest.length} arguments`);
    const client = clientFromFlags(f, io);
    try {
      const r = await client.forcePeriodic(rest[0]);
      if (f.json) await writeJson(io, r);
      else await writeOut(io.stdout, `Launched ${r.child}\n`);
      return 0;
    } finally {
      client.close();
    }
  },
};
