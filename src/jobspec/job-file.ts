/**
 * Is a parsed file a job file at all? A jobs dir (often a whole Git
 * repository) also holds `renovate.json`, `package.json`, agent configs and
 * variable files with job-file extensions. Such a file is skipped with a
 * note, never reported as an invalid job.
 *
 * The rule, on the top level of the parsed file (HCL, TOML or JSON alike):
 * it is a job file, to be checked in full, when it has a `job` key, any key
 * a job file has at its top level or a job has right under it (`variable`,
 * `locals`, `group`, `task`), or a key close to one of these (`jbo`, `Job`,
 * `jobs`, `varible`): a file that tries to be a job and is broken stays an
 * error. A file with no key at all (empty, comments only, or caught half
 * written) is a job file too, so a truncated job never stops what it ran.
 * Anything else (keys, none of them job-like) is not a job file. Syntax
 * errors are decided before this: a file that does not parse is an error.
 */
import { suggest } from './expr/index.js';

const JOB_KEYS = ['job', 'variable', 'locals', 'group', 'task'];

/** Top-level keys of an agent config (tend's or Nomad's), to say what the file probably is. */
const AGENT_KEYS = ['data_dir', 'jobs_dir', 'client', 'server', 'plugin', 'api', 'oci'];

/** Why a parsed file is not a job file, or undefined when it is one (or tries to be). */
export function notJobFileReason(top: Record<string, unknown>): string | undefined {
  const keys = Object.keys(top);
  if (keys.length === 0) return undefined;
  for (const k of keys) {
    const lower = k.toLowerCase();
    if (JOB_KEYS.includes(lower) || suggest(lower, JOB_KEYS) !== undefined) return undefined;
  }
  const agent = AGENT_KEYS.some((k) => k in top);
  return `not a job file: no job block${agent ? ' (it looks like an agent config)' : ''}`;
}
