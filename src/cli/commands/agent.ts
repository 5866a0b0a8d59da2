/** `tend agent`: run the agent (watch the jobs dir, keep tasks equal to it). */
import type { Command, CommandIO } from '../command.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type Example, type FlagSpec } from '../flags.js';
import type { AgentFlags } from '../../agent/config.js';

const flags: FlagSpec[] = [
  { names: ['config'], kind: 'string', value: 'FILE', help: 'Agent config file (HCL). Relative paths in it resolve against its dir.' },
  { names: ['jobs-dir'], kind: 'string', value: 'DIR', help: 'Directory of job files to run (may be a symlink swapped by a sync tool). Default ./jobs.' },
  { names: ['data-dir'], kind: 'string', value: 'DIR', help: 'State dir: the store, allocation dirs, the API socket. Default ./state.' },
  { names: ['node-name'], kind: 'string', value: 'NAME', help: 'Node name (${node.unique.name}). Default: the hostname.' },
  { names: ['log-level'], kind: 'string', value: 'LEVEL', help: 'trace, debug, info, warn or error. Default info.' },
  { names: ['executor'], kind: 'string', value: 'KIND', help: 'auto (oci when root, runc and conmon work; else plain), plain or oci. Default auto.' },
  { names: ['concurrency'], kind: 'number', value: 'N', help: 'Task actions run in parallel. Default 8.' },
  { names: ['resync-interval'], kind: 'string', value: 'DURATION', help: 'Full relist of the jobs dir, e.g. 30s. Default 30s.' },
  { names: ['stop-tasks-on-exit'], kind: 'bool', help: 'Stop every task when the agent exits (default: tasks keep running and are adopted on the next start). -stop-tasks-on-exit=false overrides stop_tasks_on_exit = true in the config file.' },
  helpFlag,
];

const usage = 'tend agent [options]';
const description = `
Runs the agent: watches the jobs dir and keeps the tasks on this machine equal
to what its files say. SIGTERM or SIGINT stops the agent and leaves the tasks
running; the next start adopts them. SIGHUP reloads the config file (log_level,
the exec plugin's allow_caps and denied_host_uids/gids, client env options and
stop_tasks_on_exit apply live; other changes are logged as requiring a
restart). Flags override the config file.`;

const examples: Example[] = [
  { command: "tend agent -config /etc/tend/agent.hcl", what: "as deploy/tend.service runs it" },
  { command: "tend agent -jobs-dir ./jobs -data-dir ./state", what: "the quick start: no config file" },
];

export const agentCommand: Command = {
  name: 'agent',
  summary: 'Run the agent',
  help: () => formatHelp(usage, description, flags, examples),
  usage,
  description,
  flags,
  examples,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { flags: f, args, given } = parseFlags(argv, flags);
    if (args.length) throw new UsageError(`expected no arguments, got ${args.join(' ')}`);
    const over: Partial<AgentFlags> = {};
    if (typeof f['jobs-dir'] === 'string') over.jobsDir = f['jobs-dir'];
    if (typeof f['data-dir'] === 'string') over.dataDir = f['data-dir'];
    if (typeof f['node-name'] === 'string') over.nodeName = f['node-name'];
    if (typeof f['log-level'] === 'string') over.logLevel = f['log-level'];
    if (typeof f.executor === 'string') over.executor = f.executor;
    if (typeof f.concurrency === 'number') over.concurrency = f.concurrency;
    if (typeof f['resync-interval'] === 'string') over.resyncInterval = f['resync-interval'];
    if (given.has('stop-tasks-on-exit')) over.stopTasksOnExit = f['stop-tasks-on-exit'] === true; // -stop-tasks-on-exit=false overrides the file
    // Loaded when the agent runs, not when the module is (`tend agent -help`):
    // the agent's modules are many (the HCL parser's process starts on the
    // first parse).
    const { loadAgentConfig } = await import('../../agent/config.js');
    const { runAgent } = await import('../../agent/run.js');
    const load = () => loadAgentConfig({ file: typeof f.config === 'string' ? f.config : undefined, flags: over, cwd: io.cwd, env: io.env });
    const config = await load();
    // SIGHUP reads the same file with the same flags again.
    const code = await runAgent(config, { reload: load });
    // Exit watchers of tasks that keep running must not keep the agent alive after shutdown.
    setTimeout(() => process.exit(code), 200).unref();
    return code;
  },
};
