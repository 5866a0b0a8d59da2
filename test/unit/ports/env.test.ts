import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanEnvName, portEnv } from '../../../src/ports/env.js';
import type { AllocatedPort } from '../../../src/ports/ports.js';
import { loadText } from '../../../src/jobspec/load.js';
import { interpolateTask, runtimeEnv, type RuntimeContext } from '../../../src/jobspec/interpolate.js';

const port = (label: string, value: number, o: Partial<AllocatedPort> = {}): AllocatedPort => ({ label, value, to: 0, hostIp: '10.0.0.5', hostNetwork: 'default', ...o });

test('port env: a group port gives Nomad\'s seven variables; NOMAD_PORT and NOMAD_ALLOC_PORT are `to` when set', () => {
  assert.deepEqual(portEnv([port('http', 23456)], 't'), {
    NOMAD_ADDR_http: '10.0.0.5:23456',
    NOMAD_HOST_ADDR_http: '10.0.0.5:23456',
    NOMAD_IP_http: '10.0.0.5',
    NOMAD_HOST_IP_http: '10.0.0.5',
    NOMAD_PORT_http: '23456',
    NOMAD_ALLOC_PORT_http: '23456',
    NOMAD_HOST_PORT_http: '23456',
  });
  const mapped = portEnv([port('db', 23457, { to: 5432 })], 't');
  assert.equal(mapped.NOMAD_PORT_db, '5432');
  assert.equal(mapped.NOMAD_ALLOC_PORT_db, '5432');
  assert.equal(mapped.NOMAD_HOST_PORT_db, '23457');
  assert.equal(mapped.NOMAD_ADDR_db, '10.0.0.5:23457');
});

test('port env: labels with hyphens are cleaned in NOMAD_PORT_/NOMAD_ADDR_/NOMAD_IP_/NOMAD_HOST_PORT_ names only, as Nomad does', () => {
  const env = portEnv([port('dns-tcp', 8653)], 't');
  assert.deepEqual(Object.keys(env).sort(), [
    'NOMAD_ADDR_dns_tcp',
    'NOMAD_ALLOC_PORT_dns-tcp',
    'NOMAD_HOST_ADDR_dns-tcp',
    'NOMAD_HOST_IP_dns-tcp',
    'NOMAD_HOST_PORT_dns_tcp',
    'NOMAD_IP_dns_tcp',
    'NOMAD_PORT_dns_tcp',
  ]);
  assert.equal(cleanEnvName('NOMAD_PORT_a-b.c/d'), 'NOMAD_PORT_a_b.c_d');
  assert.equal(cleanEnvName('9x'), '_x');
});

test('port env: a task-level (legacy) port is its task\'s, by Nomad\'s names; its siblings get NOMAD_*_<task>_<label>', () => {
  const ports = [port('admin', 24000, { task: 'api', to: 9999 }), port('http', 23000)];
  const api = portEnv(ports, 'api');
  assert.equal(api.NOMAD_PORT_admin, '24000', 'exec and raw_exec map nothing: the host port');
  assert.equal(api.NOMAD_HOST_PORT_admin, '24000');
  assert.equal(api.NOMAD_IPv4_admin, '10.0.0.5');
  assert.equal(api.NOMAD_ADDR_admin, '10.0.0.5:24000');
  assert.equal(api.NOMAD_ALLOC_PORT_admin, undefined);
  assert.equal(api.NOMAD_PORT_http, '23000');
  const side = portEnv(ports, 'log-shipper');
  assert.equal(side.NOMAD_PORT_admin, undefined);
  assert.equal(side.NOMAD_ADDR_api_admin, '10.0.0.5:24000');
  assert.equal(side.NOMAD_IP_api_admin, '10.0.0.5');
  assert.equal(side.NOMAD_PORT_api_admin, '24000');
  const v6 = portEnv([port('http', 23000, { hostIp: 'fd00::5' }), port('x', 1, { hostIp: 'fd00::5', task: 't' })], 't');
  assert.equal(v6.NOMAD_ADDR_http, '[fd00::5]:23000');
  assert.equal(v6.NOMAD_IPv6_x, 'fd00::5');
});

test('port env: ${NOMAD_PORT_http} in args and env is the allocation\'s port; a label it does not have stays as written', async () => {
  const r = await loadText(
    'j.hcl',
    `job "j" {
  group "g" {
    network {
      port "http" {}
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/usr/bin/python3"
        args    = ["-m", "http.server", "--bind", "\${NOMAD_IP_http}", "\${NOMAD_PORT_http}"]
      }
      env {
        URL   = "http://\${NOMAD_ADDR_http}/"
        OTHER = "\${NOMAD_PORT_nope}"
      }
    }
  }
}
`,
  );
  assert.ok(r.ok, JSON.stringify(r.diagnostics));
  const job = r.jobs[0];
  const ctx: RuntimeContext = {
    job,
    group: job.groups[0],
    task: job.groups[0].tasks[0],
    index: 0,
    allocId: '11111111-2222-3333-4444-555555555555',
    allocDir: '/a',
    taskDir: '/a/t',
    ports: [port('http', 23456, { hostIp: '127.0.0.1' })],
    node: { name: 'n', id: 'i', class: '', datacenter: 'dc1', attributes: {}, meta: {} },
    env: {},
  };
  const t = interpolateTask(ctx);
  assert.deepEqual(t.config.args, ['-m', 'http.server', '--bind', '127.0.0.1', '23456']);
  assert.deepEqual(t.env, { URL: 'http://127.0.0.1:23456/', OTHER: '${NOMAD_PORT_nope}' });
  assert.equal(runtimeEnv(ctx).NOMAD_PORT_http, '23456');
  assert.equal(runtimeEnv({ ...ctx, ports: undefined }).NOMAD_PORT_http, undefined);
});
