/** `tendctl node`: the node's fingerprint, as the agent sees it. */
import type { Command, CommandIO } from '../command.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type Example, type FlagSpec } from '../flags.js';
import { clientFromFlags, connectionFlags } from '../../api/client-flags.js';
import { jsonFlag, noColorFlag, paletteFor, writeJson, writeOut } from '../format/output.js';
import { renderNode } from '../format/node.js';

const flags: FlagSpec[] = [jsonFlag, noColorFlag, ...connectionFlags, helpFlag];

const usage = 'tendctl node [options]';
const description = `
Shows the node: name, class, executor (plain or oci) and cgroup mode, cores and
memory, each driver and why it is unavailable, the attributes and meta that
constraints and \${attr.*} / \${meta.*} see.`;

const examples: Example[] = [
  { command: "tendctl node", what: "executor, drivers, jobs revision, attributes" },
  { command: "tendctl node -json | jq .jobsRevision", what: "the Git commit the jobs dir holds" },
];

export const nodeCommand: Command = {
  name: 'node',
  summary: 'Show the node: drivers, cgroups, cores, memory, attributes',
  help: () => formatHelp(usage, description, flags, examples),
  usage,
  description,
  flags,
  examples,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { flags: f, args } = parseFlags(argv, flags);
    if (args.length) throw new UsageError(`expected no arguments, got "${args[0]}"`);
    const client = clientFromFlags(f, io);
    try {
      const node = await client.node();
      if (f.json) await writeJson(io, node);
      else await writeOut(io.stdout, renderNode(node, { now: Date.now(), palette: paletteFor(io, f['no-color']) }));
      return 0;
    } finally {
      client.close();
    }
  },
};
