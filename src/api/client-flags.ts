/**
 * The connection flags every tendctl command that talks to the agent accepts
 * (`-address`, `-token`), and the client they describe. Environment:
 * `TEND_ADDR`, `TEND_TOKEN` (flags win).
 */
import type { FlagSpec, ParsedFlags } from '../cli/flags.js';
import type { CommandIO } from '../cli/command.js';
import { createClient, type TendClient } from './client.js';

export const addressFlag: FlagSpec = {
  names: ['address', 'addr'],
  kind: 'string',
  value: 'ADDR',
  help: 'The agent\'s API: unix:///path/tend.sock or http://127.0.0.1:PORT. Overrides TEND_ADDR (default: ./state/tend.sock).',
};

export const tokenFlag: FlagSpec = {
  names: ['token'],
  kind: 'string',
  value: 'TOKEN',
  help: 'API token for a TCP address. Overrides TEND_TOKEN.',
};

export const connectionFlags: FlagSpec[] = [addressFlag, tokenFlag];

export function clientFromFlags(flags: ParsedFlags['flags'], io: Pick<CommandIO, 'env' | 'cwd'>): TendClient {
  return createClient({
    address: typeof flags.address === 'string' ? flags.address : undefined,
    token: typeof flags.token === 'string' ? flags.token : undefined,
    env: io.env,
    cwd: io.cwd,
  });
}
