import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadText } from '../../../src/jobspec/load.js';
import type { Diagnostic } from '../../../src/jobspec/model.js';

/** A group `g` with a network block (`net`), task `t` (with `taskExtra` in its body) and `groupExtra` at group level. */
const src = (net: string, o: { taskExtra?: string; groupExtra?: string } = {}) => `job "j" {
  group "g" {
${o.groupExtra ?? ''}    network {
${net}
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
      }
${o.taskExtra ?? ''}
    }
  }
}
`;

const errors = (ds: Diagnostic[]) => ds.filter((d) => d.severity === 'error');
const where = (d: Diagnostic) => `${d.file}:${d.line}: ${d.message}`;

test('network: group ports and legacy task ports reach the model, with positions; static 0 is dynamic', async () => {
  const text = src('      port "http" {}\n      port "dns-tcp" {\n        static = 8653\n        to     = 53\n      }\n      port "any" {\n        static = 0\n        to     = -1\n        host_network = "lan"\n        ignore_collision = true\n      }', {
    taskExtra: '      resources {\n        network {\n          port "admin" {}\n        }\n      }',
  });
  const r = await loadText('j.hcl', text);
  assert.deepEqual(errors(r.diagnostics).map(where), []);
  const g = r.jobs[0].groups[0];
  // hcl2json gives labeled blocks in label order.
  assert.deepEqual(
    g.ports?.map((p) => ({ ...p, pos: p.pos.line })),
    [
      { label: 'any', to: -1, hostNetwork: 'lan', ignoreCollision: true, pos: 9 },
      { label: 'dns-tcp', static: 8653, to: 53, hostNetwork: 'default', pos: 5 },
      { label: 'http', hostNetwork: 'default', pos: 4 },
    ],
  );
  assert.deepEqual(g.tasks[0].ports?.map((p) => [p.label, p.hostNetwork, p.pos.line]), [['admin', 'default', 23]]);
  assert.equal(r.diagnostics.filter((d) => /network|port/.test(d.path)).length, 0, JSON.stringify(r.diagnostics));
});

test('network: mode "bridge", "none", "cni/x" and a cni block are unsupported errors at their line; "host" is fine', async () => {
  for (const mode of ['bridge', 'none', 'cni/mynet']) {
    const r = await loadText('j.hcl', src(`      mode = "${mode}"\n      port "http" {}`));
    const e = errors(r.diagnostics);
    assert.equal(e.length, 1, JSON.stringify(e));
    assert.equal(e[0].kind, 'unsupported');
    assert.equal(e[0].line, 4);
    assert.equal(e[0].path, 'job "j" › group "g" › network.mode');
    assert.equal(e[0].message, `network mode "${mode}" is not supported by tend: expected "host" (tasks share the node's network; bridge, none and CNI modes need a network namespace per allocation and CNI plugins)`);
    assert.equal(r.ok, false);
  }
  const cni = await loadText('j.hcl', src('      cni {\n        args = { a = "b" }\n      }'));
  assert.deepEqual(errors(cni.diagnostics).map((d) => [d.kind, d.line, d.message.split(':')[0]]), [['unsupported', 4, 'cni is not supported by tend']]);
  const host = await loadText('j.hcl', src('      mode = "host"\n      port "http" {}'));
  assert.ok(host.ok, JSON.stringify(host.diagnostics));
});

test('network: bad labels, ports out of range and a label or static port asked twice are errors naming file:line', async () => {
  const bad = await loadText('/jobs/j.hcl', src('      port "dns.tcp" {}\n      port "big" {\n        static = 70000\n      }\n      port "neg" {\n        to = -2\n      }\n      port "frac" {\n        static = 80.5\n      }'));
  const got = errors(bad.diagnostics).map(where).sort();
  assert.deepEqual(got, [
    '/jobs/j.hcl:12: expected a whole number, got 80.5',
    '/jobs/j.hcl:4: port label "dns.tcp" does not match ^[a-zA-Z0-9_-]+$',
    '/jobs/j.hcl:6: expected a port number from 1 to 65535 (or 0 for a dynamic port), got 70000',
    '/jobs/j.hcl:9: expected a port number from 0 to 65535 or -1, got -2',
  ]);
  const twice = await loadText('/jobs/j.hcl', src('      port "a" {\n        static = 8080\n      }\n      port "b" {\n        static = 8080\n      }', { taskExtra: '      resources {\n        network {\n          port "a" {}\n        }\n      }' }));
  assert.deepEqual(errors(twice.diagnostics).map(where).sort(), [
    '/jobs/j.hcl:18: port label "a" is already used by the group network: a label names one port of the allocation',
    '/jobs/j.hcl:8: static port 8080 is already asked for by port "a"',
  ]);
  const collide = await loadText('/jobs/j.hcl', src('      port "http" {}\n      port "HTTP" {}'));
  assert.deepEqual(errors(collide.diagnostics).map((d) => d.message), ['found a port label collision: "http" and "HTTP"']);
});

test('network: one network block per group; a static port with count > 1 warns that the others wait', async () => {
  const two = await loadText('j.hcl', src('      port "a" {}\n    }\n    network {\n      port "b" {}'));
  assert.deepEqual(errors(two.diagnostics).map((d) => d.message), ['expected at most one "network" block, got 2']);
  const counted = await loadText('j.hcl', src('      port "http" {\n        static = 8080\n      }\n      port "dyn" {}', { groupExtra: '    count = 3\n' }));
  assert.ok(counted.ok);
  const w = counted.diagnostics.filter((d) => d.severity === 'warning');
  assert.deepEqual(w.map((d) => [d.kind, d.line, d.message]), [
    ['unsupported', 6, 'static port 8080 with count = 3: one node has one port 8080, so only one instance holds it and the others wait for it (Nomad places them on other nodes)'],
  ]);
});

test('network: mbits, hostname and dns warn what happens; ${NOMAD_PORT_x} and friends are runtime variables, not warnings', async () => {
  const r = await loadText(
    'j.hcl',
    src('      mbits = 10\n      hostname = "web"\n      dns {\n        servers = ["1.1.1.1"]\n      }\n      port "http" {}', {
      taskExtra: '      env {\n        A = "${NOMAD_PORT_http}"\n        B = "${NOMAD_ADDR_http} ${NOMAD_IP_http} ${NOMAD_HOST_PORT_http} ${NOMAD_ALLOC_PORT_http} ${NOMAD_HOST_ADDR_http}"\n        C = "${NOMAD_ALLOC_IP_http}"\n      }',
    }),
  );
  assert.ok(r.ok, JSON.stringify(r.diagnostics));
  const msgs = r.diagnostics.map((d) => d.message).sort();
  assert.deepEqual(msgs, [
    '"dns" is applied only in bridge mode; tasks use the host\'s resolv.conf; ignored',
    '"hostname" is set only in bridge mode; tasks see the host\'s hostname; ignored',
    '"mbits" is deprecated in Nomad and tend does not limit bandwidth; ignored',
    '${NOMAD_ALLOC_IP_http} is set by Nomad but not by tend; it stays empty',
  ]);
});

test('network: a port variable naming no port of the allocation warns with the likely name; the legacy per-task names are known', async () => {
  const r = await loadText(
    '/jobs/j.hcl',
    src('      port "http" {}', {
      taskExtra: '      env {\n        A = "${NOMAD_PORT_htp}"\n        B = "${NOMAD_PORT_http} ${NOMAD_ALLOC_PORT_http} ${NOMAD_ADDR_api_admin}"\n      }\n    }\n    task "api" {\n      driver = "raw_exec"\n      config {\n        command = "/bin/sh"\n        args    = ["${NOMAD_PORT_admin}", "${NOMAD_IPv4_admin}", "${NOMAD_HOST_PORT_nope}"]\n      }\n      resources {\n        network {\n          port "admin" {}\n        }\n      }',
    }),
  );
  assert.ok(r.ok, JSON.stringify(r.diagnostics));
  const w = r.diagnostics.filter((d) => d.severity === 'warning').map((d) => [d.line, d.message, d.hint]);
  assert.deepEqual(w, [
    // At the env and config blocks that hold them.
    [11, '${NOMAD_PORT_htp} names no port of this allocation; it stays as written', 'did you mean "${NOMAD_PORT_http}"?'],
    [18, '${NOMAD_HOST_PORT_nope} names no port of this allocation; it stays as written', 'did you mean "${NOMAD_HOST_PORT_http}"?'],
  ]);
});
