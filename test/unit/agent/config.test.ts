import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  DEFAULT_ALLOW_CAPS,
  DEFAULT_CHROOT_ENV,
  closest,
  defaultCgroupParent,
  loadAgentConfig,
  parseAgentConfig,
  parseBytes,
  parseDuration,
  parseRanges,
  redactConfig,
} from '../../../src/agent/config.js';
import { DEFAULT_ARTIFACT_LIMITS } from '../../../src/artifacts/artifacts.js';
import { DEFAULT_ENV_DENYLIST } from '../../../src/drivers/host-env.js';
import { isTendError } from '../../../src/errors.js';
import { platform } from '../../../src/platform.js';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tend-config-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

const cwd = '/work/here';
const parse = (text: string, flags = {}) => parseAgentConfig('/etc/tend/agent.hcl', text, { flags, cwd, env: { HOME: '/home/op' } });

/** Assert a config error and return its message. */
async function configError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(isTendError(err, 'E_CONFIG_INVALID'), `expected E_CONFIG_INVALID, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected the config to be rejected');
}

test('config: defaults without a file', async () => {
  const cfg = await loadAgentConfig({ flags: {}, cwd, env: {} });
  assert.equal(cfg.dataDir, '/work/here/state');
  assert.equal(cfg.jobsDir, '/work/here/jobs');
  assert.equal(cfg.configFile, undefined);
  assert.equal(cfg.logLevel, 'info');
  assert.equal(cfg.executor, 'auto');
  assert.equal(cfg.concurrency, 8);
  assert.equal(cfg.stopTasksOnExit, false);
  assert.equal(cfg.resyncMs, 30_000);
  assert.equal(cfg.debounceMs, 100);
  assert.deepEqual(cfg.client, {
    nodeName: platform().hostname,
    nodeClass: '',
    datacenter: 'dc1',
    meta: {},
    chrootEnv: DEFAULT_CHROOT_ENV,
    chrootEnvMap: Object.fromEntries(DEFAULT_CHROOT_ENV.map((p) => [p, p])),
    reserved: { cores: [], memoryMB: 0, cpu: 0 },
    hostVolumes: [],
    jobFileDirs: [],
    env: { denylist: DEFAULT_ENV_DENYLIST },
    artifact: { limits: DEFAULT_ARTIFACT_LIMITS, setEnvironmentVariables: [], allowedLocalDirs: [] },
    variables: { policies: [] },
    template: { wait: { minMs: 5000, maxMs: 240000 }, functionDenylist: ['plugin', 'writeToFile'], disableFileSandbox: false, fileDirs: [] },
    // Nomad's dynamic port range; no reserved port, no host network, the default route's address.
    network: { minDynamicPort: 20000, maxDynamicPort: 32000, reservedPorts: [], hostNetworks: [] },
  });
  assert.deepEqual(cfg.plugins.rawExec, { enabled: false, noCgroups: false });
  assert.deepEqual(cfg.plugins.exec, {
    enabled: true,
    defaultPidMode: 'private',
    defaultIpcMode: 'private',
    noPivotRoot: false,
    allowCaps: DEFAULT_ALLOW_CAPS,
    deniedHostUids: [],
    deniedHostGids: [],
  });
  // One cgroup parent per data dir: "tend-" + 12 hex of sha256 of its real path (/work exists, here/state does not).
  const hash = createHash('sha256').update('/work/here/state').digest('hex').slice(0, 12);
  assert.deepEqual(cfg.oci, { runtime: 'runc', conmon: 'conmon', pidsLimit: 4096, cgroupParent: `tend-${hash}` });
  assert.deepEqual(cfg.api, { socket: '/work/here/state/tend.sock' });
  assert.deepEqual(DEFAULT_ALLOW_CAPS, [
    'audit_write', 'chown', 'dac_override', 'fowner', 'fsetid', 'kill', 'mknod',
    'net_bind_service', 'setfcap', 'setgid', 'setpcap', 'setuid', 'sys_chroot',
  ]);
});

test('config: the default cgroup parent is one per data dir, by real path; an explicit one stays as given', async (t) => {
  const dir = await fs.realpath(await tempDir(t));
  await fs.mkdir(path.join(dir, 'a'));
  await fs.symlink(path.join(dir, 'a'), path.join(dir, 'link'));
  const a = defaultCgroupParent(path.join(dir, 'a'));
  assert.match(a, /^tend-[0-9a-f]{12}$/);
  assert.notEqual(defaultCgroupParent(path.join(dir, 'b')), a, 'two data dirs, two parents');
  assert.equal(defaultCgroupParent(path.join(dir, 'link')), a, 'a symlink to the data dir names the same parent');
  // A data dir not made yet names the parent it will have once made.
  const later = defaultCgroupParent(path.join(dir, 'link', 'not', 'yet'));
  await fs.mkdir(path.join(dir, 'a', 'not', 'yet'), { recursive: true });
  assert.equal(defaultCgroupParent(path.join(dir, 'a', 'not', 'yet')), later);
  const cfg = await parseAgentConfig(path.join(dir, 'agent.hcl'), 'data_dir = "a"\n', { flags: {}, cwd: dir, env: {} });
  assert.equal(cfg.oci.cgroupParent, a);
  const explicit = await parseAgentConfig(path.join(dir, 'agent.hcl'), 'data_dir = "a"\noci {\n  cgroup_parent = "tend"\n}\n', { flags: {}, cwd: dir, env: {} });
  assert.equal(explicit.oci.cgroupParent, 'tend');
});

test('config: every key is read', async () => {
  const cfg = await parse(`
data_dir        = "/var/lib/tend"
jobs_dir        = "jobs"
log_level       = "debug"
executor        = "oci"
concurrency     = 3
resync_interval = "1m30s"
stop_tasks_on_exit = true

client {
  node_name  = "edge-7"
  node_class = "edge"
  datacenter = "lab"
  meta {
    rack = "r1"
    slot = 4
  }
  chroot_env = ["/bin", "/usr"]
  reserved {
    cores  = "0-1,3"
    memory = 512
    cpu    = 1000
  }
  host_volume "data" {
    path      = "/srv/data"
    read_only = true
  }
  host_volume "scratch" {
    path = "scratch"
  }
}

plugin "raw_exec" {
  config {
    enabled    = true
    no_cgroups = true
  }
}

plugin "exec" {
  config {
    enabled          = false
    default_pid_mode = "host"
    default_ipc_mode = "host"
    no_pivot_root    = true
    allow_caps       = ["CAP_CHOWN", "net_raw"]
    denied_host_uids = "0,10-15"
    denied_host_gids = 0
  }
}

oci {
  runtime       = "crun"
  conmon        = "/usr/local/bin/conmon"
  pids_limit    = 100
  cgroup_parent = "tend.slice"
}

api {
  socket  = "/run/tend.sock"
  address = "127.0.0.1:4747"
  token   = "s3cret"
}
`);
  assert.equal(cfg.configFile, '/etc/tend/agent.hcl');
  assert.equal(cfg.dataDir, '/var/lib/tend');
  assert.equal(cfg.jobsDir, '/etc/tend/jobs', 'relative to the config file');
  assert.equal(cfg.logLevel, 'debug');
  assert.equal(cfg.executor, 'oci');
  assert.equal(cfg.concurrency, 3);
  assert.equal(cfg.resyncMs, 90_000);
  assert.equal(cfg.stopTasksOnExit, true);
  assert.equal(cfg.client.nodeName, 'edge-7');
  assert.equal(cfg.client.nodeClass, 'edge');
  assert.equal(cfg.client.datacenter, 'lab');
  assert.deepEqual(cfg.client.meta, { rack: 'r1', slot: '4' });
  assert.deepEqual(cfg.client.chrootEnv, ['/bin', '/usr']);
  assert.deepEqual(cfg.client.reserved, { cores: [0, 1, 3], memoryMB: 512, cpu: 1000 });
  assert.deepEqual(cfg.client.hostVolumes, [
    { name: 'data', path: '/srv/data', readOnly: true },
    { name: 'scratch', path: '/etc/tend/scratch', readOnly: false },
  ]);
  assert.deepEqual(cfg.plugins.rawExec, { enabled: true, noCgroups: true });
  assert.deepEqual(cfg.plugins.exec, {
    enabled: false,
    defaultPidMode: 'host',
    defaultIpcMode: 'host',
    noPivotRoot: true,
    allowCaps: ['chown', 'net_raw'],
    deniedHostUids: [[0, 0], [10, 15]],
    deniedHostGids: [[0, 0]],
  });
  assert.deepEqual(cfg.oci, { runtime: 'crun', conmon: '/usr/local/bin/conmon', pidsLimit: 100, cgroupParent: 'tend.slice' });
  assert.deepEqual(cfg.api, { socket: '/run/tend.sock', address: '127.0.0.1:4747', token: 's3cret' });
});

test('config: chroot_env as a map (Nomad form) and meta as an attribute', async () => {
  const cfg = await parse(`
client {
  chroot_env = {
    "/bin"            = "/bin"
    "/etc/ld.so.conf" = "/etc/ld.so.conf"
    "/opt/app"        = "/app"
  }
  meta = { tier = "gold" }
}
`);
  assert.deepEqual(cfg.client.chrootEnv, ['/bin', '/etc/ld.so.conf', '/opt/app']);
  assert.deepEqual(cfg.client.chrootEnvMap, { '/bin': '/bin', '/etc/ld.so.conf': '/etc/ld.so.conf', '/opt/app': '/app' });
  assert.deepEqual(cfg.client.meta, { tier: 'gold' });
});

test('config: an unknown key names file, line and the likely key', async () => {
  const msg = await configError(parse(`data_dir = "/d"

client {
  node_name = "a"
  nod_class = "b"
}
`));
  assert.equal(msg, 'failed to load agent config: /etc/tend/agent.hcl:5: unknown key "client.nod_class"; did you mean "node_class"?');

  const top = await configError(parse(`jobs_dri = "x"\n`));
  assert.match(top, /agent\.hcl:1: unknown key "jobs_dri"; did you mean "jobs_dir"\?$/);

  const nested = await configError(parse(`plugin "exec" {\n  config {\n    allow_cap = ["chown"]\n  }\n}\n`));
  assert.match(nested, /agent\.hcl:3: unknown key "plugin "exec"\.config\.allow_cap"; did you mean "allow_caps"\?$/);

  const far = await configError(parse(`zzz = 1\n`));
  assert.match(far, /agent\.hcl:1: unknown key "zzz"$/, 'no hint when nothing is close');

  const plugin = await configError(parse(`plugin "raw-exec" {\n  config {\n    enabled = true\n  }\n}\n`));
  assert.match(plugin, /agent\.hcl:1: unknown plugin "raw-exec".*did you mean "raw_exec"\?$/);
});

test('config: the unknown key error carries details for tooling', async () => {
  try {
    await parse(`client {\n  reserved {\n    memroy = 1\n  }\n}\n`);
    assert.fail('expected an error');
  } catch (err) {
    assert.ok(isTendError(err, 'E_CONFIG_INVALID'));
    assert.deepEqual(err.details, { file: '/etc/tend/agent.hcl', line: 3, key: 'client.reserved.memroy', hint: 'memory' });
  }
});

test('config: wrong types say what was expected and what was found, with the line', async () => {
  assert.equal(
    await configError(parse(`\nconcurrency = "x"\n`)),
    'failed to load agent config: /etc/tend/agent.hcl:2: concurrency: expected a number, got "x"',
  );
  assert.match(await configError(parse(`concurrency = 0\n`)), /concurrency: expected a whole number >= 1, got 0$/);
  assert.match(await configError(parse(`executor = "docker"\n`)), /:1: executor: expected one of "auto", "plain", "oci", got "docker"$/);
  assert.match(await configError(parse(`log_level = "loud"\n`)), /log_level: expected one of "trace"/);
  assert.match(await configError(parse(`resync_interval = "30"\n`)), /resync_interval: expected a duration like "30s", got "30"$/);
  assert.match(await configError(parse(`client {\n  meta {\n    a = "b"\n  }\n  node_name = 3\n}\n`)), /:5: client\.node_name: expected a string, got 3$/);
  assert.match(
    await configError(parse(`plugin "raw_exec" {\n  config {\n    enabled = "yes"\n  }\n}\n`)),
    /:3: plugin "raw_exec"\.config\.enabled: expected true or false, got "yes"$/,
  );
  assert.match(
    await configError(parse(`plugin "exec" {\n  config {\n    denied_host_uids = "0-x"\n  }\n}\n`)),
    /:3: plugin "exec"\.config\.denied_host_uids: expected ranges like "0,10-15", got "0-x"$/,
  );
  assert.match(await configError(parse(`client {\n  reserved {\n    cores = "1-0"\n  }\n}\n`)), /:3: client\.reserved\.cores: expected cores like "0-1,4", got "1-0"$/);
  assert.match(await configError(parse(`client {\n  chroot_env = ["bin"]\n}\n`)), /:2: client\.chroot_env: expected absolute paths, got "bin"$/);
  assert.match(await configError(parse(`client = "x"\n`)), /:1: client: expected a block, got "x"$/);
});

test('config: HCL syntax errors point at file:line:column', async () => {
  const msg = await configError(parse(`data_dir = "/d"\nclient {\n  node_name = \n}\n`));
  assert.match(msg, /^failed to load agent config: \/etc\/tend\/agent\.hcl:3:\d+: /);
});

test('config: api address must be loopback and needs a token', async () => {
  assert.match(await configError(parse(`api {\n  address = "0.0.0.0:4747"\n  token = "t"\n}\n`)), /:2: api\.address: expected a loopback address/);
  assert.match(await configError(parse(`api {\n  address = "127.0.0.1:4747"\n}\n`)), /:2: api\.address: a TCP address requires api\.token$/);
});

test('config: flags override the file; their relative paths resolve against cwd', async () => {
  const cfg = await parse(
    `data_dir = "d"\njobs_dir = "j"\nlog_level = "warn"\nexecutor = "plain"\nconcurrency = 2\nresync_interval = "10s"\nclient {\n  node_name = "file"\n}\n`,
    { dataDir: 'state2', jobsDir: '/abs/jobs', nodeName: 'flag', logLevel: 'trace', executor: 'oci', concurrency: 16, stopTasksOnExit: true, resyncInterval: '5s' },
  );
  assert.equal(cfg.dataDir, '/work/here/state2');
  assert.equal(cfg.jobsDir, '/abs/jobs');
  assert.equal(cfg.client.nodeName, 'flag');
  assert.equal(cfg.logLevel, 'trace');
  assert.equal(cfg.executor, 'oci');
  assert.equal(cfg.concurrency, 16);
  assert.equal(cfg.stopTasksOnExit, true);
  assert.equal(cfg.resyncMs, 5000);
  assert.equal(cfg.api.socket, '/work/here/state2/tend.sock', 'the socket follows the data dir');
});

test('config: bad flag values are rejected like file values', async () => {
  assert.equal(await configError(parse('', { executor: 'lxc' })), 'failed to load agent config: -executor: expected one of "auto", "plain", "oci", got "lxc"');
  assert.match(await configError(parse('', { resyncInterval: 'soon' })), /-resync-interval: expected a duration like "30s", got "soon"$/);
  assert.match(await configError(parse('', { concurrency: 0 })), /-concurrency: expected a whole number >= 1, got 0$/);
});

test('config: paths in the file resolve against its dir, ~ against HOME', async () => {
  const cfg = await parse(`data_dir = "~/tend"\njobs_dir = "../jobs"\napi {\n  socket = "run/tend.sock"\n}\n`);
  assert.equal(cfg.dataDir, '/home/op/tend');
  assert.equal(cfg.jobsDir, '/etc/jobs');
  assert.equal(cfg.api.socket, '/etc/tend/run/tend.sock');
});

test('config: loadAgentConfig reads the file; a missing file is a config error', async (t) => {
  const dir = await tempDir(t);
  await fs.writeFile(path.join(dir, 'agent.hcl'), 'jobs_dir = "jobs"\n');
  const cfg = await loadAgentConfig({ file: 'agent.hcl', flags: {}, cwd: dir, env: {} });
  assert.equal(cfg.configFile, path.join(dir, 'agent.hcl'));
  assert.equal(cfg.jobsDir, path.join(dir, 'jobs'));
  assert.equal(cfg.dataDir, path.join(dir, 'state'), 'defaults resolve against cwd');
  assert.match(await configError(loadAgentConfig({ file: path.join(dir, 'nope.hcl'), flags: {} })), /^failed to read agent config .*nope\.hcl: ENOENT/);
});

test('config: the shipped deploy/agent.hcl parses', async () => {
  const cfg = await loadAgentConfig({ file: new URL('../../../deploy/agent.hcl', import.meta.url).pathname, flags: {} });
  assert.equal(cfg.dataDir, '/var/lib/tend');
  assert.deepEqual(cfg.client.reserved.cores, [0]);
  assert.deepEqual(cfg.plugins.exec.deniedHostUids, [[0, 0]]);
  assert.equal(cfg.plugins.rawExec.enabled, false);
});

test('redactConfig: the token never reaches a log line', async () => {
  const cfg = await parse(`api {\n  address = "127.0.0.1:1"\n  token = "s3cret"\n}\n`);
  const red = redactConfig(cfg);
  assert.equal(red.api.token, '<redacted>');
  assert.ok(!JSON.stringify(red).includes('s3cret'));
  assert.equal(cfg.api.token, 's3cret', 'the original is untouched');
});

test('parseDuration, parseRanges, closest: edge cases', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('1h2m3s'), 3_723_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('10'), undefined);
  assert.equal(parseDuration('s'), undefined);
  assert.deepEqual(parseRanges('0, 10-15'), [[0, 0], [10, 15]]);
  assert.deepEqual(parseRanges(''), []);
  assert.equal(parseRanges('5-1'), undefined);
  assert.equal(parseRanges('a'), undefined);
  assert.equal(closest('memroy', ['memory', 'cpu']), 'memory');
  assert.equal(closest('xyz', ['memory', 'cpu']), undefined);
});

test('config: the shipped examples/agent.hcl parses (jobs dir is examples/, state beside it)', async () => {
  const file = new URL('../../../examples/agent.hcl', import.meta.url).pathname;
  const cfg = await loadAgentConfig({ file, flags: {} });
  assert.equal(cfg.jobsDir, path.dirname(file));
  assert.equal(cfg.dataDir, path.resolve(path.dirname(file), '../state'));
  assert.equal(cfg.plugins.rawExec.enabled, true);
});

test('config: lines are found in one-line blocks and past comments', async () => {
  const text = `# client { node_name = 1 } in a comment\n\nclient {\n  node_class = "a"\n  meta { rack = ["r1"] }\n}\n`;
  assert.match(await configError(parse(text)), /agent\.hcl:5: client\.meta\.rack: expected a string, got a list$/);
  assert.match(await configError(parse(`client {\n  reserved { cpu = "x" }\n}\n`)), /agent\.hcl:2: client\.reserved\.cpu: expected a number, got "x"$/);
});

test('config: client options env.denylist (Nomad) and env.allowlist (tend), comma-separated; unknown options are errors', async () => {
  const cfg = await parse(`client {\n  options = {\n    "env.denylist"  = "DB_PASSWORD, AWS_*"\n    "env.allowlist" = "PATH,HOME,LANG"\n  }\n}\n`);
  assert.deepEqual(cfg.client.env, { denylist: ['DB_PASSWORD', 'AWS_*'], allowlist: ['PATH', 'HOME', 'LANG'] });
  assert.match(await configError(parse(`client {\n  options = {\n    "env.denylst" = "X"\n  }\n}\n`)), /unknown client option "env\.denylst".*did you mean "env\.denylist"\?/);
});

test('config: the README\'s agent config reference parses and gives the defaults it claims for env', async () => {
  const readme = await fs.readFile(new URL('../../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Agent configuration'));
  const block = /```hcl\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'an hcl block under "Agent configuration"');
  const cfg = await parse(block);
  assert.deepEqual(cfg.client.env, { denylist: DEFAULT_ENV_DENYLIST });
});

test('config: client.artifact takes Nomad\'s names, sizes and durations, and tend\'s allowed_local_dirs', async () => {
  const cfg = await parse(`client {
  artifact {
    http_read_timeout              = "5m"
    http_max_size                  = "512MiB"
    git_timeout                    = "1m"
    decompression_size_limit       = "1GB"
    decompression_file_count_limit = 10
    set_environment_variables      = "HTTPS_PROXY, SSH_AUTH_SOCK"
    allowed_local_dirs             = ["artifacts", "/srv/blobs"]
    s3_timeout                     = "30m"
  }
}
`);
  assert.deepEqual(cfg.client.artifact, {
    limits: { httpReadTimeoutMs: 300_000, httpMaxBytes: 512 * 2 ** 20, gitTimeoutMs: 60_000, decompressionSizeLimit: 1e9, decompressionFileCountLimit: 10 },
    setEnvironmentVariables: ['HTTPS_PROXY', 'SSH_AUTH_SOCK'],
    allowedLocalDirs: ['/etc/tend/artifacts', '/srv/blobs'],
  });
  assert.match(await configError(parse('client {\n  artifact {\n    http_max_size = "lots"\n  }\n}\n')), /agent\.hcl:3: client\.artifact\.http_max_size: expected a size like "100GB"/);
  assert.match(await configError(parse('client {\n  artifact {\n    http_max_sise = "1GB"\n  }\n}\n')), /did you mean "http_max_size"/);
});

test('config: client.variables takes a dir and Nomad-style policies attached to workloads', async () => {
  const cfg = await parse(`client {
  variables {
    dir = "vars"
    policy "shared" {
      path "shared/*" {
        capabilities = ["read"]
      }
      path "shared/private/*" {
        capabilities = ["deny"]
      }
    }
    policy "web-api" {
      job   = "web"
      group = "api"
      task  = "server"
      path "nomad/jobs/db" {
        capabilities = ["read", "list"]
      }
    }
  }
}
`);
  assert.deepEqual(cfg.client.variables, {
    dir: '/etc/tend/vars',
    policies: [
      { name: 'shared', paths: [{ pattern: 'shared/*', capabilities: ['read'] }, { pattern: 'shared/private/*', capabilities: ['deny'] }] },
      { name: 'web-api', job: 'web', group: 'api', task: 'server', paths: [{ pattern: 'nomad/jobs/db', capabilities: ['read', 'list'] }] },
    ],
  });
  const bad = async (body: string) => configError(parse(`client {\n  variables {\n${body}\n  }\n}\n`));
  assert.match(await bad('    policy "p" {\n      path "x/*" {\n        capabilities = ["write"]\n      }\n    }'), /agent\.hcl:5: .*capabilities: tasks only read variables .*got "write"/);
  assert.match(await bad('    policy "p" {\n      path "x/*" {\n        capabilities = ["raed"]\n      }\n    }'), /expected "read", "list" or "deny", got "raed"/);
  assert.match(await bad('    policy "p" {\n      path "a/../b" {\n        capabilities = ["read"]\n      }\n    }'), /agent\.hcl:4: .*expected a variable path or glob/);
  assert.match(await bad('    policy "p" {\n      group = "g"\n      path "x" {\n        capabilities = ["read"]\n      }\n    }'), /agent\.hcl:4: .*group needs job/);
  assert.match(await bad('    policy "p" {\n      job = "a/b"\n      path "x" {\n        capabilities = ["read"]\n      }\n    }'), /job: expected a job name \(no "\/"\)/);
  assert.match(await bad('    policy "p" {\n      job = "a"\n    }'), /expected at least one path/);
  assert.match(await bad('    policy "p" {\n      path "x" {\n      }\n    }'), /capabilities is required/);
  assert.match(await bad('    dri = "/x"'), /agent\.hcl:3: unknown key "client\.variables\.dri"; did you mean "dir"\?/);
});

test('config: parseBytes reads sizes as go-humanize does', () => {
  assert.equal(parseBytes('100GB'), 100e9);
  assert.equal(parseBytes('1GiB'), 2 ** 30);
  assert.equal(parseBytes('1.5 kb'), 1500);
  assert.equal(parseBytes('4096'), 4096);
  assert.equal(parseBytes('10M'), 10e6);
  assert.equal(parseBytes('x'), undefined);
  assert.equal(parseBytes('1i'), undefined);
});

test('config: client ports take Nomad\'s names: network_interface, min/max_dynamic_port, reserved_ports ranges, host_network', async () => {
  const cfg = await parse(`client {
  network_interface = "eth1"
  min_dynamic_port  = 30000
  max_dynamic_port  = 30999
  reserved {
    reserved_ports = "22,80,8000-8100"
  }
  host_network "lan" {
    cidr           = "192.168.0.0/16"
    reserved_ports = 9000
  }
  host_network "vpn" {
    interface = "wg0"
  }
}
`);
  assert.deepEqual(cfg.client.network, {
    networkInterface: 'eth1',
    minDynamicPort: 30000,
    maxDynamicPort: 30999,
    reservedPorts: [[22, 22], [80, 80], [8000, 8100]],
    hostNetworks: [
      { name: 'lan', cidr: '192.168.0.0/16', reservedPorts: [[9000, 9000]] },
      { name: 'vpn', interface: 'wg0', reservedPorts: [] },
    ],
  });
  assert.deepEqual(cfg.client.reserved, { cores: [], memoryMB: 0, cpu: 0 });
});

test('config: bad port settings are errors naming file:line and what was expected', async () => {
  assert.equal(
    await configError(parse('client {\n  min_dynamic_port = 40000\n  max_dynamic_port = 30000\n}\n')),
    'failed to load agent config: /etc/tend/agent.hcl:2: client.min_dynamic_port: expected at most max_dynamic_port (30000), got 40000',
  );
  assert.equal(await configError(parse('client {\n  max_dynamic_port = 70000\n}\n')), 'failed to load agent config: /etc/tend/agent.hcl:2: client.max_dynamic_port: expected a port from 1 to 65535, got 70000');
  assert.equal(
    await configError(parse('client {\n  reserved {\n    reserved_ports = "22,80-70000"\n  }\n}\n')),
    'failed to load agent config: /etc/tend/agent.hcl:3: client.reserved.reserved_ports: expected ports from 1 to 65535 like "22,80,8000-8100", got "22,80-70000"',
  );
  assert.equal(
    await configError(parse('client {\n  reserved {\n    reserved_ports = "22,x"\n  }\n}\n')),
    'failed to load agent config: /etc/tend/agent.hcl:3: client.reserved.reserved_ports: expected ranges like "0,10-15", got "22,x"',
  );
  assert.equal(await configError(parse('client {\n  host_network "lan" {\n    reserved_ports = "22"\n  }\n}\n')), 'failed to load agent config: /etc/tend/agent.hcl:2: client.host_network "lan": expected cidr or interface, got neither');
  assert.equal(await configError(parse('client {\n  host_network "lan" {\n    cidr = "10.0.0.0"\n  }\n}\n')), 'failed to load agent config: /etc/tend/agent.hcl:3: client.host_network "lan".cidr: expected a CIDR like "10.0.0.0/8", got "10.0.0.0"');
  assert.equal(await configError(parse('client {\n  host_network "default" {\n    interface = "lo"\n  }\n}\n')), 'failed to load agent config: /etc/tend/agent.hcl:2: client.host_network "default": "default" is the node\'s own network (client.network_interface); expected another name');
  assert.match(await configError(parse('client {\n  min_dynamic_prot = 1\n}\n')), /agent\.hcl:2: unknown key "client\.min_dynamic_prot"; did you mean "min_dynamic_port"\?$/);
});

test('config reload: variables policies apply live, the variables dir needs a restart', async () => {
  const { diffConfig, applyLive } = await import('../../../src/agent/reload.js');
  const a = await parse('client {\n  variables {\n    dir = "/v1"\n  }\n}\n');
  const b = await parse('client {\n  variables {\n    dir = "/v2"\n    policy "p" {\n      path "x/*" {\n        capabilities = ["read"]\n      }\n    }\n  }\n}\n');
  const r = diffConfig(a, b);
  assert.deepEqual(Object.keys(r.applied), ['client variables policy']);
  assert.deepEqual(r.needRestart['client.variables.dir'], { from: '/v1', to: '/v2' });
  const policies = a.client.variables.policies;
  applyLive(a, b, (await import('pino')).default({ level: 'silent' }));
  assert.deepEqual(a.client.variables.policies, b.client.variables.policies);
  assert.notEqual(a.client.variables.policies, policies);
  assert.equal(a.client.variables.dir, '/v1');
});

test('config: client template block (Nomad names), errors with file:line', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tend-cfg-tpl-'));
  try {
    const file = path.join(dir, 'agent.hcl');
    await fs.writeFile(file, 'client {\n  template {\n    function_denylist = ["plugin", "env"]\n    file_dirs = ["/etc/app"]\n    wait {\n      min = "1s"\n      max = "10s"\n    }\n  }\n}\n');
    const c = await loadAgentConfig({ file, flags: {}, env: {} });
    assert.deepEqual(c.client.template, { wait: { minMs: 1000, maxMs: 10_000 }, functionDenylist: ['plugin', 'env'], disableFileSandbox: false, fileDirs: ['/etc/app'] });
    await fs.writeFile(file, 'client {\n  template {\n    wiat {\n    }\n  }\n}\n');
    await assert.rejects(loadAgentConfig({ file, flags: {}, env: {} }), /agent\.hcl:3.*wiat.*did you mean "wait"/s);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
