/**
 * `service`, `check`, `check_restart` at load: the model (defaults, check_restart merged from the
 * service, on_update inherited) and Nomad's validation, each error at its file:line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadText } from '../../../src/jobspec/load.js';

const job = (group: string, task = '', tasks = 1) => `job "shop" {
  group "web" {
    network {
      port "http" {}
    }
${group}
${Array.from({ length: tasks }, (_, i) => `    task "t${i}" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
${i === 0 ? task : ''}
    }`).join('\n')}
  }
}
`;

async function load(src: string) {
  const r = await loadText('/jobs/shop.hcl', src);
  return { r, errors: r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}: ${d.message}`), warnings: r.diagnostics.filter((d) => d.severity === 'warning').map((d) => d.message) };
}

test('services at load: the model with Nomad\'s defaults, check_restart merged (the check\'s fields win), on_update inherited', async () => {
  const { r, errors } = await load(job(`    service {
      name     = "api"
      port     = "http"
      provider = "nomad"
      tags     = ["a", "b"]
      on_update = "ignore_warnings"
      meta {
        version = "2"
      }
      check_restart {
        limit = 3
        grace = "30s"
        ignore_warnings = true
      }
      check {
        type     = "http"
        path     = "/health"
        method   = "post"
        interval = "10s"
        timeout  = "2s"
        header {
          Authorization = ["Basic x"]
        }
        check_restart {
          limit = 5
        }
      }
      check {
        name     = "tcp"
        type     = "tcp"
        port     = "http"
        interval = "1m"
        timeout  = "1s"
        initial_status = "passing"
        failures_before_critical = 2
      }
    }`));
  assert.deepEqual(errors, []);
  const s = r.jobs[0].groups[0].services![0];
  assert.equal(s.name, 'api');
  assert.deepEqual(s.meta, { version: '2' });
  const [http, tcp] = s.checks;
  assert.deepEqual(
    { type: http.type, path: http.path, method: http.method, intervalMs: http.intervalMs, timeoutMs: http.timeoutMs, headers: http.headers, onUpdate: http.onUpdate, restart: http.checkRestart, task: http.task },
    { type: 'http', path: '/health', method: 'POST', intervalMs: 10_000, timeoutMs: 2000, headers: { Authorization: ['Basic x'] }, onUpdate: 'ignore_warnings', restart: { limit: 5, graceMs: 30_000, ignoreWarnings: true }, task: 't0' },
  );
  assert.deepEqual([tcp.initialStatus, tcp.failuresBeforeCritical, tcp.checkRestart?.limit], ['passing', 2, 3]);
});

test('services at load: an unnamed task service is ${BASE}, a group one ${JOB}-${TASKGROUP}; provider consul (the default) warns', async () => {
  const { r, warnings } = await load(job('    service {\n      port = "http"\n    }', '      service {\n        provider = "consul"\n      }'));
  assert.equal(r.jobs[0].groups[0].services![0].name, '${JOB}-${TASKGROUP}');
  assert.equal(r.jobs[0].groups[0].tasks[0].services![0].name, '${BASE}');
  assert.equal(warnings.filter((w) => /provider "consul"/.test(w)).length, 2);
  assert.ok(warnings.some((w) => w.includes("(Nomad's default)")));
});

test('services at load: Nomad\'s validation errors, each at its line', async () => {
  const { errors } = await load(job(`    service {
      name = "api_v1"
      port = "htp"
      check {
        type     = "httpx"
        interval = "10s"
        timeout  = "1s"
      }
      check {
        name     = "h"
        type     = "http"
        interval = "500ms"
        timeout  = "1s"
      }
      check {
        name     = "s"
        type     = "script"
        command  = "/bin/check"
        interval = "10s"
        timeout  = "1s"
        success_before_passing = 2
      }
      check {
        name      = "r"
        type      = "tcp"
        interval  = "10s"
        timeout   = "1s"
        on_update = "ignore"
        check_restart {
          limit = 1
        }
      }
    }`, '', 2));
  assert.deepEqual(errors, [
    '7: expected a service name valid per RFC 1123 (letters, digits and "-", at most 63 characters, not starting or ending with "-"), got "api_v1"',
    '8: port label "htp" names no port of this allocation (it has "http")',
    '10: expected check type "http", "tcp", "script" or "grpc", got "httpx"',
    '14: missing required field "path" in an http check (the URL path the check asks for, e.g. "/health")',
    '17: expected interval of at least 1s, got 500ms',
    "20: expected task in a group service's script check (or in its service): the task the script runs in",
    '26: success_before_passing is not supported for a check of type "script" (only http, tcp and grpc)',
    "28: expected task in a group service's check with check_restart (or in its service): the task to restart",
    '34: on_update = "ignore" is not compatible with check_restart',
  ]);
});

test('services at load: a check needs a port from itself or its service; timeout is required; a task service cannot name another task', async () => {
  const { errors } = await load(job('', `      service {
        name = "x"
        task = "t1"
        check {
          type     = "tcp"
          interval = "10s"
        }
      }`, 2));
  assert.deepEqual(errors.map((e) => e.replace(/^\d+: /, '')), [
    'expected no task in a task\'s service (it belongs to task "t0"), got "t1"',
    'missing required field "timeout" in check: expected a duration of at least 1s, e.g. "10s"',
    'check needs a port: neither the check nor service "x" has one (a tcp check asks a port)',
  ]);
});
