/** `tendctl`: the operator's CLI. */
import { runCli } from './main.js';
import { tendctlCommands } from './commands/index.js';

const intro = 'tendctl talks to a running tend agent (status, logs, events, exec, signal, restart, services, node, plan)\nand checks job files without one (validate).';
process.exitCode = await runCli('tendctl', intro, tendctlCommands, process.argv.slice(2));
