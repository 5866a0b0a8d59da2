/**
 * Services and checks through a real agent (`bin/tend.js agent` as a subprocess) with a real HTTP
 * server on 127.0.0.1 (`client { network_interface = "lo" }`): a node one-liner on
 * ${NOMAD_PORT_http} whose answer the test steers through a file in the allocation dir ("fail":
 * 500, "close": stop listening). For both executors — plain (raw_exec) and oci (exec):
 *  - a group service with an http check (check_restart, limit 3) and a tcp check, and a task
 *    service with a script check run inside the task, all passing, in `tendctl services`, the API
 *    and `tendctl status JOB/TASK`;
 *  - the server answering 500: the http check critical with the answer as its output, a "Health
 *    Check" event, then check_restart restarting the task through its restart policy;
 *  - the server no longer listening: the tcp check critical (connection refused);
 *  - the script failing: its check critical;
 *  - metrics; after the agent is killed and started again, the adopted task registers again.
 * And a template with `nomadService` re-rendering when an instance registers (plain only).
 * Run alone: CI=true TEND_SKIP_TYPECHECK=1 node scripts/test.mjs test/e2e/agent/services.test.ts
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from '../../helpers/wait.js';
import { requireConmon, requireLinux, requireRoot, requireRunc } from '../../helpers/gates.js';
import { createHarness, type Harness } from './harness.js';
import type { ServiceInstanceView, ServiceSummaryView } from '../../../src/services/services.js';

const T = 30_000;
const NODE = '/usr/bin/node';

/** The server: its health file says how to answer ("fail": 500; "close": not listening; else 200). */
const SERVER = [
  "const fs = require('fs'), http = require('http'), e = process.env, f = e.NOMAD_ALLOC_DIR + '/health';",
  "const mode = () => { try { return fs.readFileSync(f, 'utf8').trim(); } catch { return ''; } };",
  "const s = http.createServer((q, r) => { const m = mode(); r.statusCode = m === 'fail' ? 500 : 200; r.end(m || 'ok'); });",
  "let on = false; s.on('error', () => { on = false; });",
  'const up = () => { if (!on) { on = true; s.listen(Number(e.NOMAD_PORT_http), e.NOMAD_IP_http); } };',
  "setInterval(() => { const m = mode(); if (m === 'close' && on) { on = false; s.close(); } else if (m !== 'close') up(); }, 100);",
  "up(); for (const g of ['SIGINT', 'SIGTERM']) process.on(g, () => process.exit(0));",
].join(' ');

function webJob(driver: 'raw_exec' | 'exec'): string {
  return `job "web" {
  group "g" {
    network {
      port "http" {}
    }
    service {
      name     = "\${JOB}-api"
      port     = "http"
      provider = "nomad"
      tags     = ["v1", "i\${NOMAD_ALLOC_INDEX}"]
      check {
        name     = "http"
        type     = "http"
        path     = "/health"
        interval = "1s"
        timeout  = "1s"
        check_restart {
          limit = 3
          grace = "2s"
        }
      }
      check {
        name     = "tcp"
        type     = "tcp"
        interval = "1s"
        timeout  = "1s"
      }
    }
    task "t" {
      driver = "${driver}"
      config {
        command = "${NODE}"
        args    = ["-e", ${JSON.stringify(SERVER)}]
      }
      service {
        name     = "web-script"
        provider = "nomad"
        check {
          name     = "script"
          type     = "script"
          command  = "/bin/sh"
          args     = ["-c", "echo checked; test ! -e \${NOMAD_ALLOC_DIR}/script-fail || exit 2"]
          interval = "1s"
          timeout  = "5s"
        }
      }
      restart {
        attempts = 5
        delay    = "1s"
        interval = "10m"
        mode     = "fail"
      }
      kill_signal  = "SIGTERM"
      kill_timeout = "2s"
      resources {
        cpu    = 100
        memory = 256
      }
    }
  }
}
`;
}

function dump(h: Harness): string {
  const recs = Object.values(h.records()).map((r) => `${r.id} ${r.state} restarts=${r.restarts} ${r.error ?? ''}\n  ${r.events.map((e) => `${e.type}: ${e.message}`).join('\n  ')}`);
  return `records:\n${recs.join('\n')}\nlog tail:\n${h.agentLog().split('\n').slice(-25).join('\n')}`;
}

async function until(h: Harness, fn: () => boolean | Promise<boolean>, what: string, timeoutMs = T): Promise<void> {
  await waitFor(fn, { timeoutMs, intervalMs: 100, what }).catch((e: Error) => assert.fail(`${e.message}\n${dump(h)}`));
}

async function api<V>(h: Harness, p: string): Promise<V | undefined> {
  const { request } = await import('node:http');
  return new Promise((resolve) => {
    const req = request({ socketPath: h.socket, path: p }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 ? (JSON.parse(body) as V) : undefined));
    });
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

const instances = (h: Harness, name: string) => api<ServiceInstanceView[]>(h, `/v1/service/${name}`);
async function checkOf(h: Harness, service: string, check: string) {
  return (await instances(h, service))?.[0]?.checks.find((c) => c.name === check);
}
async function checkIs(h: Harness, service: string, check: string, status: string, output?: RegExp): Promise<boolean> {
  const c = await checkOf(h, service, check);
  return c?.status === status && (!output || output.test(c.output ?? ''));
}

async function harness(t: TestContext, executor: 'plain' | 'oci'): Promise<Harness> {
  const h = await createHarness({ executor, config: 'client {\n  network_interface = "lo"\n}\n' });
  t.after(() => h.cleanup());
  await h.start();
  return h;
}

async function scenario(h: Harness, driver: 'raw_exec' | 'exec'): Promise<void> {
  const id = 'web/g[0]/t';
  await h.writeJob('web.hcl', webJob(driver));
  await until(h, async () => (await checkIs(h, 'web-api', 'http', 'passing')) && (await checkIs(h, 'web-api', 'tcp', 'passing')) && (await checkIs(h, 'web-script', 'script', 'passing')), 'every check passing');
  const rec = h.records()[id];
  const allocDir = path.join(h.stateDir, 'alloc', rec.allocId, 'alloc');
  const health = path.join(allocDir, 'health');
  const [inst] = (await instances(h, 'web-api'))!;
  const port = inst.port;
  assert.ok(port >= 20000 && port <= 32000, `the service advertises the allocated port, got ${port}`);
  assert.deepEqual([inst.address, inst.tags, inst.job, inst.task], ['127.0.0.1', ['v1', 'i0'], 'web', undefined]);
  assert.equal((await checkOf(h, 'web-api', 'http'))!.output, `HTTP GET http://127.0.0.1:${port}/health: 200 OK Output: ok`);
  assert.equal((await checkOf(h, 'web-script', 'script'))!.output, 'checked\n', 'the script ran inside the task, with its output');

  // The CLI: the catalog, one service, the task's checks.
  const list = await h.tendctl(['services', '-no-color']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^SERVICE NAME\s+TAGS\s+INSTANCES\s+HEALTH\s+JOBS$/m);
  assert.match(list.stdout, /^web-api\s+\[i0,v1\]\s+1\s+1 passing\s+web$/m);
  assert.match(list.stdout, /^web-script\s+\[\]\s+1\s+1 passing\s+web$/m);
  const info = await h.tendctl(['services', 'web-api', '-no-color']);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, new RegExp(`^web\\s+g\\[0\\]\\s+\\(group\\)\\s+127\\.0\\.0\\.1:${port}\\s+\\[v1,i0\\]\\s+passing\\s+${rec.allocId.slice(0, 8)}$`, 'm'));
  assert.match(info.stdout, /^\s+passing\s+http\s+http\s+t \(group\)\s+\S+.*HTTP GET/m);
  const missing = await h.tendctl(['services', 'nope']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /service "nope" not found/);
  const status = await h.tendctl(['status', id, '-no-color']);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /^Checks$/m);
  assert.match(status.stdout, /^\s+passing\s+script\s+script\s+web-script\s+t\s+/m);
  assert.match(status.stdout, /^\s+http \(passing\): every 1s, timeout 1s, restart after 3 unhealthy \(grace 2s\)$/m);
  const jobStatus = await h.tendctl(['status', 'web', '-no-color']);
  assert.match(jobStatus.stdout, /^\s+passing\s+tcp\s+tcp\s+web-api\s+t \(group\)\s+/m);

  // The server answers 500: the http check goes critical with the answer, then check_restart restarts the task.
  await writeFile(health, 'fail');
  await until(h, () => checkIs(h, 'web-api', 'http', 'critical', new RegExp(`^HTTP GET http://127\\.0\\.0\\.1:${port}/health: 500 Internal Server Error Output: fail$`)), 'http check critical');
  assert.ok(await checkIs(h, 'web-api', 'tcp', 'passing'), 'the tcp check still connects');
  await until(h, () => h.records()[id]?.events.some((e) => e.type === 'Restart Signaled' && e.message === 'healthcheck: check "http" unhealthy') ?? false, 'check_restart restarting the task');
  await writeFile(health, '');
  const events = h.records()[id].events.map((e) => `${e.type}: ${e.message}`);
  assert.ok(events.some((e) => e.startsWith(`Health Check: Health check "http" failed (critical): HTTP GET http://127.0.0.1:${port}/health: 500`)), events.join('\n'));
  await until(h, () => h.records()[id]?.state === 'running' && h.records()[id].restarts >= 1, 'restarted through the restart policy');
  assert.ok(h.records()[id].events.some((e) => e.type === 'Restarting' && /^Task restarting in/.test(e.message)), 'the policy decided');
  await until(h, () => checkIs(h, 'web-api', 'http', 'passing'), 'http check passing after the restart');
  assert.equal((await instances(h, 'web-api'))![0].port, port, 'the same port across the restart');

  // The server stops listening: the tcp check goes critical, connection refused.
  await writeFile(health, 'close');
  await until(h, () => checkIs(h, 'web-api', 'tcp', 'critical', /ECONNREFUSED/), 'tcp check critical');
  await writeFile(health, '');
  await until(h, () => checkIs(h, 'web-api', 'tcp', 'passing'), 'tcp check passing again');

  // The script fails inside the task.
  await writeFile(path.join(allocDir, 'script-fail'), '');
  await until(h, () => checkIs(h, 'web-script', 'script', 'critical', /^checked\n$/), 'script check critical');
  await rm(path.join(allocDir, 'script-fail'));
  await until(h, () => checkIs(h, 'web-script', 'script', 'passing'), 'script check passing again');

  // Metrics.
  const metrics = await new Promise<string>((resolve) => {
    void import('node:http').then(({ request }) => {
      const req = request({ socketPath: h.socket, path: '/metrics' }, (res) => {
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve(b));
      });
      req.end();
    });
  });
  assert.match(metrics, /^tend_service_registrations 2$/m);
  assert.match(metrics, /^tend_service_checks\{status="passing"\} 3$/m);
  assert.match(metrics, /^tend_service_check_restarts_total [1-9]/m);
  assert.match(metrics, /^tend_service_check_runs_total\{type="http",status="critical"\} [1-9]/m);

  // The agent dies and comes back: the task is adopted (not restarted) and registers again.
  const restarts = h.records()[id].restarts;
  await h.kill9();
  await h.start();
  await until(h, async () => (await checkIs(h, 'web-api', 'http', 'passing')) && (await checkIs(h, 'web-script', 'script', 'passing')), 'registered again after an agent restart');
  assert.equal(h.records()[id].restarts, restarts, 'adopted, not restarted');
  assert.equal((await instances(h, 'web-api'))![0].port, port);

  // Removed: deregistered.
  await rm(path.join(h.jobsDir, 'web.hcl'));
  await until(h, async () => ((await api<ServiceSummaryView[]>(h, '/v1/services')) ?? [1]).length === 0, 'services deregistered');
}

test('agent e2e services (plain, raw_exec): http, tcp and script checks pass and fail with the server; check_restart restarts through the restart policy; the CLI and API show them', { timeout: 180_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t, 'plain');
  await scenario(h, 'raw_exec');
});

test('agent e2e services (oci, exec): the same for an exec task (the script check runs inside its container)', { timeout: 180_000 }, async (t) => {
  if (!(requireRoot(t) && requireRunc(t) && requireConmon(t))) return;
  const h = await harness(t, 'oci');
  await scenario(h, 'exec');
});

test('agent e2e services (plain): a template with nomadService renders the instance once it registers and passes, and again when it goes', { timeout: 120_000 }, async (t) => {
  if (!requireLinux(t)) return;
  const h = await harness(t, 'plain');
  await h.writeJob(
    'client.hcl',
    `job "client" {
  group "g" {
    task "c" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["1000"]
      }
      template {
        data        = "{{ range nomadService \\"web-api\\" }}{{ .Address }}:{{ .Port }} {{ end }}."
        destination = "local/web.txt"
        change_mode = "noop"
        wait {
          min = "100ms"
          max = "1s"
        }
      }
      kill_timeout = "2s"
    }
  }
}
`,
  );
  const cid = 'client/g[0]/c';
  await until(h, () => h.records()[cid]?.state === 'running', 'client running');
  const file = path.join(h.stateDir, 'alloc', h.records()[cid].allocId, 'c', 'local', 'web.txt');
  assert.equal(await readFile(file, 'utf8'), '.', 'no instance yet: the template renders an empty list');
  await h.writeJob('web.hcl', webJob('raw_exec'));
  await until(h, async () => (await checkIs(h, 'web-api', 'http', 'passing')) && (await checkIs(h, 'web-api', 'tcp', 'passing')), 'web passing');
  const port = (await instances(h, 'web-api'))![0].port;
  await until(h, async () => (await readFile(file, 'utf8')) === `127.0.0.1:${port} .`, 'the template re-rendered with the instance');
  // The store file is written a little after the event (its writes are spaced): wait for it there.
  await until(h, () => h.records()[cid].events.some((e) => e.type === 'Template' && e.message === 'template[0] local/web.txt re-rendered'), 'the Template event in the store');
  await rm(path.join(h.jobsDir, 'web.hcl'));
  await until(h, async () => (await readFile(file, 'utf8')) === '.', 'the template re-rendered without it');
});
