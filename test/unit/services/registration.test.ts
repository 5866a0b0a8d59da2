/**
 * Job file services → registrations: the name's ${JOB}/${TASKGROUP}/${TASK}/${BASE} and runtime
 * references, ports by label or number under each address_mode, a check's own port and address
 * mode, default check names, and what cannot be resolved.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadText } from '../../../src/jobspec/load.js';
import { runtimeFiller } from '../../../src/jobspec/interpolate.js';
import { buildRegistrations, type RegistrationContext } from '../../../src/services/registration.js';
import type { AllocatedPort } from '../../../src/ports/ports.js';
import type { Job } from '../../../src/jobspec/model.js';
import { isTendError } from '../../../src/errors.js';

const node = { name: 'n1', id: 'node-id', class: 'web', datacenter: 'dc1', attributes: { 'kernel.name': 'linux' }, meta: { rack: 'r7' } };
const PORTS: AllocatedPort[] = [
  { label: 'http', value: 23456, to: 8080, hostIp: '10.0.0.5', hostNetwork: 'default' },
  { label: 'admin', value: 23457, to: 0, hostIp: '10.0.0.5', hostNetwork: 'default' },
];

async function jobOf(services: string, taskServices = ''): Promise<Job> {
  const r = await loadText('/jobs/shop.hcl', `job "shop" {
  name = "shop-name"
  group "web" {
    count = 2
    network {
      port "http" {
        to = 8080
      }
      port "admin" {}
    }
${services}
    task "srv" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
${taskServices}
    }
  }
}
`);
  assert.ok(r.ok, JSON.stringify(r.diagnostics));
  return r.jobs[0];
}

function ctxOf(job: Job, task?: string, index = 1): RegistrationContext {
  const group = job.groups[0];
  const t = group.tasks[0];
  return {
    job: { id: job.id, name: job.name, namespace: job.namespace, file: job.file },
    group: group.name,
    index,
    allocId: 'a1b2c3d4-0000',
    ...(task ? { task } : {}),
    ports: PORTS,
    nodeAddress: '10.0.0.5',
    fill: runtimeFiller({ job, group, task: t, index, allocId: 'a1b2c3d4-0000', allocDir: '/alloc', taskDir: '/t', ports: PORTS, node, env: {} }),
  };
}

test('registration: names get ${JOB} (the job name), ${TASKGROUP}, ${TASK}, ${BASE} and runtime references; defaults as Nomad', async () => {
  const job = await jobOf(
    `    service {
      name = "\${JOB}-\${TASKGROUP}-\${NOMAD_ALLOC_INDEX}"
      port = "http"
      tags = ["rack-\${meta.rack}", "\${NOMAD_SHORT_ALLOC_ID}"]
      meta {
        dc = "\${node.datacenter}"
      }
    }
    service {
      port = "admin"
    }`,
    `      service {
        name = "\${BASE}"
      }
      service {
        port = 9000
      }`,
  );
  const g = buildRegistrations(ctxOf(job), job.groups[0].services!);
  assert.deepEqual(g.map((r) => [r.name, r.address, r.port, r.tags.join(','), r.task]), [
    ['shop-name-web-1', '10.0.0.5', 23456, 'rack-r7,a1b2c3d4', undefined],
    ['shop-name-web', '10.0.0.5', 23457, '', undefined],
  ]);
  assert.deepEqual(g[0].meta, { dc: 'dc1' });
  assert.equal(g[0].id, '_tend-a1b2c3d4-0000-group-shop-name-web-1-http');
  assert.equal(g[0].job, 'shop');
  const t = buildRegistrations(ctxOf(job, 'srv'), job.groups[0].tasks[0].services!);
  assert.deepEqual(t.map((r) => [r.name, r.port, r.task]), [['shop-name-web-srv', 0, 'srv'], ['shop-name-web-srv', 9000, 'srv']]);
});

test('registration: address_mode host gives the host port, alloc/driver the mapped port; a fixed address is advertised', async () => {
  const job = await jobOf(`    service {
      name = "a"
      port = "http"
      address_mode = "alloc"
    }
    service {
      name = "b"
      port = "http"
      address_mode = "host"
    }
    service {
      name    = "c"
      port    = "http"
      address = "web.internal"
    }`);
  const regs = buildRegistrations(ctxOf(job), job.groups[0].services!);
  assert.deepEqual(regs.map((r) => `${r.name} ${r.address}:${r.port}`), ['a 10.0.0.5:8080', 'b 10.0.0.5:23456', 'c web.internal:23456']);
});

test('registration: checks take their own port or the service\'s, their own address_mode (not inherited), a default name', async () => {
  const job = await jobOf(`    service {
      name = "api"
      port = "http"
      address_mode = "alloc"
      check {
        type     = "http"
        path     = "/health?x=\${NOMAD_ALLOC_INDEX}"
        interval = "5s"
        timeout  = "1s"
        header {
          X-Alloc = ["\${NOMAD_ALLOC_ID}"]
        }
      }
      check {
        name     = "admin-tcp"
        type     = "tcp"
        port     = "admin"
        interval = "5s"
        timeout  = "1s"
      }
      check {
        name     = "mapped"
        type     = "tcp"
        address_mode = "driver"
        interval = "5s"
        timeout  = "1s"
      }
    }`);
  const [r] = buildRegistrations(ctxOf(job), job.groups[0].services!);
  const [http, tcp, mapped] = r.checks;
  assert.equal(http.name, 'service: "api" check');
  assert.equal(http.http!.url, 'http://10.0.0.5:23456/health?x=1', 'host mode by default: the host port');
  assert.deepEqual(http.http!.headers, { 'X-Alloc': ['a1b2c3d4-0000'] });
  assert.equal(http.task, 'srv', 'a one-task group\'s check belongs to its task');
  assert.equal(`${tcp.address}:${tcp.port}`, '10.0.0.5:23457');
  assert.equal(mapped.port, 8080);
  assert.equal(r.port, 8080, 'the service itself advertises the mapped port (alloc)');
});

test('registration: a name invalid once interpolated, or a port label the allocation lacks, is an E_SPEC_INVALID naming the field', async () => {
  const job = await jobOf(`    service {
      name = "\${NOMAD_META_svc}"
      port = "http"
    }`);
  assert.throws(() => buildRegistrations(ctxOf(job), job.groups[0].services!), (err) => isTendError(err, 'E_SPEC_INVALID') && /service\[0\]\.name/.test(err.message));
  const bad = await jobOf(`    service {
      name = "x"
      port = "\${NOMAD_META_port}"
    }`);
  const ctx = { ...ctxOf(bad), fill: (s: string) => s.replace('${NOMAD_META_port}', 'nope') };
  assert.throws(() => buildRegistrations(ctx, bad.groups[0].services!), (err) => isTendError(err, 'E_SPEC_INVALID') && /port label "nope" names no port/.test(err.message));
});
