/** `tendctl ui`: the URL of the agent's web status page (and, on the unix socket, a local proxy to reach it). */
import type { Command, CommandIO } from '../command.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type Example, type FlagSpec } from '../flags.js';
import { clientFromFlags, connectionFlags } from '../../api/client-flags.js';
import { clientTarget } from '../../api/client.js';
import { startUiProxy } from '../../api/ui-proxy.js';

const flags: FlagSpec[] = [
  {
    names: ['listen'],
    kind: 'string',
    value: 'ADDR',
    help: 'Where the proxy listens when the agent is on its unix socket: loopback only (default 127.0.0.1:0, a free port).',
  },
  ...connectionFlags,
  helpFlag,
];

const usage = 'tendctl ui [options]';
const description = `
Prints the URL of the agent's read-only web status page (/ui/): tasks live,
their output, CPU and memory, events and spec; the node; the pending plan.

With a TCP address (-address http://127.0.0.1:PORT and -token or TEND_TOKEN)
the URL is the agent's own, with the token in its fragment (#token=…, which
the browser keeps and never sends to a server).

On the unix socket (the default) a browser cannot reach the agent: tendctl ui
runs a proxy on 127.0.0.1 (a free port unless -listen) and prints its URL,
which works once: the first visit trades it for a session only that browser
tab holds, so other users of this machine cannot use the proxy. It forwards
reads only, and runs until interrupted (Ctrl-C).`;

const examples: Example[] = [
  { command: 'tendctl ui', what: 'a one-time link to the page through a loopback proxy (the agent on its unix socket); Ctrl-C ends it' },
  { command: 'tendctl ui -address http://127.0.0.1:4747 -token "$TEND_TOKEN"', what: "the agent's own URL, for an agent with api.address" },
];

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export const uiCommand: Command = {
  name: 'ui',
  summary: "Print the URL of the agent's web status page",
  help: () => formatHelp(usage, description, flags, examples),
  usage,
  description,
  flags,
  examples,
  args: {},
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { flags: f, args } = parseFlags(argv, flags);
    if (args.length) throw new UsageError(`expected no arguments, got "${args[0]}"`);
    const target = clientTarget({
      address: typeof f.address === 'string' ? f.address : undefined,
      token: typeof f.token === 'string' ? f.token : undefined,
      env: io.env,
      cwd: io.cwd,
    });
    // The agent answers (and takes the token) before a URL is printed.
    const client = clientFromFlags(f, io);
    try {
      await client.node();
    } finally {
      client.close();
    }
    if (target.address.kind === 'tcp') {
      io.stdout.write(`${target.address.url}/ui/${target.token ? `#token=${encodeURIComponent(target.token)}` : ''}\n`);
      return 0;
    }
    const proxy = await startUiProxy({ socket: target.address.path, listen: typeof f.listen === 'string' ? f.listen : undefined });
    io.stdout.write(`${proxy.url}\n`);
    io.stderr.write(`tendctl ui: serving the web page of the agent at ${target.address.url} on ${proxy.origin}; the link works once; Ctrl-C stops\n`);
    await waitForSignal();
    await proxy.close();
    return 0;
  },
};
