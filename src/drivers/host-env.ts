/**
 * Which of the agent's environment variables reach a task (exec and
 * raw_exec pass the host environment, as Nomad does). Nomad's
 * `client { options = { "env.denylist" = "A,B" } }` replaces the default
 * denylist below; tend also offers `"env.allowlist"`: when set, only the
 * listed variables pass (then the denylist still applies). Entries are exact
 * names or a prefix ending in `*` (`AWS_*`). Whatever the lists say, the
 * agent's own variables (`TEND_*`) and `NOMAD_*` never pass: the task gets
 * its own NOMAD_* set.
 */

/** Nomad's default env.denylist (command/agent/host DefaultEnvDenyList). */
export const DEFAULT_ENV_DENYLIST = [
  'CONSUL_TOKEN',
  'CONSUL_HTTP_TOKEN',
  'VAULT_TOKEN',
  'NOMAD_LICENSE',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'GOOGLE_APPLICATION_CREDENTIALS',
];

export interface EnvFilter {
  /** Names or `PREFIX*` never passed. Default: DEFAULT_ENV_DENYLIST. */
  denylist: readonly string[];
  /** When set, only these names or `PREFIX*` pass. */
  allowlist?: readonly string[];
}

/** "A, B,,C" → ["A", "B", "C"] (Nomad's comma-separated option form). */
export function parseEnvList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function matches(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p));
}

export function hostEnv(agentEnv: Record<string, string | undefined>, filter: EnvFilter = { denylist: DEFAULT_ENV_DENYLIST }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(agentEnv)) {
    if (v === undefined || k.startsWith('NOMAD_') || k.startsWith('TEND_')) continue;
    if (filter.allowlist && !matches(k, filter.allowlist)) continue;
    if (matches(k, filter.denylist)) continue;
    out[k] = v;
  }
  return out;
}
