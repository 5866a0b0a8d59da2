/** `tendctl`: the operator's CLI. */
import { runCli } from './main.js';
import { tendctlCommands, tendctlIntro } from './commands/index.js';

process.exitCode = await runCli('tendctl', tendctlIntro, tendctlCommands, process.argv.slice(2));
