// The functions that read outside data: env, file, Nomad variables and services, sockaddr, plugin,
// and the Consul/Vault functions tend refuses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TemplateError, type InterfaceAddress, type NetworkInfo, type StoredVariable, type VariableStore } from '../../../src/gotemplate/gotemplate.js';
import { parseTemplate, render } from '../../../src/gotemplate/template.js';
import { fails, run } from './helpers.js';

function memoryStore(vars: StoredVariable[]): VariableStore {
  return {
    get: (path) => vars.find((v) => v.path === path),
    list: (prefix) => vars.filter((v) => v.path.startsWith(prefix)).sort((a, b) => (a.path < b.path ? -1 : 1)),
  };
}

const store = memoryStore([
  { path: 'nomad/jobs/web', items: { user: 'admin', password: 's3cr=t', port: '8080' }, createIndex: 10, modifyIndex: 12, createTime: 1_700_000_000_123_000_000n },
  { path: 'nomad/jobs/web/db', items: { dsn: 'postgres://db' } },
  { path: 'shared/tls', items: {} },
]);

test('nomadVar: the value is a map of items; {{ .key }} prints the value, .key.Value and .key.Key the parts', () => {
  assert.equal(run('{{ with nomadVar "nomad/jobs/web" }}{{ .user }}:{{ .password.Value }} ({{ .port.Key }}){{ end }}', { vars: store }), 'admin:s3cr=t (port)');
});

test('nomadVar: range visits items sorted by key; .Keys, .Values, .Tuples, .ItemsMap', () => {
  const t = '{{ with nomadVar "nomad/jobs/web" }}{{ range $k, $v := . }}{{ $k }}={{ $v }};{{ end }} {{ .Keys }} {{ .Values }} {{ range .Tuples }}{{ .K }}{{ end }} {{ .ItemsMap | toJSON }}{{ end }}';
  assert.equal(run(t, { vars: store }), 'password=s3cr=t;port=8080;user=admin; [password port user] [s3cr=t 8080 admin] passwordportuser {"password":"s3cr=t","port":"8080","user":"admin"}');
});

test('nomadVar: .Parent and .Metadata reach the variable (path, namespace, indexes, times)', () => {
  const t = '{{ with nomadVar "nomad/jobs/web" }}{{ .Parent.Path }} {{ .Metadata.Namespace }} {{ .Parent.ModifyIndex }} {{ .Parent.CreateTime }} {{ .Parent.CreateTime.Time.Format "2006" }}{{ end }}';
  assert.equal(run(t, { vars: store }), 'nomad/jobs/web default 12 2023-11-14 22:13:20.123 +0000 UTC 2023');
});

test('nomadVar: toJSON gives the items as a string map; an item is not a string for string functions (use .Value)', () => {
  assert.equal(run('{{ nomadVar "nomad/jobs/web/db" | toJSON }}|{{ with nomadVar "nomad/jobs/web/db" }}{{ .dsn.Value | toUpper }}{{ end }}', { vars: store }), '{"dsn":"postgres://db"}|POSTGRES://DB');
  fails('{{ with nomadVar "nomad/jobs/web/db" }}{{ .dsn | toUpper }}{{ end }}', /wrong type for value; expected string; got dependency\.NomadVarItem/, { vars: store });
});

test('nomadVar: a missing item prints empty (the zero item), or fails with errorOnMissingKey', () => {
  assert.equal(run('[{{ with nomadVar "nomad/jobs/web" }}{{ .nope }}{{ end }}]', { vars: store }), '[]');
  fails('{{ with nomadVar "nomad/jobs/web" }}{{ .nope }}{{ end }}', /map has no entry for key "nope"/, { vars: store, errorOnMissingKey: true });
});

test('nomadVar: a variable that does not exist renders empty and is reported missing, so the caller waits', () => {
  const r = render(parseTemplate('[{{ with nomadVar "nomad/jobs/absent" }}x{{ end }}]'), { vars: store });
  assert.deepEqual([r.text, r.missing, r.deps.vars], ['[]', ['nomadVar:nomad/jobs/absent'], ['nomad/jobs/absent']]);
});

test('nomadVar: "@default" namespace is accepted, another namespace is refused; no store is an error', () => {
  assert.equal(run('{{ with nomadVar "nomad/jobs/web@default" }}{{ .user }}{{ end }}', { vars: store }), 'admin');
  fails('{{ nomadVar "x@prod" }}', /namespace "prod" is not supported/, { vars: store });
  fails('{{ nomadVar "x" }}', /error calling nomadVar: nomadVar: no Nomad variable store is available to this template/);
});

test('nomadVarExists: true or false, recorded as a dependency', () => {
  const r = render(parseTemplate('{{ nomadVarExists "nomad/jobs/web" }} {{ nomadVarExists "nope" }}'), { vars: store });
  assert.deepEqual([r.text, r.deps.vars, r.missing], ['true false', ['nomad/jobs/web', 'nope'], []]);
});

test('nomadVarList: metadata of the variables under a prefix, printing as their path', () => {
  const r = render(parseTemplate('{{ range nomadVarList "nomad/jobs" }}{{ .Path }}|{{ . }}|{{ .Namespace }};{{ end }}{{ len nomadVarList }}'), { vars: store });
  assert.deepEqual([r.text, r.deps.varLists], ['nomad/jobs/web|nomad/jobs/web|default;nomad/jobs/web/db|nomad/jobs/web/db|default;3', ['nomad/jobs', '']]);
  assert.equal(run('{{ range nomadVarList "nomad/jobs" }}{{ with nomadVar .Path }}{{ range .Tuples }}{{ .K }}={{ .V }} {{ end }}{{ end }}{{ end }}', { vars: store }), 'password=s3cr=t port=8080 user=admin dsn=postgres://db ');
  fails('{{ nomadVarList "a" "b" }}', /nomadVarList takes either a single "prefix" parameter or none/, { vars: store });
});

test('nomadVarListSafe: an empty list marks the template missing instead of rendering nothing', () => {
  const r = render(parseTemplate('{{ range nomadVarListSafe "none" }}x{{ end }}'), { vars: store });
  assert.deepEqual(r.missing, ['nomadVarListSafe:none']);
});

test('nomadService / nomadServices: a clear error until a service catalog is injected', () => {
  fails('{{ range nomadService "db" }}{{ .Address }}{{ end }}', /error calling nomadService: nomadService: no service catalog is available on this node yet/);
  fails('{{ nomadServices }}', /nomadServices: no service catalog/);
});

test('nomadService / nomadServices: with a catalog, registrations with .Address, .Port, .Tags', () => {
  const services = {
    service: (name: string, tag?: string) =>
      [
        { id: 'a', name: 'db', address: '10.0.0.1', port: 5432, tags: ['primary'] },
        { id: 'b', name: 'db', address: '10.0.0.2', port: 5433, tags: [] },
      ].filter((s) => s.name === name && (!tag || s.tags.includes(tag))),
    services: () => [{ name: 'db', tags: ['primary'] }],
  };
  assert.equal(run('{{ range nomadService "db" }}{{ .Address }}:{{ .Port }} {{ end }}|{{ range nomadService "primary.db" }}{{ .ID }}{{ end }}|{{ range nomadServices }}{{ .Name }}{{ .Tags }}{{ end }}', { services }), '10.0.0.1:5432 10.0.0.2:5433 |a|db[primary]');
  assert.equal(run('{{ len (nomadService 1 "key" "db") }}', { services }), '1');
});

test('env: reads the task environment given in the context, never the agent\'s; recorded as a dependency', () => {
  process.env.TEND_TEST_AGENT_ONLY = 'leak';
  const r = render(parseTemplate('{{ env "NOMAD_ALLOC_ID" }}|{{ env "TEND_TEST_AGENT_ONLY" }}|{{ or (env "UNSET") "default" }}|{{ envOrDefault "UNSET" "d2" }}'), { env: { NOMAD_ALLOC_ID: 'abc-123' } });
  assert.deepEqual([r.text, r.deps.env], ['abc-123||default|d2', ['NOMAD_ALLOC_ID', 'TEND_TEST_AGENT_ONLY', 'UNSET']]);
  fails('{{ mustEnv "UNSET" }}', /required environment variable UNSET is empty/);
});

test('file: reads through the injected reader (which owns the allowed-dirs check); absent reader or refused path are errors', () => {
  const fileReader = (p: string) => {
    if (p === '/etc/allowed/conf') return 'port = 1\n';
    if (p === '/etc/allowed/later') throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    throw new Error(`${p} is outside the dirs templates may read (template_read_dirs)`);
  };
  const r = render(parseTemplate('{{ file "/etc/allowed/conf" | trimSpace }}|{{ file "/etc/allowed/later" }}'), { fileReader });
  assert.deepEqual([r.text, r.deps.files, r.missing], ['port = 1|', ['/etc/allowed/conf', '/etc/allowed/later'], ['file:/etc/allowed/later']]);
  fails('{{ file "/etc/shadow" }}', /error calling file: \/etc\/shadow is outside the dirs templates may read/, { fileReader });
  fails('{{ file "/x" }}', /error calling file: reading host files is not enabled/);
});

test('plugin: refused unless the agent allows plugins; allowed, runs the command and trims its output', () => {
  fails('{{ plugin "echo" "hi" }}', /error calling plugin: running plugins is not allowed on this agent/);
  assert.equal(run('{{ plugin "/bin/echo" " hi " "there" }}', { allowPlugins: true }), 'hi there');
});

const fakeNet = (addrs: Array<Partial<InterfaceAddress> & { name: string; address: string; cidr: string }>, defaults: string[]): NetworkInfo => ({
  interfaces: () =>
    addrs.map((a) => ({ netmask: '', internal: false, mac: '00:00:00:00:00:00', family: a.address.includes(':') ? ('IPv6' as const) : ('IPv4' as const), ...a })),
  defaultInterfaces: () => defaults,
});

test('sockaddr: GetPrivateIP, GetPublicIP, GetInterfaceIP and include/attr pipelines over the given interfaces', () => {
  const network = fakeNet(
    [
      { name: 'lo', address: '127.0.0.1', cidr: '127.0.0.1/8', internal: true },
      { name: 'eth0', address: 'fe80::1', cidr: 'fe80::1/64' },
      { name: 'eth0', address: '10.1.2.3', cidr: '10.1.2.3/24' },
      { name: 'eth1', address: '203.0.114.9', cidr: '203.0.114.9/24' },
      { name: 'docker0', address: '172.17.0.1', cidr: '172.17.0.1/16' },
    ],
    ['eth0'],
  );
  const t = [
    '{{ sockaddr "GetPrivateIP" }}',
    '{{ sockaddr "GetPublicIP" }}',
    '{{ sockaddr "GetInterfaceIP \\"eth1\\"" }}',
    `{{ sockaddr "GetAllInterfaces | include \\"name\\" \\"docker0\\" | attr \\"address\\"" }}`,
    `{{ sockaddr "GetPrivateInterfaces | include \\"type\\" \\"IPv4\\" | join \\"address\\" \\" \\"" }}`,
    `{{ sockaddr "GetAllInterfaces | include \\"network\\" \\"172.16.0.0/12\\" | attr \\"name\\"" }}`,
  ].join('|');
  assert.equal(run(t, { network }), '10.1.2.3|203.0.114.9|203.0.114.9|172.17.0.1|10.1.2.3 172.17.0.1|docker0');
  fails('{{ sockaddr "GetWhatever" }}', /error calling sockaddr: unable to parse sockaddr template "GetWhatever": function "GetWhatever" not defined/, { network });
});

test('Consul and Vault functions: refused at parse time with kind "unsupported", naming the function and where it is', () => {
  for (const [src, func] of [
    ['{{ key "service/redis/maxconns" }}', 'key'],
    ['{{ range service "web" }}{{ end }}', 'service'],
    ['{{ keyOrDefault "a" "b" }}', 'keyOrDefault'],
    ['{{ with secret "secret/data/x" }}{{ .Data.data.p }}{{ end }}', 'secret'],
    ['{{ with pkiCert "pki/issue/x" "common_name=a" }}{{ .Cert }}{{ end }}', 'pkiCert'],
    ['x\n  {{ tree "a" | explode }}', 'tree'],
    ['{{ sprig_toJson . }}', 'sprig_toJson'],
  ] as const) {
    let err: unknown;
    try {
      parseTemplate(src, { name: 'jobs/web.hcl', baseLine: 20 });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof TemplateError, src);
    assert.equal(err.kind, 'unsupported', src);
    assert.equal(err.func, func, src);
    assert.match(err.message, new RegExp(`^template: jobs/web\\.hcl:2\\d:\\d+: function "${func}" is not supported: `), src);
  }
  fails('{{ key "x" }}', 'template: t:1:4: function "key" is not supported: it reads Consul, and tend runs without Consul; use nomadVar and tend\'s variable store instead');
});

test('render: a compiled template renders again with new inputs (parsed once, rendered on change)', () => {
  const t = parseTemplate('{{ with nomadVar "app" }}{{ .v }}{{ end }}');
  const mk = (v: string) => memoryStore([{ path: 'app', items: { v } }]);
  assert.equal(render(t, { vars: mk('1') }).text, '1');
  assert.equal(render(t, { vars: mk('2') }).text, '2');
});
