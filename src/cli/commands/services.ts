/**
 * `tendctl services [NAME]`: the agent's local service catalog, as `nomad service list` and
 * `nomad service info` show Nomad's.
 */
import type { Command, CommandIO } from '../command.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type Example, type FlagSpec } from '../flags.js';
import { clientFromFlags, connectionFlags } from '../../api/client-flags.js';
import { jsonFlag, noColorFlag, paletteFor, writeJson, writeOut } from '../format/output.js';
import { renderServiceInfo, renderServiceList } from '../format/services.js';

const flags: FlagSpec[] = [jsonFlag, noColorFlag, ...connectionFlags, helpFlag];

const usage = 'tendctl services [options] [NAME]';
const description = `
Shows the services registered in the agent's local catalog (job files'
service blocks, provider "nomad" or "consul" alike: tend registers both
locally while their tasks run), with the health of their checks.

Without a name: one line per service, its tags, instances and their health.
With a name: every instance (job, allocation, address, tags) and its checks,
with each check's status and last output. Templates see an instance with
nomadService only while all its checks pass.`;

const examples: Example[] = [
  { command: "tendctl services", what: "every service and the health of its checks" },
  { command: "tendctl services web-http", what: "one service's instances and check output" },
];

export const servicesCommand: Command = {
  name: 'services',
  summary: 'Show the local service catalog and its health checks',
  help: () => formatHelp(usage, description, flags, examples),
  usage,
  description,
  flags,
  examples,
  args: { positional: ['service'] },
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { flags: f, args } = parseFlags(argv, flags);
    if (args.length > 1) throw new UsageError(`expected at most one service NAME, got ${args.length} arguments`);
    const client = clientFromFlags(f, io);
    try {
      const p = paletteFor(io, f['no-color']);
      if (!args.length) {
        const list = await client.services();
        if (f.json) await writeJson(io, list);
        else await writeOut(io.stdout, renderServiceList(list, p));
        return 0;
      }
      const list = await client.service(args[0]);
      if (f.json) await writeJson(io, list);
      else await writeOut(io.stdout, renderServiceInfo(args[0], list, Date.now(), p));
      return 0;
    } finally {
      client.close();
    }
  },
};
