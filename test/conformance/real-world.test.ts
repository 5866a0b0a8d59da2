/**
 * Real-world job files (test/conformance/real-world/, sources and licences
 * in its README.md): each loads as `tendctl validate FILE` loads it, and
 * gives exactly the outcome recorded below.
 *
 *  - `ok`: loads; every `unsupported` warning matches one of `warnings`,
 *    and each of `warnings` matches some warning (a new warning, or one
 *    that goes away, fails the test: update the table).
 *  - `rejected`: does not load; every error matches one of `errors`, and
 *    each of `errors` matches some error. `why` says why Nomad would reject
 *    it too; a rejection Nomad would not make is marked `bug` (tend is
 *    wrong, not fixed here: the lead decides), so a fix fails this test
 *    until the table is updated.
 *
 * Files with `artifact` or `lifecycle` are also checked for what the
 * fetcher and the lifecycle planner see.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyseFile, type Analysis } from '../../src/jobspec/load.js';
import { formatDiagnostic } from '../../src/jobspec/format.js';
import { scanPaths } from '../../src/source/scan.js';
import { parseSource } from '../../src/artifacts/source.js';
import { orderForDisplay } from '../../src/reconcile/lifecycle.js';
import type { Job, LoadOptions } from '../../src/jobspec/model.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'real-world');

interface Ok {
  outcome: 'ok';
  warnings: RegExp[];
  opts?: LoadOptions;
}
interface Rejected {
  outcome: 'rejected';
  errors: RegExp[];
  /** Why Nomad rejects it too (or would never run it). */
  why: string;
  /** Set when Nomad accepts what tend rejects: file:line, what Nomad does, what tend does. */
  bug?: string;
  opts?: LoadOptions;
}
type Expect = Ok | Rejected;

// Messages, shortened to what identifies them.
const W = {
  reschedule: /^"reschedule" rescheduling to another node needs a cluster/,
  identity: /^"identity" workload identities need a Nomad server/,
  datacenters: /^datacenters: not checked/,
  network: /^network: /,
  portVar: /is set by Nomad but not by tend; it stays empty$/,
  consulProvider: /^service ".*": provider "consul"/,
  update: /^update: not followed/,
  vault: /^"vault" tend has no Vault integration/,
  ephemeralDisk: /^"ephemeral_disk" /,
  shutdownDelay: /^"shutdown_delay" has no meaning on a single node/,
  scaling: /^"scaling" autoscaling needs the Nomad autoscaler/,
  systemJob: /^job type "system" runs on every node in Nomad/,
};
const bridge = /^network mode "bridge" is not supported by tend: expected "host"/;
const driver = (name: string) => new RegExp(`^driver "${name}" is not supported by tend: expected "exec" or "raw_exec"$`);
const DOCKER = 'driver docker: tend runs exec/raw_exec only (Nomad needs a client with the docker driver; the file itself is valid)';

/** The outcome of every file, by path under real-world/. */
const EXPECTED: Record<string, Expect> = {
  // ---- Kamilcuk/nomad-tools (GPL-3.0) ----
  'Kamilcuk__nomad-tools__jobs__test-blocked.nomad.hcl': { outcome: 'ok', warnings: [W.reschedule] },
  'Kamilcuk__nomad-tools__jobs__test-invalidtemplate.nomad.hcl': {
    outcome: 'rejected',
    errors: [/^template: function "invalid" not defined$/],
    why: 'data = "{{ invalid" on purpose (the repo tests a failing template): Nomad parses the file, and its task fails at start with the same Go template error, so it never runs; tend reports it at load (file:line:col), and a running earlier version is left alone',
  },
  'Kamilcuk__nomad-tools__jobs__test-json.nomad.hcl': { outcome: 'ok', warnings: [W.identity] },
  'Kamilcuk__nomad-tools__jobs__test-multiple.nomad.hcl': { outcome: 'ok', warnings: [W.reschedule] },
  'Kamilcuk__nomad-tools__jobs__test-noutf.nomad.hcl': { outcome: 'ok', warnings: [W.reschedule] },
  'Kamilcuk__nomad-tools__jobs__test-run0.nomad.hcl': { outcome: 'ok', warnings: [W.reschedule] },
  'Kamilcuk__nomad-tools__jobs__test-start.nomad.hcl': { outcome: 'ok', warnings: [W.reschedule] },
  'Kamilcuk__nomad-tools__jobs__test-sigterm.nomad.hcl': { outcome: 'rejected', errors: [driver('docker')], why: DOCKER },
  'Kamilcuk__nomad-tools__jobs__test-stay.nomad.hcl': {
    outcome: 'rejected',
    errors: [driver('docker')],
    why: `one group raw_exec, one docker: ${DOCKER}`,
  },
  'Kamilcuk__nomad-tools__jobs__test-upgrade2.nomad.hcl': {
    outcome: 'rejected',
    errors: [driver('invalid')],
    why: 'driver = "invalid" on purpose (the repo tests a failing upgrade): Nomad parses it but no client has that driver, so it is never placed',
  },
  'Kamilcuk__nomad-tools__jobs__test-template.nomad.hcl': {
    outcome: 'rejected',
    errors: [/^Invalid string literal/],
    why: 'a string.Template for the repo\'s tests (`job "test-${NAME}"`): HCL block labels are literal strings, and hcl rejects a template sequence in one ("Invalid string literal"), in Nomad too',
  },
  'Kamilcuk__nomad-tools__src__nomad_tools__entry_githubrunner__trydispatcheddoesntwork.nomad.hcl': {
    outcome: 'rejected',
    errors: [driver('docker'), /^expected a whole number, got "\$\{NOMAD_META_cpu\}"$/, /^expected a whole number, got "\$\{NOMAD_META_mem\}"$/, /^expected a whole number, got "\$\{NOAMD_META_memmax\}"$/],
    why: `resources { cpu = "\${NOMAD_META_cpu}" }: Nomad's parser converts the string to a number and fails (runtime variables are not interpolated in resources), as the file's name says; and ${DOCKER}`,
  },
  'Kamilcuk__nomad-tools__jobs__test-networkaliases.nomad.hcl': {
    outcome: 'rejected',
    errors: [driver('docker'), bridge],
    why: `${DOCKER}; network mode "bridge" needs CNI plugins (Nomad's client too); \`env = local.env\` (a map attribute) is read as Nomad reads it`,
  },
  'Kamilcuk__nomad-tools__jobs__test-dockerdextrahost.nomad.hcl': {
    outcome: 'rejected',
    errors: [driver('docker'), bridge],
    why: `${DOCKER}; network mode "bridge" needs CNI plugins (Nomad's client too); \`env = local.env\` (a map attribute) is read as Nomad reads it`,
  },
  'Kamilcuk__nomad-tools/deploy/nomadtools-githubrunner.nomad.hcl': {
    outcome: 'rejected',
    // The repo's Makefile passes these four with -var.
    opts: { vars: { GITHUB_TOKEN: 'x', NOMAD_TOKEN: 'x', NOMAD_NAMESPACE: 'github', VERBOSE: '0' } },
    errors: [driver('docker'), /^failed to call function "file": no file exists at "\.\/deploy\/githubrunner\.yml"/],
    why: `${DOCKER}. file("./deploy/githubrunner.yml") (line 77) is read from the job file's dir, not the working dir the repo's Makefile runs \`nomad job run\` from (the Nomad CLI's base dir is its cwd, command/helpers.go): an agent watching a dir has no meaningful cwd, and a GitOps repo keeps such files beside the job, so tend resolves file() from the job file's dir on purpose (README: Job files); the file would need \`file("./githubrunner.yml")\``,
  },

  // ---- mxab/nacp (MPL-2.0) ----
  'mxab__nacp__example__example4/example4.nomad': {
    outcome: 'rejected',
    errors: [driver('docker')],
    why: `${DOCKER}; file("webapp.js") reads the sibling file, as in Nomad`,
  },
  'mxab__nacp__example__notation__demo.nomad': {
    outcome: 'rejected',
    errors: [driver('docker'), /^variable "image" has no value$/],
    why: `variable "image" has no default and no -var is given: Nomad's CLI fails the same way; and ${DOCKER}`,
  },
  'mxab__nacp__misc__hashitalk_deploy2023__demos__demo3__ref__after.nomad': { outcome: 'rejected', errors: [driver('docker')], why: DOCKER },
  'mxab__nacp__example__infra__nomad__jobs__traefik.nomad': { outcome: 'rejected', errors: [driver('docker')], why: DOCKER },

  // ---- hashicorp/learn-nomad-jobspec (MPL-2.0) ----
  'hashicorp__learn-nomad-jobspec__parameterized/start.nomad': { outcome: 'ok', warnings: [W.datacenters] },

  // ---- Vaelatern/nomad-driver-buildah (MPL-2.0) ----
  'Vaelatern__nomad-driver-buildah__example__build-mdbook-d2-go.nomad': {
    outcome: 'rejected',
    errors: [driver('buildah-ci')],
    why: 'driver "buildah-ci" is a third-party plugin: Nomad needs a client with that plugin; tend runs exec/raw_exec only',
  },

  // ---- bgpkit/ribeye (MIT) ----
  'bgpkit__ribeye__deployment__nomad_periodic_raw.hcl': { outcome: 'ok', warnings: [] },

  // ---- unexist/showcase-nomad-talk (Apache-2.0) ----
  'unexist__showcase-nomad-talk__infrastructure__jobs__05_consul.hcl': { outcome: 'ok', warnings: [W.datacenters] },
  'unexist__showcase-nomad-talk__infrastructure__jobs__07_fabio.hcl': { outcome: 'ok', warnings: [W.datacenters] },
  'unexist__showcase-nomad-talk__infrastructure__jobs__01_talk-slides.hcl': {
    outcome: 'rejected',
    errors: [driver('java')],
    why: 'driver java: tend runs exec/raw_exec only',
  },
  'unexist__showcase-nomad-talk__infrastructure__jobs__10_talk-slides-scaled-service-header-canary.hcl': {
    outcome: 'rejected',
    errors: [driver('java')],
    why: 'driver java: tend runs exec/raw_exec only',
  },
  'unexist__showcase-nomad-talk__infrastructure__jobs__hello.hcl': {
    outcome: 'rejected',
    errors: [driver('podman')],
    why: 'driver podman (a plugin): tend runs exec/raw_exec only',
  },
  'unexist__showcase-nomad-talk__infrastructure__jobs__talk-slides.json': {
    outcome: 'rejected',
    errors: [/^expected the jobspec shape \(\{"job": \{"name": \{…\}\}\}\), got Nomad's API JSON \(\{"Job": \{…\}\}\)$/],
    why: 'the repo POSTs this to /v1/jobs (API JSON, "Job" with "TaskGroups"); as a job file, Nomad\'s CLI reads .json as HCL JSON (without -json) and rejects the unknown "Job" block too',
  },

  // ---- sixeyed/ecs (CC-BY-SA-4.0) ----
  'sixeyed__ecs__episodes__ecs-o4__consul.nomad': { outcome: 'ok', warnings: [W.datacenters] },
  'sixeyed__ecs__episodes__ecs-o4__todo-list.nomad': { outcome: 'rejected', errors: [driver('docker')], why: DOCKER },

  // ---- hyperbadger/nomad-pipeline (MIT) ----
  'hyperbadger__nomad-pipeline__examples__leader-task-group.hcl': {
    outcome: 'rejected',
    errors: [driver('docker')],
    why: `raw_exec tasks, but each group's "init" task is docker: ${DOCKER}`,
  },
  'hyperbadger__nomad-pipeline__examples__dynamic-job.hcl': {
    outcome: 'rejected',
    errors: [driver('docker')],
    why: `raw_exec tasks, but the "init" task is docker: ${DOCKER}`,
  },
  'hyperbadger__nomad-pipeline__examples__fan-out-fan-in.hcl': {
    outcome: 'rejected',
    errors: [driver('docker')],
    why: `raw_exec tasks, but the "init" task is docker: ${DOCKER}`,
  },
};

/** Every job file under real-world/ (what `tendctl validate real-world/` would read), relative. */
function jobFiles(d = dir, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(d).sort()) {
    const p = path.join(d, name);
    const r = rel ? `${rel}/${name}` : name;
    if (statSync(p).isDirectory()) out.push(...jobFiles(p, r));
    else if (/\.(hcl|nomad|json)$/.test(name)) out.push(r);
  }
  return out;
}

const cache = new Map<string, Promise<Analysis>>();
const analyse = (rel: string) => {
  let p = cache.get(rel);
  if (!p) cache.set(rel, (p = analyseFile(path.join(dir, rel), EXPECTED[rel]?.opts ?? {})));
  return p;
};
const show = (a: Analysis) => a.diagnostics.map((d) => formatDiagnostic(d)).join('\n');

/** Each message matches some pattern, and each pattern matches some message. */
function matchesExactly(messages: string[], patterns: RegExp[], what: string, a: Analysis): void {
  const stray = messages.filter((m) => !patterns.some((p) => p.test(m)));
  assert.deepEqual(stray, [], `${what} not in the table:\n${show(a)}`);
  const unused = patterns.filter((p) => !messages.some((m) => p.test(m)));
  assert.deepEqual(unused.map(String), [], `${what} in the table but not given:\n${show(a)}`);
}

test('real-world: the table lists every file, and every file in the table exists', () => {
  assert.deepEqual(jobFiles(), Object.keys(EXPECTED).sort());
});

test('real-world: each file gives its recorded outcome', async (t) => {
  for (const [rel, exp] of Object.entries(EXPECTED)) {
    await t.test(rel, async () => {
      const a = await analyse(rel);
      const errors = a.diagnostics.filter((d) => d.severity === 'error');
      if (exp.outcome === 'ok') {
        assert.deepEqual(errors.map((d) => formatDiagnostic(d)), [], rel);
        assert.equal(a.ok, true);
        assert.ok(a.jobs.length >= 1, rel);
        for (const d of a.diagnostics) assert.equal(d.kind, 'unsupported', `only "unsupported" warnings expected:\n${formatDiagnostic(d)}`);
        matchesExactly(a.diagnostics.map((d) => d.message), exp.warnings, 'warnings', a);
        // Loaded jobs only run exec/raw_exec tasks.
        for (const tk of a.jobs.flatMap((j) => j.groups.flatMap((g) => g.tasks))) assert.match(tk.driver, /^(raw_)?exec$/);
      } else {
        assert.equal(a.ok, false, `expected a rejection of ${rel}:\n${show(a)}`);
        assert.deepEqual(a.jobs, []);
        matchesExactly(errors.map((d) => d.message), exp.errors, 'errors', a);
        assert.ok(exp.why.length > 0);
      }
    });
  }
});

test('real-world: tendctl validate over the dir (scanPaths) reads every file as a job file and agrees', async () => {
  const r = await scanPaths([dir]);
  assert.deepEqual(r.skipped, []);
  assert.deepEqual(r.dirs, []);
  const rel = (f: string) => path.relative(dir, f).split(path.sep).join('/');
  assert.deepEqual(r.set.files.map((f) => rel(f.path)), jobFiles());
  // As one jobs dir, two files define job "consul": the first by path wins, as the agent resolves it.
  assert.deepEqual(
    r.set.conflicts.map((c) => [c.job, rel(c.winner), c.losers.map(rel)]),
    [['consul', 'sixeyed__ecs__episodes__ecs-o4__consul.nomad', ['unexist__showcase-nomad-talk__infrastructure__jobs__05_consul.hcl']]],
  );
  const loser = 'unexist__showcase-nomad-talk__infrastructure__jobs__05_consul.hcl';
  // Files that need -var (none of the `ok` ones) and the conflict's loser aside, a file is valid in the scan iff it is `ok` here.
  for (const f of r.set.files) {
    const exp = EXPECTED[rel(f.path)];
    if (exp.opts || rel(f.path) === loser) continue;
    assert.equal(f.ok, exp.outcome === 'ok', rel(f.path));
  }
});

const built = async (rel: string): Promise<Job> => {
  const a = await analyse(rel);
  assert.equal(a.built.length, 1, show(a));
  return a.built[0];
};

test('real-world: artifacts are sources tend fetches (http), with the destination and mode as written', async () => {
  const cases: [string, string, { source: string; destination: string; mode: string }][] = [
    ['sixeyed__ecs__episodes__ecs-o4__consul.nomad', 'consul', { source: 'https://releases.hashicorp.com/consul/1.6.2/consul_1.6.2_darwin_amd64.zip', destination: 'local/', mode: 'any' }],
    ['unexist__showcase-nomad-talk__infrastructure__jobs__05_consul.hcl', 'consul', { source: 'http://localhost:12345/artifacts/consul_1.12.3_darwin_amd64.zip', destination: 'local/', mode: 'any' }],
    ['unexist__showcase-nomad-talk__infrastructure__jobs__07_fabio.hcl', 'fabio', { source: 'http://localhost:12345/artifacts/fabio-1.6.3-darwin_amd64', destination: 'local/fabio', mode: 'file' }],
    // Rejected for its driver, but the artifact itself is one tend could fetch.
    ['Vaelatern__nomad-driver-buildah__example__build-mdbook-d2-go.nomad', 'this-is-the-build-task', { source: 'https://github.com/Vaelatern/mdbook-d2-go/archive/refs/heads/master.tar.gz', destination: './', mode: 'any' }],
  ];
  for (const [rel, task, exp] of cases) {
    const job = await built(rel);
    const tk = job.groups.flatMap((g) => g.tasks).find((x) => x.name === task);
    assert.ok(tk, `${rel}: task ${task}`);
    assert.equal(tk.artifacts.length, 1, rel);
    const art = tk.artifacts[0];
    assert.deepEqual({ source: art.source, destination: art.destination, mode: art.mode }, exp, rel);
    const parsed = parseSource(art.source, art.options);
    assert.equal(parsed.getter, 'http', rel);
    // .zip and .tar.gz are unpacked; the fabio binary is a plain file.
    assert.equal(parsed.archive, undefined, rel);
  }
  // No load-time artifact diagnostic in any file of the corpus.
  for (const rel of Object.keys(EXPECTED)) {
    const a = await analyse(rel);
    assert.deepEqual(a.diagnostics.filter((d) => /artifact/.test(d.path)).map((d) => formatDiagnostic(d)), [], rel);
  }
});

test('real-world: lifecycle order as the planner shows it (prestart before main)', async () => {
  // Both files are rejected for the docker driver; the order is what tend would run.
  const runner = await built('Kamilcuk__nomad-tools/deploy/nomadtools-githubrunner.nomad.hcl');
  const g1 = runner.groups[0];
  assert.deepEqual(orderForDisplay(g1.tasks).map((t) => [t.name, t.lifecycle?.hook ?? 'main', t.lifecycle?.sidecar ?? false]), [
    ['build', 'prestart', false],
    ['nomadtools-githubrunner', 'main', false],
  ]);
  const after = await built('mxab__nacp__misc__hashitalk_deploy2023__demos__demo3__ref__after.nomad');
  const g2 = after.groups[0];
  assert.deepEqual(orderForDisplay(g2.tasks).map((t) => [t.name, t.lifecycle?.hook ?? 'main', t.lifecycle?.sidecar ?? false]), [
    ['grafanaagent', 'prestart', true],
    ['main', 'main', false],
  ]);
});

test('real-world: what tend reads from the files that load', async () => {
  // A task right under the job (HCL1 style, still accepted by Nomad's jobspec2: parse_job.go) becomes its own group.
  const ribeye = await built('bgpkit__ribeye__deployment__nomad_periodic_raw.hcl');
  assert.deepEqual(ribeye.groups.map((g) => [g.name, g.tasks.map((t) => t.name)]), [['ribeye_cook', ['ribeye_cook']]]);
  assert.equal(ribeye.type, 'batch');
  assert.deepEqual(ribeye.periodic && { ...ribeye.periodic, pos: undefined }, { crons: ['5 8 * * *'], prohibitOverlap: true, timeZone: 'UTC', enabled: true, pos: undefined });
  // file("./templates/template.tmpl") is read relative to the job file (the tutorial runs from its dir).
  const start = await analyse('hashicorp__learn-nomad-jobspec__parameterized/start.nomad');
  assert.deepEqual(start.reads?.map((r) => path.relative(dir, r.path)), ['hashicorp__learn-nomad-jobspec__parameterized/templates/template.tmpl']);
});
