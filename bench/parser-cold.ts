/**
 * What releasing the idle HCL parser costs the next file (src/jobspec/hcl-parser.ts).
 *
 * Host mode (default): a parser host in this process, on the bundle's
 * parser (dist/, `npm run build` first). Cold: a new host, its first parse
 * (start the process or worker, load the wasm, parse a job); then warm
 * parses of the same job. `--parser FILE --entry FILE` measure another
 * host (a copy of an older tend: its hcl-parser.ts and its dist entry), so
 * worker thread and child process are compared on one machine.
 *
 * Agent mode (`--agent`): a real agent (the bundle); one job file at a time
 * lands in its jobs dir, timed to the `Started` event, first right after
 * the previous one (parser warm), then after more than the parser's idle
 * time (parser released: the file pays its start).
 *
 *   node --import tsx bench/parser-cold.ts [--samples 10] [--parser src/jobspec/hcl-parser.ts --entry dist/hcl-child.js]
 *   node --import tsx bench/parser-cold.ts --agent [--samples 5] [--idle-wait 35]
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { createClient } from '../src/api/client.js';
import { createHarness, job } from '../test/e2e/agent/harness.js';
import { waitFor } from '../test/helpers/wait.js';
import { fmt, summary } from './agent-common.js';

const { values: opt } = parseArgs({
  options: {
    samples: { type: 'string', default: '10' },
    parser: { type: 'string' },
    entry: { type: 'string' },
    agent: { type: 'boolean', default: false },
    'idle-wait': { type: 'string', default: '35' },
  },
});
const SAMPLES = Number(opt.samples);
const root = path.resolve(import.meta.dirname, '..');
const text = readFileSync(path.join(root, 'examples/hello.hcl'), 'utf8');
const row = (what: string, xs: number[]) => {
  const s = summary(xs);
  return `| ${what} (n=${xs.length}) | ${fmt(s.median)} | ${fmt(Math.min(...xs))} | ${fmt(s.max)} |`;
};
console.log(`parser-cold, ${new Date().toISOString()}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
console.log('| what | median ms | min ms | max ms |\n|---|---:|---:|---:|');

if (!opt.agent) {
  const parserFile = path.resolve(opt.parser ?? path.join(root, 'src/jobspec/hcl-parser.ts'));
  const entry = pathToFileURL(path.resolve(opt.entry ?? path.join(root, 'dist/hcl-child.js')));
  const { HclParser } = (await import(pathToFileURL(parserFile).href)) as typeof import('../src/jobspec/hcl-parser.js');
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const p = new HclParser({ entry, idleMs: 0 });
    const t0 = performance.now();
    await p.parse('hello.hcl', text);
    cold.push(performance.now() - t0);
    for (let k = 0; k < 20; k++) {
      const t = performance.now();
      await p.parse('hello.hcl', text);
      warm.push(performance.now() - t);
    }
    await p.close();
  }
  console.log(row(`cold: a new host's first parse (${path.basename(entry.pathname)})`, cold));
  console.log(row('warm: the parses after it', warm));
} else {
  const h = await createHarness();
  try {
    await h.start(['-log-level', 'warn']);
    const client = createClient({ address: h.socket });
    const stop = new AbortController();
    const startedAt = new Map<string, number>();
    let open = false;
    const follow = (async () => {
      for await (const e of client.followEvents({}, { signal: stop.signal, onOpen: () => (open = true) })) {
        if (e.type === 'Started' && e.job && !startedAt.has(e.job)) startedAt.set(e.job, performance.now());
      }
    })().catch(() => undefined);
    await waitFor(() => open, { what: 'the event stream' });
    const land = async (id: string) => {
      const t0 = performance.now();
      await h.writeJob(`${id}.hcl`, job(id));
      await waitFor(() => startedAt.has(id), { what: `${id} started`, timeoutMs: 30_000, intervalMs: 1 });
      return startedAt.get(id)! - t0;
    };
    const warm: number[] = [];
    const cold: number[] = [];
    await land('first');
    for (let i = 0; i < SAMPLES; i++) {
      await sleep(300);
      warm.push(await land(`w${i}`));
    }
    for (let i = 0; i < SAMPLES; i++) {
      await sleep(Number(opt['idle-wait']) * 1000);
      cold.push(await land(`c${i}`));
    }
    stop.abort();
    await follow;
    client.close();
    console.log(row('agent: file → Started, parser warm (300 ms after the previous file)', warm));
    console.log(row(`agent: file → Started, parser released (${opt['idle-wait']} s after the previous file)`, cold));
  } finally {
    await h.cleanup();
  }
}
