/**
 * The command registry for both binaries. A command module is imported only
 * when that command runs (or its help is asked for), so `tendctl status` does
 * not load the agent, the executors or the HCL parser. Name and summary are
 * repeated here for the command list; test/unit/cli/commands.test.ts checks
 * they match the modules.
 */
import type { LazyCommand } from '../main.js';

/** What `tend -help` and tend(1) say first. */
export const tendIntro = 'tend keeps the tasks running on this machine equal to a directory of Nomad-style job files.';
/** What `tendctl -help` and tendctl(1) say first. */
export const tendctlIntro = 'tendctl talks to a running tend agent (status, logs, events, exec, signal, restart, services, node, plan)\nand checks job files without one (validate).';

// tend: the agent and its internal commands.
export const tendCommands: LazyCommand[] = [
  { name: 'agent', summary: 'Run the agent', load: async () => (await import('./agent.js')).agentCommand },
  { name: 'logmon', summary: 'Internal: the log monitor that writes task output to rotated files', load: async () => (await import('./logmon.js')).logmonCommand },
];

// tendctl: operator commands talking to the agent's API (src/api/), then the offline ones.
export const tendctlCommands: LazyCommand[] = [
  { name: 'status', summary: 'Show tasks and jobs, or one job or task in detail', load: async () => (await import('./status.js')).statusCommand },
  { name: 'logs', summary: "Print or follow a task's output", load: async () => (await import('./logs.js')).logsCommand },
  { name: 'events', summary: 'Print or follow the node-wide event stream', load: async () => (await import('./events.js')).eventsCommand },
  { name: 'exec', summary: 'Run a command inside a task', load: async () => (await import('./exec.js')).execCommand },
  { name: 'signal', summary: 'Send a signal to a task', load: async () => (await import('./signal.js')).signalCommand },
  { name: 'restart', summary: 'Restart a task (desired state unchanged)', load: async () => (await import('./restart.js')).restartCommand },
  { name: 'wait', summary: 'Wait until jobs have converged (for scripts and GitOps pipelines)', load: async () => (await import('./wait.js')).waitCommand },
  { name: 'job', summary: 'Job subcommands: dispatch, periodic force', load: async () => (await import('./job.js')).jobCommand },
  { name: 'deployment', summary: 'Show, fail or promote the rollout of a service job', load: async () => (await import('./deployment.js')).deploymentCommand },
  { name: 'var', summary: 'Nomad variables for templates: put, get, list, purge', load: async () => (await import('./var.js')).varCommand },
  { name: 'services', summary: 'Show the local service catalog and its health checks', load: async () => (await import('./services.js')).servicesCommand },
  { name: 'node', summary: 'Show the node: drivers, cgroups, cores, memory, attributes', load: async () => (await import('./node.js')).nodeCommand },
  { name: 'ui', summary: "Print the URL of the agent's web status page", load: async () => (await import('./ui.js')).uiCommand },
  { name: 'plan', summary: 'Show what the agent would do for a jobs dir', load: async () => (await import('./plan.js')).planCommand },
  { name: 'validate', summary: 'Check job files without an agent', load: async () => (await import('./validate.js')).validateCommand },
  { name: 'completion', summary: 'Print a shell completion script (bash, zsh)', load: async () => (await import('./completion.js')).completionCommand },
  { name: '__complete', summary: 'Internal: names for shell completion', load: async () => (await import('./completion.js')).completeCommand, hidden: true },
];
