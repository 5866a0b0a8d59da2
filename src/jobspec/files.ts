// Placeholder; the loader work owns this file.
/** Is this file name a job file tend reads? (.hcl .nomad .nomad.hcl .toml .json; not hidden, swap, backup or *.tmp) */
export function isJobFile(_name: string): boolean {
  throw new Error('not implemented');
}
