/** `tendctl plan [DIR]`: what the agent would do for the files in DIR, as `nomad job plan` prints it. */
import path from 'node:path';
import type { Command, CommandIO } from '../command.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type FlagSpec } from '../flags.js';
import { clientFromFlags, connectionFlags } from '../../api/client-flags.js';
import { jsonFlag, writeJson, writeOut } from '../format/output.js';
import { formatPlan } from '../format/plan.js';
import { isTendError } from '../../errors.js';
import type { Plan } from '../../api/api.js';

const flags: FlagSpec[] = [{ names: ['verbose', 'v'], kind: 'bool', help: 'Also list tasks that stay as they are.' }, jsonFlag, ...connectionFlags, helpFlag];

const usage = 'tendctl plan [options] [DIR]';
const description = `
Prints what the agent would do for the job files in DIR (default: the agent's
jobs dir) against what runs now, without doing it:

  +   start     a new task instance
  -   stop      an instance no longer in the files
  ~   update    resources changed: applied in place, same process
  -/+ restart   a field that needs a new process changed (named)

Without a running agent, DIR is planned against nothing running.
Exit code: 0 no changes, 1 changes (as nomad job plan), other errors 1 with a message.`;

export const planCommand: Command = {
  name: 'plan',
  summary: 'Show what the agent would do for a jobs dir',
  help: () => formatHelp(usage, description, flags),
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { flags: f, args } = parseFlags(argv, flags);
    if (args.length > 1) throw new UsageError(`expected at most one DIR, got ${args.length} arguments`);
    const dir = args[0] ? path.resolve(io.cwd, args[0]) : undefined;
    const client = clientFromFlags(f, io);
    let plan: Plan;
    let note = '';
    try {
      plan = await client.plan(dir);
    } catch (err) {
      if (!isTendError(err, 'E_AGENT_UNREACHABLE') || !dir) throw err;
      // Loaded only when needed: the job file loader and its modules (its HCL parser worker starts on the first parse).
      const { offlinePlan } = await import('../../agent/offline-plan.js');
      plan = await offlinePlan(dir);
      note = 'Agent not running: planned against no running tasks.\n\n';
    } finally {
      client.close();
    }
    if (f.json) await writeJson(io, plan);
    else await writeOut(io.stdout, note + formatPlan(plan, { verbose: f.verbose === true }));
    return plan.actions.some((a) => a.kind !== 'none') ? 1 : 0;
  },
};
