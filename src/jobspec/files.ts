/**
 * Which names in a jobs dir are job files: `.hcl`, `.nomad`, `.nomad.hcl`,
 * `.toml`, `.json`; never hidden files, editor swap/backup files or `*.tmp`.
 */
export type JobFormat = 'hcl' | 'toml' | 'json';

const IGNORED = [/^\./, /~$/, /\.swp$/, /\.swx$/, /\.tmp$/, /^#.*#$/, /\.bak$/, /\.orig$/];

/** Is this file name (or path) a job file tend reads? */
export function isJobFile(name: string): boolean {
  const base = name.slice(name.lastIndexOf('/') + 1);
  if (IGNORED.some((re) => re.test(base))) return false;
  return formatOf(base) !== undefined;
}

/** The format a job file is read as, by extension. */
export function formatOf(name: string): JobFormat | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith('.hcl') || lower.endsWith('.nomad')) return 'hcl';
  if (lower.endsWith('.toml')) return 'toml';
  if (lower.endsWith('.json')) return 'json';
  return undefined;
}
