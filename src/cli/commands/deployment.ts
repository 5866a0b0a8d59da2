/**
 * `tendctl deployment status|fail|promote JOB`: a service job's rollout (Nomad's `deployment`
 * commands): its progress, failing it by hand (auto_revert then puts back the last stable
 * version), and marking its allocations healthy when the group's health_check is "manual".
 */
import type { Command, CommandIO } from '../command.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type Example, type FlagSpec } from '../flags.js';
import { clientFromFlags, connectionFlags } from '../../api/client-flags.js';
import { jsonFlag, noColorFlag, paletteFor, writeJson, writeOut } from '../format/output.js';
import { renderDeployment } from '../format/deployment.js';

const flags: FlagSpec[] = [jsonFlag, noColorFlag, ...connectionFlags, helpFlag];

const usage = 'tendctl deployment status|fail|promote [options] JOB';
const description = `
The rollout of a service job: an edit that needs new processes replaces the
instances of each group max_parallel at a time, each once healthy for
min_healthy_time (the group's update block; Nomad's defaults without one).

  status JOB    The job's latest deployment: version and file revision, status,
                each group's progress, the allocations that turned unhealthy,
                and a revert in force.
  fail JOB      Fail the running deployment. With auto_revert, the last version
                that was healthy runs again (until the job file changes).
  promote JOB   With health_check = "manual": mark the deployment's allocations
                that run its version healthy, so the next ones are replaced.`;

const examples: Example[] = [
  { command: "tendctl deployment status web", what: "the progress of web's rollout" },
  { command: "tendctl deployment fail web", what: "stop it (auto_revert: back to the last healthy version)" },
];

export const deploymentCommand: Command = {
  name: 'deployment',
  summary: 'Show, fail or promote the rollout of a service job',
  help: () => formatHelp(usage, description, flags, examples),
  usage,
  description,
  flags,
  examples,
  args: { subcommands: { status: { positional: ['job'] }, fail: { positional: ['job'] }, promote: { positional: ['job'] } } },
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { flags: f, args } = parseFlags(argv, flags);
    const [verb, ...rest] = args;
    if (verb !== 'status' && verb !== 'fail' && verb !== 'promote') {
      throw new UsageError(`expected "status", "fail" or "promote", got ${verb === undefined ? 'no subcommand' : `"${verb}"`}`);
    }
    if (rest.length !== 1) throw new UsageError(`expected one JOB, got ${rest.length} arguments`);
    const job = rest[0];
    const client = clientFromFlags(f, io);
    try {
      const p = paletteFor(io, f['no-color']);
      if (verb === 'status') {
        const d = await client.deployment(job);
        if (f.json) await writeJson(io, d);
        else await writeOut(io.stdout, `${renderDeployment(d, Date.now(), p).join('\n')}\n`);
        return 0;
      }
      if (verb === 'fail') {
        const d = await client.failDeployment(job);
        if (f.json) await writeJson(io, d);
        else await writeOut(io.stdout, `Deployment ${d.id} of ${job}: ${d.description}\n`);
        return 0;
      }
      const d = await client.promoteDeployment(job);
      if (f.json) await writeJson(io, d);
      else await writeOut(io.stdout, `Deployment ${d.id} of ${job}: ${d.promoted} allocation${d.promoted === 1 ? '' : 's'} marked healthy\n`);
      return 0;
    } finally {
      client.close();
    }
  },
};
