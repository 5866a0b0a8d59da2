/**
 * Ports through a real agent (`bin/tend.js agent` as a subprocess) with real HTTP servers on
 * 127.0.0.1 (`client { network_interface = "lo" }`, so NOMAD_IP_<label> is 127.0.0.1): a node
 * one-liner listening on ${NOMAD_IP_http}:${NOMAD_PORT_http}, answering with what it was given.
 * For both executors — plain (raw_exec) and oci (exec, which shares the host's network namespace,
 * as Nomad's exec driver in host mode): the port is allocated and answered on, stays the same
 * across `tendctl restart` and an agent restart, and a second job asking for a held static port
 * waits with an error naming the holder while the holder keeps serving.
 * Run alone: CI=true TEND_SKIP_TYPECHECK=1 node scripts/test.mjs test/e2e/agent/ports.test.ts
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { waitFor } from '../../helpers/wait.js';
import { requireConmon, requireLinux, requireRoot, requireRunc } from '../../helpers/gates.js';
import { createHarness, type Harness } from './harness.js';

const T = 20_000;
const NODE = '/usr/bin/node';

/** The server: answers every request with the port variables it got and a token of its run (pid is 1 in an exec task's pid namespace). */
const SERVER = [
  "const e = process.env, run = require('crypto').randomUUID();",
  "const s = require('http').createServer((q, r) => r.end(JSON.stringify({ run, port: e.NOMAD_PORT_http, hostPort: e.NOMAD_HOST_PORT_http, allocPort: e.NOMAD_ALLOC_PORT_http, ip: e.NOMAD_IP_http, addr: e.NOMAD_ADDR_http, arg: process.argv[1] })));",
  's.listen(Number(e.NOMAD_PORT_http), e.NOMAD_IP_http);',
  "for (const g of ['SIGINT', 'SIGTERM']) process.on(g, () => process.exit(0));",
].join(' ');

/** Job `name`: one group `g` with port "http" (static when given), one task `t` running the server with `driver`. */
function serverJob(name: string, driver: 'raw_exec' | 'exec', staticPort?: number, memory = 256): string {
  return `job "${name}" {
  group "g" {
    network {
      port "http" {${staticPort ? `\n        static = ${staticPort}\n      ` : ''}}
    }
    task "t" {
      driver = "${driver}"
      config {
        command = "${NODE}"
        args    = ["-e", ${JSON.stringify(SERVER)}, "\${NOMAD_PORT_http}"]
      }
      kill_signal  = "SIGTERM"
      kill_timeout = "2s"
      resources {
        cpu    = 100
        memory = ${memory}
      }
    }
  }
}
`;
}

interface Answer {
  run: string;
  port: string;
  hostPort: string;
  allocPort: string;
  ip: string;
  addr: string;
  arg: string;
}

async function answer(port: number): Promise<Answer | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
    return (await r.json()) as Answer;
  } catch {
    return undefined;
  }
}

/** A port nothing listens on now (the kernel's ephemeral range: outside the dynamic range 20000-32000). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function dump(h: Harness): string {
  return `records: ${JSON.stringify(Object.values(h.records()).map((r) => [r.id, r.state, r.error]))}\nports: ${JSON.stringify(h.doc()?.ports)}\nlog tail:\n${h.agentLog().split('\n').slice(-30).join('\n')}`;
}

async function until(h: Harness, fn: () => boolean | Promise<boolean>, what: string, timeoutMs = T): Promise<void> {
  await waitFor(fn, { timeoutMs, intervalMs: 50, what }).catch((e: Error) => assert.fail(`${e.message}\n${dump(h)}`));
}

/** The host port of `label` the store holds for the job's allocation g[0]. */
function portOf(h: Harness, job: string, label = 'http'): number | undefined {
  const a = Object.values(h.doc()?.ports ?? {}).find((x) => x.job === job && x.index === 0);
  return a?.ports.find((p) => p.label === label)?.value;
}

const isRunning = (h: Harness, id: string) => h.records()[id]?.state === 'running';

/** Wait until the job's server answers on its port; returns the port and the answer. */
async function serving(h: Harness, job: string): Promise<{ port: number; a: Answer }> {
  let got: { port: number; a: Answer } | undefined;
  await until(h, async () => {
    const port = portOf(h, job);
    const a = port && isRunning(h, `${job}/g[0]/t`) ? await answer(port) : undefined;
    if (a && port) got = { port, a };
    return got !== undefined;
  }, `${job} serving on its port`);
  return got!;
}

async function harness(t: TestContext, executor: 'plain' | 'oci'): Promise<Harness> {
  const h = await createHarness({ executor, config: 'client {\n  network_interface = "lo"\n}\n' });
  t.after(() => h.cleanup());
  await h.start();
  return h;
}

/** What both executors must do; `tag` keeps job names apart, `stop` is how the agent goes down for its restart. */
async function scenario(h: Harness, driver: 'raw_exec' | 'exec', stop: 'kill9' | 'term'): Promise<void> {
  // A dynamic port: in Nomad's range, in the task's variables and args, answered on.
  await h.writeJob('web.hcl', serverJob('web', driver));
  const id = 'web/g[0]/t';
  const first = await serving(h, 'web');
  assert.ok(first.port >= 20000 && first.port <= 32000, `expected a port in 20000-32000, got ${first.port}`);
  assert.deepEqual({ ...first.a, run: '' }, { run: '', port: String(first.port), hostPort: String(first.port), allocPort: String(first.port), ip: '127.0.0.1', addr: `127.0.0.1:${first.port}`, arg: String(first.port) });
  const status = await h.tendctl(['status', id, '-no-color']);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, new RegExp(`^Ports\\s+= http: 127\\.0\\.0\\.1:${first.port}$`, 'm'));

  // tendctl restart: a new run, the same port.
  const r = await h.tendctl(['restart', id]);
  assert.equal(r.code, 0, r.stderr);
  let second: Answer | undefined;
  await until(h, async () => {
    second = isRunning(h, id) ? await answer(first.port) : undefined;
    return second !== undefined && second.run !== first.a.run;
  }, 'a new run on the same port');
  assert.equal(portOf(h, 'web'), first.port);
  assert.equal(h.records()[id].restarts, 1);
  const run2 = second!.run;

  // An in-place update (resources only): the same process, the same port.
  await h.writeJob('web.hcl', serverJob('web', driver, undefined, 320));
  await until(h, () => h.records()[id]?.resources.memoryMB === 320, 'memory updated in place');
  assert.equal((await answer(first.port))?.run, run2, 'updated in place, not restarted');
  assert.equal(portOf(h, 'web'), first.port);

  // The agent goes down and comes back: the task is adopted and keeps its port; a restart after that too.
  if (stop === 'kill9') await h.kill9();
  else assert.equal(await h.term(), 0);
  assert.equal((await answer(first.port))?.run, run2, 'the task keeps serving while the agent is down');
  await h.start();
  await until(h, () => isRunning(h, id), 'web adopted');
  assert.equal(portOf(h, 'web'), first.port);
  assert.equal((await answer(first.port))?.run, run2, 'adopted, not restarted');
  assert.equal((await h.tendctl(['restart', id])).code, 0);
  await until(h, async () => {
    const a = isRunning(h, id) ? await answer(first.port) : undefined;
    return a !== undefined && a.run !== run2 && a.run !== first.a.run;
  }, 'a new run after the agent restart, on the same port');
  assert.equal(portOf(h, 'web'), first.port);

  // Static port conflict: the holder keeps it and keeps serving; the newcomer (its file sorts first) waits, naming the holder.
  const P = await freePort();
  await h.writeJob('holder.hcl', serverJob('holder', driver, P));
  assert.equal(portOf(h, 'web'), first.port);
  const held = await serving(h, 'holder');
  assert.equal(held.port, P);
  await h.writeJob('a-second.hcl', serverJob('second', driver, P));
  const sid = 'second/g[0]/t';
  const reason = `waiting for ports: static port ${P} (port "http") is held by job "holder" (${path.join(h.jobsDir, 'holder.hcl')}:4, group g[0])`;
  await until(h, () => h.records()[sid]?.error === reason, 'second waiting for the port');
  assert.equal(h.records()[sid].state, 'pending');
  assert.ok(h.records()[sid].events.some((e) => e.type === 'Port Conflict' && e.message === reason));
  assert.equal((await answer(P))?.run, held.a.run, 'the holder keeps serving');
  assert.ok(isRunning(h, 'holder/g[0]/t'));
  const st = await h.tendctl(['status', '-no-color']);
  assert.match(st.stdout, new RegExp(`^\\s+second\\s+blocked\\s+\\S+a-second\\.hcl\\s+${reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  // The holder goes: the newcomer gets the port.
  await unlink(path.join(h.jobsDir, 'holder.hcl'));
  const took = await serving(h, 'second');
  assert.equal(took.port, P);
  assert.notEqual(took.a.run, held.a.run);
}

test('agent e2e ports (plain, raw_exec): allocated, answered, the same across restarts of the task and the agent; a held static port is refused naming the holder', { timeout: 150_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t, 'plain');
  await scenario(h, 'raw_exec', 'kill9');
});

test('agent e2e ports (plain): a static port bound by a process that is not a tend task waits, naming it; it starts once the port is free', { timeout: 60_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t, 'plain');
  const P = await freePort();
  const squatter = spawn(NODE, ['-e', `require('net').createServer().listen(${P}, '127.0.0.1', () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => squatter.kill('SIGKILL'));
  await new Promise<void>((r) => squatter.stdout!.once('data', () => r()));
  await h.writeJob('web.hcl', serverJob('web', 'raw_exec', P));
  const id = 'web/g[0]/t';
  await until(h, () => h.records()[id]?.error === `waiting for ports: static port ${P} (port "http") is in use on this node by pid ${squatter.pid} (node), which is not a tend task`, 'web waiting for the port');
  assert.equal(h.records()[id].state, 'pending');
  assert.equal(h.records()[id].handle, undefined);
  squatter.kill('SIGKILL');
  // Tried again every few seconds, without a file change.
  const got = await serving(h, 'web');
  assert.equal(got.port, P);
});

test('agent e2e ports (oci, exec): the same for an exec task, which shares the host network namespace', { timeout: 150_000 }, async (t) => {
  if (!(requireRoot(t) && requireRunc(t) && requireConmon(t))) return;
  const h = await harness(t, 'oci');
  await scenario(h, 'exec', 'term');
});

test('agent e2e ports (plain): a template renders the port variables ({{ env "NOMAD_PORT_http" }}) as the task gets them', { timeout: 60_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t, 'plain');
  await h.writeJob(
    'tpl.hcl',
    `job "tpl" {
  group "g" {
    network {
      port "http" {}
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo \\"env=$NOMAD_PORT_http\\" > local/env.txt; exec sleep 1000"]
      }
      template {
        data        = "addr={{ env \\"NOMAD_ADDR_http\\" }}\\n"
        destination = "local/port.txt"
      }
      kill_timeout = "2s"
    }
  }
}
`,
  );
  const id = 'tpl/g[0]/t';
  await until(h, () => isRunning(h, id) && portOf(h, 'tpl') !== undefined, 'tpl running');
  const port = portOf(h, 'tpl')!;
  const local = path.join(h.stateDir, 'alloc', h.records()[id].allocId, 't', 'local');
  const { readFile } = await import('node:fs/promises');
  await until(h, async () => (await readFile(path.join(local, 'env.txt'), 'utf8').catch(() => '')) !== '', 'the task wrote its env');
  assert.equal(await readFile(path.join(local, 'env.txt'), 'utf8'), `env=${port}\n`);
  assert.equal(await readFile(path.join(local, 'port.txt'), 'utf8'), `addr=127.0.0.1:${port}\n`);
});
