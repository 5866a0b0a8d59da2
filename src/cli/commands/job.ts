/**
 * `tendctl job dispatch [-meta K=V]… JOB [PAYLOAD_FILE | -]`: run a child of a parameterized job
 * (Nomad's `job dispatch`); `tendctl job periodic force JOB`: launch a child of a periodic job now
 * (Nomad's `job periodic force`).
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { Command, CommandIO } from '../command.js';
import { formatHelp, helpFlag, parseFlags, UsageError, type Example, type FlagSpec } from '../flags.js';
import { clientFromFlags, connectionFlags } from '../../api/client-flags.js';
import { jsonFlag, writeJson, writeOut } from '../format/output.js';
import { MAX_PAYLOAD_BYTES } from '../../reconcile/dispatch.js';
import { TendError, describeError } from '../../errors.js';

const metaFlag: FlagSpec = { names: ['meta'], kind: 'list', value: 'KEY=VALUE', help: 'Meta for the dispatched child (repeatable); reaches its tasks as NOMAD_META_<KEY>. dispatch only.' };
const flags: FlagSpec[] = [metaFlag, jsonFlag, ...connectionFlags, helpFlag];

const usage = `tendctl job dispatch [options] JOB [PAYLOAD_FILE | -]
       tendctl job periodic force [options] JOB`;
const description = `
Job subcommands.

  dispatch JOB [PAYLOAD_FILE | -]
                       Run a child of the parameterized job JOB
                       (<JOB>/dispatch-<unix time>-<8 hex>) with the given meta
                       (-meta KEY=VALUE, repeatable) and payload (read from
                       PAYLOAD_FILE, or from stdin with "-"; at most 16 KiB, as
                       Nomad). The payload is written to local/<file> of every
                       task with a dispatch_payload { file } block; meta is
                       merged over the job's meta. As Nomad, the job's
                       parameterized block decides: payload = "required" refuses
                       a dispatch without one, "forbidden" one with; every
                       meta_required key must be given, and no key outside
                       meta_required and meta_optional. Prints the child's id.

  periodic force JOB   Launch a child run of the periodic job JOB now
                       (<JOB>/periodic-<unix time>), as if its schedule were due.
                       As Nomad's, a forced launch ignores prohibit_overlap; a job
                       with enabled = false cannot be forced.`;

/** `-meta K=V` values as a map (the last of a repeated key wins, as Nomad's CLI). */
export function parseMeta(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError(`-meta: expected KEY=VALUE, got ${JSON.stringify(v)}`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/** Reads a payload of at most MAX_PAYLOAD_BYTES (one more byte read proves it too large). */
async function readPayload(source: string, io: CommandIO): Promise<Buffer> {
  const what = source === '-' ? 'stdin' : source;
  const stream = source === '-' ? io.stdin : createReadStream(path.resolve(io.cwd, source));
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      size += b.length;
      if (size > MAX_PAYLOAD_BYTES) {
        throw new TendError('E_BAD_REQUEST', `failed to read the payload from ${what}: expected at most ${MAX_PAYLOAD_BYTES} bytes (16 KiB, as Nomad), got more`);
      }
      chunks.push(b);
    }
  } catch (err) {
    if (err instanceof TendError) throw err;
    throw new TendError('E_BAD_REQUEST', `failed to read the payload from ${what}: ${describeError(err)}`, { cause: err });
  } finally {
    if (source !== '-') (stream as ReturnType<typeof createReadStream>).destroy();
  }
  return Buffer.concat(chunks);
}

const examples: Example[] = [
  { command: "tendctl job dispatch -meta customer=acme backup payload.json", what: "run a child of the parameterized job backup" },
  { command: "tendctl job periodic force nightly", what: "run the periodic job nightly now" },
];

export const jobCommand: Command = {
  name: 'job',
  summary: 'Job subcommands: dispatch, periodic force',
  help: () => formatHelp(usage, description, flags, examples),
  usage,
  description,
  flags,
  examples,
  args: { subcommands: { dispatch: { positional: ['job', 'path'] }, periodic: { subcommands: { force: { positional: ['job'] } } } } },
  async run(argv: string[], io: CommandIO): Promise<number> {
    const { flags: f, args, given } = parseFlags(argv, flags);
    const [group, ...after] = args;
    if (group === 'dispatch') {
      if (after.length < 1 || after.length > 2) throw new UsageError(`expected "dispatch JOB [PAYLOAD_FILE | -]", got ${after.length} arguments`);
      const meta = parseMeta(f.meta as string[]);
      const payload = after[1] !== undefined ? await readPayload(after[1], io) : undefined;
      const client = clientFromFlags(f, io);
      try {
        const r = await client.dispatchJob(after[0], { meta, ...(payload?.length ? { payload: payload.toString('base64') } : {}) });
        if (f.json) await writeJson(io, r);
        else await writeOut(io.stdout, `Dispatched Job ID = ${r.child}\n`);
        return 0;
      } finally {
        client.close();
      }
    }
    const [verb, ...rest] = after;
    if (group !== 'periodic' || verb !== 'force') {
      throw new UsageError(`expected "dispatch JOB" or "periodic force JOB", got ${args.length ? `"${args.slice(0, 2).join(' ')}"` : 'no subcommand'}`);
    }
    if (given.has('meta')) throw new UsageError('-meta: only for dispatch');
    if (rest.length !== 1) throw new UsageError(`expected one JOB, got ${rest.length} arguments`);
    const client = clientFromFlags(f, io);
    try {
      const r = await client.forcePeriodic(rest[0]);
      if (f.json) await writeJson(io, r);
      else await writeOut(io.stdout, `Launched ${r.child}\n`);
      return 0;
    } finally {
      client.close();
    }
  },
};
