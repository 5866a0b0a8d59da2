/** The command registry for both binaries. Each command module registers itself here. */
import type { Command } from '../command.js';

export const tendCommands: Command[] = [];
export const tendctlCommands: Command[] = [];

// tendctl: operator commands talking to the agent's API (src/api/).
import { statusCommand } from './status.js';
import { logsCommand } from './logs.js';
import { eventsCommand } from './events.js';
import { execCommand } from './exec.js';
import { signalCommand } from './signal.js';
import { restartCommand } from './restart.js';
import { nodeCommand } from './node.js';
tendctlCommands.push(statusCommand, logsCommand, eventsCommand, execCommand, signalCommand, restartCommand, nodeCommand);

// tend: internal commands.
import { logmonCommand } from './logmon.js';
tendCommands.push(logmonCommand);
import { agentCommand } from './agent.js';
tendCommands.unshift(agentCommand);
import { planCommand } from './plan.js';
tendctlCommands.push(planCommand);
import { validateCommand } from './validate.js';
tendctlCommands.push(validateCommand);
