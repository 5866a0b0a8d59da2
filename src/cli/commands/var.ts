/**
 * `tendctl var put|get|list|purge`: the agent's Nomad variables, as `nomad
 * var` handles them (its arguments, `-check-index`, `-item`, `-out json`).
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command, CommandIO } from '../command.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type Example, type FlagSpec, type ParsedFlags } from '../flags.js';
import { clientFromFlags, connectionFlags } from '../../api/client-flags.js';
import type { TendClient } from '../../api/client.js';
import type { Variable, VariableItems, VariableMetadata } from '../../api/api.js';
import { writeOut } from '../format/output.js';
import { formatKeyValues, formatTable } from '../format/table.js';
import { TendError, describeError } from '../../errors.js';
import { parseVarSpec, specFormatOf, type SpecFormat, type VarSpec } from '../../vars/var-spec.js';

const flags: FlagSpec[] = [
  { names: ['check-index'], kind: 'number', value: 'N', help: 'put, purge: act only if the variable\'s modify index is N; 0: only if it does not exist (put).' },
  { names: ['force'], kind: 'bool', help: 'put: ignore the modify index a specification carries (no check-and-set).' },
  { names: ['in'], kind: 'string', value: 'json|hcl', help: 'put: format of the specification read from stdin, or of a @FILE whose name does not say (default: json). Given without @FILE or -, the specification is read from stdin.' },
  { names: ['item'], kind: 'string', value: 'KEY', help: 'get: print only this item\'s value, without a trailing newline.' },
  { names: ['out'], kind: 'string', value: 'table|json|none', help: 'How to print the variable: get and list default to table on a terminal and json otherwise (as Nomad); put defaults to none (a one-line message: values are not echoed into logs).' },
  { names: ['json'], kind: 'bool', help: 'Same as -out json.' },
  ...connectionFlags,
  helpFlag,
];

const usage = 'tendctl var <put|get|list|purge> [options] [args]';
const description = `
The agent's Nomad variables: what job templates read with nomadVar,
nomadVarList and nomadVarExists (a task reads nomad/jobs, nomad/jobs/<job>,
nomad/jobs/<job>/<group> and nomad/jobs/<job>/<group>/<task>, plus what the
agent's client { variables { policy … } } grants).

  put [options] PATH [@SPEC | -] [KEY=VALUE | KEY=@FILE | KEY=-]...
  put [options] @SPEC | -
      Create or replace the variable at PATH (a put replaces all its items).
      Items come from a variable specification (JSON or HCL as 'nomad var
      init' writes it, or 'tendctl var get -out json' prints it), from
      KEY=VALUE arguments, or both (arguments win). KEY=@FILE reads a value
      from a file, KEY=- from stdin, both as-is. A specification that carries
      a ModifyIndex makes a check-and-set, unless -force.
  get [options] PATH
      Print a variable: its metadata and items.
  list [options] [PREFIX]
      List variables whose path starts with PREFIX (metadata only, no items).
  purge [options] PATH
      Delete a variable.

Paths: letters, digits, "-", "_", "~" and "/", at most 128 bytes; under
"nomad/" only "nomad/jobs/..." and "nomad/job-templates/NAME". Items: at most
64 KiB of keys and values. Variables from files in the agent's variables dir
are read-only here (change the file). Values are stored 0600 in the agent's
data dir and never logged.`;

const SUBCOMMANDS = ['put', 'get', 'list', 'purge'] as const;
type Sub = (typeof SUBCOMMANDS)[number];
/** Flags each subcommand takes, besides -address, -token, -out, -json. */
const OWN: Record<Sub, string[]> = { put: ['check-index', 'force', 'in'], get: ['item'], list: [], purge: ['check-index'] };

type Out = 'table' | 'json' | 'none';

function outOf(f: ParsedFlags['flags'], io: CommandIO, fallback: Out): Out {
  if (f.json) return 'json';
  const o = f.out as string | undefined;
  if (o === undefined) return fallback;
  if (o !== 'table' && o !== 'json' && o !== 'none') throw new UsageError(`flag -out: expected table, json or none, got "${o}"`);
  return o;
}

async function readStdin(io: CommandIO): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of io.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

async function readArgFile(io: CommandIO, ref: string): Promise<string> {
  const file = path.resolve(io.cwd, ref);
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new TendError('E_BAD_REQUEST', `failed to read ${file}: ${describeError(err)}`);
  }
}

/** Nomad's JSON of a variable (`nomad var get -out json`): capitalised keys, nanosecond times, namespace "default". */
export function nomadJson(v: Variable | VariableMetadata | (Variable | VariableMetadata)[]): string {
  // Nanoseconds do not fit a double exactly: written as integers through a marker no value can hold.
  const nonce = randomUUID();
  const ns = (ms: number) => `${nonce}:${BigInt(Math.round(ms)) * 1_000_000n}`;
  const one = (x: Variable | VariableMetadata) => ({
    Namespace: 'default',
    Path: x.path,
    CreateIndex: x.createIndex,
    ModifyIndex: x.modifyIndex,
    CreateTime: ns(x.createTime),
    ModifyTime: ns(x.modifyTime),
    ...('items' in x ? { Items: x.items } : {}),
  });
  const text = JSON.stringify(Array.isArray(v) ? v.map(one) : one(v), null, 2);
  return text.replace(new RegExp(`"${nonce}:(\\d+)"`, 'g'), '$1') + '\n';
}

function sourceOf(m: VariableMetadata): string {
  return m.file ? `${m.file} (read-only)` : 'tendctl var put';
}

export function variableTable(v: Variable): string {
  const head = formatKeyValues([
    ['Path', v.path],
    ['Create Time', new Date(v.createTime).toISOString()],
    ['Check Index', String(v.modifyIndex)],
    ['Source', sourceOf(v)],
  ]);
  const items = Object.entries(v.items).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${head}\nItems\n${formatKeyValues(items)}`;
}

export function listTable(list: VariableMetadata[]): string {
  if (!list.length) return 'No variables found\n';
  return formatTable(['Path', 'Last Updated', 'Source'], list.map((m) => [m.path, new Date(m.modifyTime).toISOString(), m.file ? m.file : 'tendctl var put']));
}

interface PutInput {
  path: string;
  items: VariableItems;
  cas?: number;
}

/** `put`'s arguments, Nomad's way: [PATH] [@SPEC | -] [KEY=VALUE…]. */
export async function putInput(args: string[], f: ParsedFlags['flags'], given: Set<string>, io: CommandIO): Promise<PutInput> {
  let varPath: string | undefined;
  let specRef: string | undefined;
  const pairs: [string, string][] = [];
  for (const a of args) {
    const eq = a.indexOf('=');
    if (eq > 0) pairs.push([a.slice(0, eq), a.slice(eq + 1)]);
    else if (eq === 0) throw new UsageError(`expected KEY=VALUE, got "${a}": the key is empty`);
    else if (a === '-' || a.startsWith('@')) {
      if (specRef !== undefined) throw new UsageError(`expected one specification, got "${specRef}" and "${a}"`);
      specRef = a;
    } else if (varPath === undefined && specRef === undefined && !pairs.length) varPath = a;
    else throw new UsageError(`unexpected argument "${a}": expected KEY=VALUE`);
  }
  const inFlag = f.in as string | undefined;
  if (inFlag !== undefined && inFlag !== 'json' && inFlag !== 'hcl') throw new UsageError(`flag -in: expected json or hcl, got "${inFlag}"`);
  let stdinUsers = pairs.filter(([, v]) => v === '-').length + (specRef === '-' ? 1 : 0);
  // `-in json` with no @SPEC and nothing else on stdin: the specification comes on stdin (`var put -in json PATH < spec.json`).
  if (specRef === undefined && given.has('in') && stdinUsers === 0) {
    specRef = '-';
    stdinUsers = 1;
  }
  if (stdinUsers > 1) throw new UsageError('stdin can feed only one of the specification and the item values');

  let spec: VarSpec | undefined;
  if (specRef !== undefined) {
    const fromStdin = specRef === '-';
    const text = fromStdin ? await readStdin(io) : await readArgFile(io, specRef.slice(1));
    // As Nomad: a file's extension decides, else -in (default json).
    const format: SpecFormat = (fromStdin ? undefined : specFormatOf(specRef)) ?? (inFlag as SpecFormat | undefined) ?? 'json';
    spec = await parseVarSpec(text, format, fromStdin ? 'stdin' : path.resolve(io.cwd, specRef.slice(1)));
  }
  const items: VariableItems = { ...(spec?.items ?? {}) };
  for (const [k, v] of pairs) {
    const value = v === '-' ? await readStdin(io) : v.startsWith('@') ? await readArgFile(io, v.slice(1)) : v;
    Object.defineProperty(items, k, { value, enumerable: true, writable: true, configurable: true });
  }
  const p = varPath ?? spec?.path;
  if (p === undefined) throw new UsageError('expected a PATH, or a specification (@FILE or -) that names one');
  if (!Object.keys(items).length) throw new UsageError('expected items: KEY=VALUE arguments or a specification (@FILE or -)');
  let cas: number | undefined;
  if (given.has('check-index')) {
    const n = f['check-index'] as number;
    if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`flag -check-index: expected a whole number >= 0, got ${n}`);
    cas = n;
  } else if (!f.force && spec?.modifyIndex !== undefined) cas = spec.modifyIndex;
  return { path: p, items, ...(cas !== undefined ? { cas } : {}) };
}

async function run(sub: Sub, args: string[], parsed: ParsedFlags, client: TendClient, io: CommandIO): Promise<number> {
  const f = parsed.flags;
  const interactive = io.stdout.isTTY === true;
  switch (sub) {
    case 'put': {
      const out = outOf(f, io, 'none');
      const input = await putInput(args, f, parsed.given, io);
      const v = await client.varPut(input.path, input.items, input.cas === undefined ? {} : { cas: input.cas });
      if (out === 'json') await writeOut(io.stdout, nomadJson(v));
      else if (out === 'table') await writeOut(io.stdout, `Successfully ${v.createIndex === v.modifyIndex ? 'created' : 'updated'} variable "${v.path}"!\n\n${variableTable(v)}`);
      else await writeOut(io.stdout, `${v.createIndex === v.modifyIndex ? 'Created' : 'Updated'} variable "${v.path}" with modify index ${v.modifyIndex}\n`);
      return 0;
    }
    case 'get': {
      if (args.length !== 1) throw new UsageError(`expected one PATH, got ${args.length} arguments`);
      const v = await client.varGet(args[0]);
      const item = f.item as string | undefined;
      if (item !== undefined) {
        if (!Object.prototype.hasOwnProperty.call(v.items, item)) throw new TendError('E_VAR_NOT_FOUND', `variable ${v.path} has no item "${item}"`);
        await writeOut(io.stdout, v.items[item]);
        return 0;
      }
      const out = outOf(f, io, interactive ? 'table' : 'json');
      if (out === 'json') await writeOut(io.stdout, nomadJson(v));
      else if (out === 'table') await writeOut(io.stdout, variableTable(v));
      return 0;
    }
    case 'list': {
      if (args.length > 1) throw new UsageError(`expected at most one PREFIX, got ${args.length} arguments`);
      const list = await client.varList(args[0] ?? '');
      const out = outOf(f, io, interactive ? 'table' : 'json');
      if (out === 'json') await writeOut(io.stdout, nomadJson(list));
      else if (out === 'table') await writeOut(io.stdout, listTable(list));
      return 0;
    }
    case 'purge': {
      if (args.length !== 1) throw new UsageError(`expected one PATH, got ${args.length} arguments`);
      let cas: number | undefined;
      if (parsed.given.has('check-index')) {
        cas = f['check-index'] as number;
        if (!Number.isSafeInteger(cas) || cas < 0) throw new UsageError(`flag -check-index: expected a whole number >= 0, got ${cas}`);
      }
      await client.varPurge(args[0], cas === undefined ? {} : { cas });
      await writeOut(io.stdout, `Successfully purged variable "${args[0]}"!\n`);
      return 0;
    }
  }
}

const examples: Example[] = [
  { command: "tendctl var put nomad/jobs/web db_password=s3cret", what: "a variable web's templates can read" },
  { command: "tendctl var get -item db_password nomad/jobs/web", what: "one item, without a newline" },
  { command: "tendctl var list nomad/jobs", what: "the variables under a prefix" },
];

export const varCommand: Command = {
  name: 'var',
  summary: 'Nomad variables for templates: put, get, list, purge',
  help: () => formatHelp(usage, description, flags, examples),
  usage,
  description,
  flags,
  examples,
  args: { subcommands: { put: {}, get: {}, list: {}, purge: {} } },
  async run(argv: string[], io: CommandIO): Promise<number> {
    const parsed = parseFlags(argv, flags);
    const [sub, ...args] = [...parsed.args, ...parsed.rest];
    if (!sub) throw new UsageError(`expected a subcommand: ${SUBCOMMANDS.join(', ')}`);
    if (!(SUBCOMMANDS as readonly string[]).includes(sub)) throw new UsageError(`unknown subcommand "${sub}": expected ${SUBCOMMANDS.join(', ')}`);
    for (const g of parsed.given) {
      if (['check-index', 'force', 'in', 'item'].includes(g) && !OWN[sub as Sub].includes(g)) throw new UsageError(`flag -${g} does not apply to "var ${sub}"`);
    }
    const client = clientFromFlags(parsed.flags, io);
    try {
      return await run(sub as Sub, args, parsed, client, io);
    } finally {
      client.close();
    }
  },
};
