/** `tendctl validate PATH…`: check job files without an agent, as a CI pipeline would before merging. */
import path from 'node:path';
import type { Command, CommandIO } from '../command.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type Example, type FlagSpec } from '../flags.js';
import { shouldColor } from '../format/color.js';
import { writeOut } from '../format/output.js';
import { formatDiagnostic, formatNote, formatSummary } from '../../jobspec/format.js';

const flags: FlagSpec[] = [
  { names: ['var'], kind: 'list', value: 'NAME=VALUE', help: 'Set a variable declared by the job files (repeatable).' },
  { names: ['var-file'], kind: 'list', value: 'FILE', help: 'Read variable values from an HCL or JSON file (repeatable; -var wins).' },
  { names: ['json'], kind: 'bool', help: 'Print one JSON document: every file with its diagnostics and a summary.' },
  { names: ['quiet', 'q'], kind: 'bool', help: 'Print errors only (no warnings or notes), then the summary.' },
  { names: ['strict'], kind: 'bool', help: 'Count every "unsupported" warning (a field tend accepts but does not act on) as an error.' },
  { names: ['no-color'], kind: 'bool', help: 'Never colour the output.' },
  helpFlag,
];

const usage = 'tendctl validate [options] PATH…';
const description = `
Checks job files (HCL2 .hcl/.nomad/.nomad.hcl, TOML, JSON) without an agent.
A directory is walked exactly as the agent walks its jobs dir (subdirectories,
links followed once, hidden and editor files ignored). Files with a job-file
name that are not job files (no job block: a renovate.json, an agent config)
are skipped with a note and counted apart. Prints every error and warning as
file:line:col with the field path and a hint, then a summary line.

"unsupported" warnings name fields tend accepts but does not act on, and what
happens instead; -strict makes them errors, for pipelines that want "runs as
written or fails".

Exit code: 0 when every file is valid (warnings allowed), 1 when any is
invalid (or, with -strict, has an unsupported field) or no job file is found,
2 on a usage error.`;

const examples: Example[] = [
  { command: "tendctl validate jobs/", what: "every job file under jobs/, as the agent reads them" },
  { command: "tendctl validate -strict -var region=eu web.hcl", what: "fail on fields tend does not act on too" },
];

export const validateCommand: Command = {
  name: 'validate',
  summary: 'Check job files without an agent',
  help: () => formatHelp(usage, description, flags, examples),
  usage,
  description,
  flags,
  examples,
  args: { positional: ['path'], repeat: true },
  async run(argv: string[], io: CommandIO): Promise<number> {
    let f: ReturnType<typeof parseFlags>['flags'];
    let args: string[];
    const vars: Record<string, string> = {};
    try {
      ({ flags: f, args } = parseFlags(argv, flags));
      if (args.length === 0) throw new UsageError('expected at least one PATH');
      for (const v of f.var as string[]) {
        const eq = v.indexOf('=');
        if (eq <= 0) throw new UsageError(`-var: expected NAME=VALUE, got "${v}"`);
        vars[v.slice(0, eq)] = v.slice(eq + 1);
      }
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      io.stderr.write(`tendctl validate: ${err.message}\nRun "tendctl validate -help" for usage.\n`);
      return 2;
    }
    const varFiles = (f['var-file'] as string[]).map((p) => path.resolve(io.cwd, p));
    // Loaded when files are checked, not when the module is (`tendctl validate
    // -help`): the loader and its modules (the HCL parser process starts on the first parse).
    const { scanPaths } = await import('../../source/scan.js');
    const scan = await scanPaths(
      args.map((p) => path.resolve(io.cwd, p)),
      { vars, varFiles },
    );
    // Show paths as the user wrote them: relative to the working directory.
    const rel = (p: string) => {
      const shown = path.relative(io.cwd, p) || p;
      return shown.startsWith('..') ? p : shown;
    };
    const results = scan.set.files.map((r) => ({ file: rel(r.path), ok: r.ok, jobs: r.jobs.map((j) => j.id), diagnostics: r.diagnostics }));
    const strict = f.strict === true;
    let unsupported = 0;
    for (const r of results) {
      for (const d of r.diagnostics) {
        d.file = r.file;
        if (d.kind !== 'unsupported' || d.severity !== 'warning') continue;
        unsupported++;
        if (!strict) continue;
        d.severity = 'error';
        r.ok = false;
      }
    }
    const notes = [
      ...scan.skipped.map((s) => ({ file: rel(s.path), note: `${s.reason}; skipped` })),
      ...scan.dirs.map((d) => ({ file: rel(d.path), note: d.reason })),
    ];
    const all = results.flatMap((r) => r.diagnostics);
    const errors = all.filter((d) => d.severity === 'error').length;
    const warnings = all.length - errors;
    const invalid = results.filter((r) => !r.ok).length;
    const valid = invalid === 0 && results.length > 0;
    if (f.json) {
      const doc = {
        valid,
        files: results,
        skipped: scan.skipped.map((s) => ({ file: rel(s.path), reason: s.reason })),
        dirs: scan.dirs.map((d) => ({ path: rel(d.path), reason: d.reason })),
        summary: { files: results.length, valid: results.length - invalid, invalid, errors, warnings, skipped: scan.skipped.length, unsupported, strict },
      };
      await writeOut(io.stdout, JSON.stringify(doc, null, 2) + '\n');
    } else {
      const color = shouldColor({ isTTY: io.stdout.isTTY, env: io.env, noColor: f['no-color'] === true });
      const shown = f.quiet ? all.filter((d) => d.severity === 'error') : all;
      const out = shown.map((d) => formatDiagnostic(d, { color }) + '\n');
      if (!f.quiet) for (const n of notes) out.push(formatNote(n.file, n.note, { color }) + '\n');
      if (results.length === 0) out.push('no job files found\n');
      out.push(formatSummary(results.length, invalid, errors, warnings, { skipped: scan.skipped.length, ...(strict ? { strict: unsupported } : {}) }) + '\n');
      await writeOut(io.stdout, out.join(shown.length || (!f.quiet && notes.length) ? '\n' : ''));
    }
    return valid ? 0 : 1;
  },
};
