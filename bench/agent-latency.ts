/**
 * File-land → task-running latency: 200 job files dropped one at a time into
 * a running agent's jobs dir (plain executor, raw_exec `sh -c 'exec sleep'`),
 * each timed from the rename into the dir until (a) the agent's event stream
 * says `Started` (what `tendctl` sees) and (b) the store file on disk records
 * the task running (its writes are spaced under load: durability, not
 * reaction). Floor: a bare detached spawn of the same command.
 *
 *   node --import tsx bench/agent-latency.ts [N]
 */
import { createHarness, job, running } from '../test/e2e/agent/harness.js';
import { waitFor } from '../test/helpers/wait.js';
import { bareSpawn, fmt, killAll, summary } from './agent-common.js';
import { createClient } from '../src/api/client.js';

const N = Number(process.argv[2] ?? 200);

const floor: number[] = [];
const pids: number[] = [];
for (let i = 0; i < N; i++) {
  const t0 = performance.now();
  pids.push(await bareSpawn());
  floor.push(performance.now() - t0);
}
killAll(pids);

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
  const lat: number[] = [];
  const ev: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await h.writeJob(`j${i}.hcl`, job(`j${i}`));
    await waitFor(() => Boolean(running(h, `j${i}/g[0]/t`)), { what: `j${i} running`, timeoutMs: 30_000, intervalMs: 2 });
    lat.push(performance.now() - t0);
    await waitFor(() => startedAt.has(`j${i}`), { what: `j${i} started event`, timeoutMs: 30_000, intervalMs: 2 });
    ev.push(startedAt.get(`j${i}`)! - t0);
  }
  stop.abort();
  await follow;
  client.close();
  const f = summary(floor);
  const a = summary(lat);
  const e = summary(ev);
  console.log(`| what | median ms | p99 ms | max ms |\n|---|---:|---:|---:|`);
  console.log(`| floor: bare detached spawn of \`sh -c 'exec sleep 1000'\` (n=${N}) | ${fmt(f.median)} | ${fmt(f.p99)} | ${fmt(f.max)} |`);
  console.log(`| tend: file renamed into jobs dir → Started event (n=${N}) | ${fmt(e.median)} | ${fmt(e.p99)} | ${fmt(e.max)} |`);
  console.log(`| tend: file renamed into jobs dir → store file says running (n=${N}) | ${fmt(a.median)} | ${fmt(a.p99)} | ${fmt(a.max)} |`);
} finally {
  await h.cleanup();
}
