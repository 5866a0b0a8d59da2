/**
 * Nomad-style flag parsing: `-name value`, `-name=value`, `--name value`;
 * boolean flags take no value (`-json`, `--json`, `-f`); repeatable flags
 * collect into arrays (`-var a=1 -var b=2`). `--` ends flags.
 */
export interface FlagSpec {
  /** Flag names without dashes; the first is the canonical one. */
  names: string[];
  kind: 'bool' | 'string' | 'number' | 'list';
  help: string;
  /** Placeholder in help, e.g. FILE. */
  value?: string;
  default?: string | number | boolean;
}

export interface ParsedFlags {
  flags: Record<string, string | number | boolean | string[] | undefined>;
  args: string[];
  /** Everything after `--`. */
  rest: string[];
  /** Canonical names of the flags set on the command line (a bool given as `-x=false` included). */
  given: Set<string>;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parseFlags(argv: string[], specs: FlagSpec[]): ParsedFlags {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) for (const n of s.names) byName.set(n, s);
  const flags: ParsedFlags['flags'] = {};
  for (const s of specs) {
    if (s.kind === 'list') flags[s.names[0]] = [];
    else if (s.default !== undefined) flags[s.names[0]] = s.default;
    else if (s.kind === 'bool') flags[s.names[0]] = false;
  }
  const args: string[] = [];
  const given = new Set<string>();
  let rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      rest = argv.slice(i + 1);
      break;
    }
    if (!a.startsWith('-') || a === '-' || /^-\d/.test(a)) {
      args.push(a);
      continue;
    }
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const spec = byName.get(name);
    if (!spec) {
      const near = specs.flatMap((s) => s.names).find((n) => n.startsWith(name) || name.startsWith(n));
      throw new UsageError(`unknown flag -${name}${near ? ` (did you mean -${near}?)` : ''}`);
    }
    const key = spec.names[0];
    given.add(key);
    if (spec.kind === 'bool') {
      flags[key] = eq >= 0 ? !['false', '0', 'no'].includes(body.slice(eq + 1)) : true;
      continue;
    }
    let value: string | undefined = eq >= 0 ? body.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`flag -${name} needs a value${spec.value ? ` (${spec.value})` : ''}`);
    if (spec.kind === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new UsageError(`flag -${name}: expected a number, got "${value}"`);
      flags[key] = n;
    } else if (spec.kind === 'list') {
      (flags[key] as string[]).push(value);
    } else {
      flags[key] = value;
    }
  }
  return { flags, args, rest, given };
}

/** One example of a command's use, for its help, the man page and the README. */
export interface Example {
  /** The command line as typed (`tendctl logs -f web`). */
  command: string;
  /** What it does, in a few words. */
  what: string;
}

/** Help text for a command: usage line, description, flags table, examples. */
export function formatHelp(usage: string, description: string, specs: FlagSpec[], examples: Example[] = []): string {
  const lines = [`Usage: ${usage}`, '', description.trim(), ''];
  if (specs.length) {
    lines.push('Options:', '');
    for (const s of specs) {
      const names = s.names.map((n) => `-${n}`).join(', ') + (s.value ? ` ${s.value}` : '');
      const def = s.default !== undefined && s.default !== false ? ` (default: ${s.default})` : '';
      lines.push(`  ${names}`, `      ${s.help}${def}`, '');
    }
  }
  if (examples.length) {
    lines.push('Examples:', '');
    // A short command and its note on one line; a long one with its note below.
    for (const e of examples) lines.push(...(e.command.length <= EXAMPLE_WIDTH ? [`  ${e.command.padEnd(EXAMPLE_WIDTH)}  ${e.what}`] : [`  ${e.command}`, `  ${''.padEnd(EXAMPLE_WIDTH)}  ${e.what}`]));
    lines.push('');
  }
  return lines.join('\n');
}

const EXAMPLE_WIDTH = 34;

/** Flags every command accepts. */
export const helpFlag: FlagSpec = { names: ['help', 'h'], kind: 'bool', help: 'Show this help.' };
