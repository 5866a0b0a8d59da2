/**
 * Nomad variables through a real agent: `bin/tend.js agent` with a variables
 * dir, and the real `bin/tendctl.js var put|get|list|purge` as an operator
 * types it. Checks what is stored (0600, across a restart), check-and-set,
 * the dir's read-only variables and their reload, and that no value ever
 * reaches the agent's log (at debug level, with the API access log on) or
 * `tendctl status`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createHarness, type Harness } from '../agent/harness.js';
import { killCliChildren, startCli } from '../../helpers/cli.js';
import { waitFor } from '../../helpers/wait.js';
import { requireLinux } from '../../helpers/gates.js';

// Every value used here: none may appear in the agent's log or in status.
const SECRETS = {
  put1: 'PUT-SECRET-4a1f0c',
  put2: 'PUT-SECRET-77d0e2',
  stdin: 'STDIN-SECRET-9be41a',
  dir1: 'DIR-SECRET-5c3d88',
  dir2: 'DIR-SECRET-e0a912',
  refused: 'REFUSED-SECRET-13f7',
};

let h: Harness | undefined;
let varsDir = '';
let varsRoot = '';

function H(): Harness {
  if (!h) throw new Error('the agent did not start');
  return h;
}

async function ctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return H().tendctl(args);
}

async function ctlOk(args: string[]): Promise<string> {
  const r = await ctl(args);
  assert.equal(r.code, 0, `tendctl ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A variables-dir file written as a sync tool does: a temp name, 0600, then rename. */
async function writeVarFile(name: string, body: unknown): Promise<void> {
  const file = path.join(varsDir, name);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(`${path.dirname(file)}/.${path.basename(file)}.tmp`, JSON.stringify(body), { mode: 0o600 });
  await rename(`${path.dirname(file)}/.${path.basename(file)}.tmp`, file);
}

function rawRequest(method: string, target: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: H().socket, method, path: target, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

before(async () => {
  varsRoot = await mkdtemp(path.join(os.tmpdir(), 'tend-e2e-vars-'));
  varsDir = path.join(varsRoot, 'vars');
  await mkdir(varsDir, { mode: 0o700 });
  await writeVarFile('shared/db.json', { items: { password: SECRETS.dir1 } });
  h = await createHarness({ config: `client {\n  variables {\n    dir = "${varsDir}"\n  }\n}\n` });
  await h.start();
});

after(async () => {
  killCliChildren();
  await h?.cleanup();
  await rm(varsRoot, { recursive: true, force: true });
});

test('tendctl var: put, get, list, check-and-set, read-only dir variables, purge — and no value in the agent log', async (t) => {
  if (!requireLinux(t)) return;
  // put: a one-line message by default, no value echoed.
  const created = await ctlOk(['var', 'put', 'nomad/jobs/web', 'user=admin', `password=${SECRETS.put1}`]);
  assert.match(created, /^Created variable "nomad\/jobs\/web" with modify index \d+\n$/);

  // get: Nomad's JSON, and one item raw.
  const v1 = JSON.parse(await ctlOk(['var', 'get', '-out', 'json', 'nomad/jobs/web']));
  assert.equal(v1.Path, 'nomad/jobs/web');
  assert.deepEqual(v1.Items, { user: 'admin', password: SECRETS.put1 });
  assert.equal(await ctlOk(['var', 'get', '-item', 'password', 'nomad/jobs/web']), SECRETS.put1);
  assert.match(await ctlOk(['var', 'get', '-out', 'table', 'nomad/jobs/web']), /Path        = nomad\/jobs\/web\n[\s\S]*Items\npassword = PUT-SECRET/);

  // The document is 0600.
  assert.equal((await stat(path.join(H().stateDir, 'variables.json'))).mode & 0o777, 0o600);

  // list: the put variable and the dir's, metadata only.
  const listed = JSON.parse(await ctlOk(['var', 'list', '-out', 'json']));
  assert.deepEqual(listed.map((m: { Path: string }) => m.Path), ['nomad/jobs/web', 'shared/db']);
  assert.ok(listed.every((m: Record<string, unknown>) => !('Items' in m)));
  assert.match(await ctlOk(['var', 'list', '-out', 'table', 'shared/']), /shared\/db\s+\S+\s+.*db\.json/);

  // check-and-set: a stale index is a conflict; the value stays.
  const stale = await ctl(['var', 'put', '-check-index', String(v1.ModifyIndex + 100), 'nomad/jobs/web', `password=${SECRETS.refused}`]);
  assert.equal(stale.code, 1);
  assert.match(stale.stderr, /Check-and-Set conflict: variable nomad\/jobs\/web has modify index \d+; expected check-index \d+ \[E_VAR_CONFLICT\]/);
  const exists = await ctl(['var', 'put', '-check-index', '0', 'nomad/jobs/web', `password=${SECRETS.refused}`]);
  assert.match(exists.stderr, /E_VAR_CONFLICT/);

  // `var get | var put -in json -`: the spec's ModifyIndex makes it a check-and-set.
  const json = await ctlOk(['var', 'get', '-out', 'json', 'nomad/jobs/web']);
  const piped = await startCli(['var', 'put', '-in', 'json', '-', `password=${SECRETS.put2}`, '-address', `unix://${H().socket}`], { input: json }).done;
  assert.equal(piped.code, 0, piped.stderr);
  assert.match(piped.stdout, /^Updated variable "nomad\/jobs\/web"/);
  const again = await startCli(['var', 'put', '-in', 'json', '-', `password=${SECRETS.refused}`, '-address', `unix://${H().socket}`], { input: json }).done;
  assert.equal(again.code, 1, 'the same spec again is stale');
  assert.match(again.stderr, /E_VAR_CONFLICT/);
  // A value from stdin (K=-), as-is.
  const fromStdin = await startCli(['var', 'put', 'nomad/jobs/web/g/t', 'token=-', '-address', `unix://${H().socket}`], { input: `${SECRETS.stdin}\n` }).done;
  assert.equal(fromStdin.code, 0, fromStdin.stderr);
  assert.equal(await ctlOk(['var', 'get', '-item', 'token', 'nomad/jobs/web/g/t']), `${SECRETS.stdin}\n`);

  // The dir's variable is read-only here.
  const ro = await ctl(['var', 'put', 'shared/db', `password=${SECRETS.refused}`]);
  assert.equal(ro.code, 1);
  assert.match(ro.stderr, /defined by .*shared\/db\.json in the variables dir \(read-only\).*\[E_VAR_READ_ONLY\]/);
  assert.match((await ctl(['var', 'purge', 'shared/db'])).stderr, /E_VAR_READ_ONLY/);

  // Bad paths and items are refused with the rule.
  assert.match((await ctl(['var', 'put', 'nomad/other', 'k=v'])).stderr, /only paths at "nomad\/jobs".*\[E_VAR_INVALID\]/);
  assert.match((await ctl(['var', 'get', 'a.b'])).stderr, /invalid variable path "a\.b".*\[E_VAR_INVALID\]/);

  // An edit of the dir file reaches the agent.
  const before = JSON.parse(await ctlOk(['var', 'get', '-out', 'json', 'shared/db']));
  await writeVarFile('shared/db.json', { items: { password: SECRETS.dir2 } });
  await waitFor(async () => JSON.parse((await rawRequest('GET', '/v1/var/shared%2Fdb')).body).items?.password === SECRETS.dir2, { what: 'the dir edit loaded', timeoutMs: 10_000, intervalMs: 50 });
  const after = JSON.parse(await ctlOk(['var', 'get', '-out', 'json', 'shared/db']));
  assert.ok(after.ModifyIndex > before.ModifyIndex);

  // Never in status.
  const status = await ctlOk(['status']);
  const statusJson = await ctlOk(['status', '-json']);
  for (const s of Object.values(SECRETS)) {
    assert.ok(!status.includes(s) && !statusJson.includes(s), `status shows ${s}`);
  }

  // A restart finds the stored variables again.
  await H().term();
  await H().start();
  assert.equal(await ctlOk(['var', 'get', '-item', 'password', 'nomad/jobs/web']), SECRETS.put2);
  assert.equal(await ctlOk(['var', 'get', '-item', 'password', 'shared/db']), SECRETS.dir2);

  // purge, with check-and-set.
  const cur = JSON.parse(await ctlOk(['var', 'get', '-out', 'json', 'nomad/jobs/web']));
  assert.match((await ctl(['var', 'purge', '-check-index', String(cur.ModifyIndex - 1), 'nomad/jobs/web'])).stderr, /E_VAR_CONFLICT/);
  assert.match(await ctlOk(['var', 'purge', '-check-index', String(cur.ModifyIndex), 'nomad/jobs/web']), /Successfully purged variable "nomad\/jobs\/web"!/);
  const gone = await ctl(['var', 'get', 'nomad/jobs/web']);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /variable nomad\/jobs\/web not found \[E_VAR_NOT_FOUND\]/);

  // The agent logged the API calls (debug) and the writes, never a value.
  const log = H().agentLog();
  assert.match(log, /"msg":"variable written"/);
  assert.match(log, /"path":"\/v1\/var\/nomad%2Fjobs%2Fweb".*"msg":"api request"/);
  for (const s of Object.values(SECRETS)) assert.ok(!log.includes(s), `the agent log holds ${s}`);
});

test('variables API: a path is never normalised, a body never quoted back', async (t) => {
  if (!requireLinux(t)) return;
  await ctlOk(['var', 'put', 'b', 'k=v']);
  // URL parsing would turn /v1/var/a/../b into /v1/b; the raw target keeps the "..", which is invalid.
  const dotted = await rawRequest('GET', '/v1/var/a/../b');
  assert.equal(dotted.status, 400);
  assert.equal(JSON.parse(dotted.body).error.details.path, 'a/../b');
  assert.equal((await rawRequest('DELETE', '/v1/var/a/%2e%2e/b')).status, 400);
  // Plain slashes work as Nomad's API has them.
  assert.equal(JSON.parse((await rawRequest('GET', '/v1/var/b')).body).items.k, 'v');
  const bad = await rawRequest('PUT', '/v1/var/c', `{"items": {"k": "${SECRETS.refused}"`);
  assert.equal(bad.status, 400);
  assert.ok(!bad.body.includes(SECRETS.refused), bad.body);
  const big = await rawRequest('PUT', '/v1/var/c', JSON.stringify({ items: { k: 'x'.repeat(70 * 1024) } }));
  assert.equal(big.status, 400);
  assert.match(big.body, /limited to 64KiB/);
  assert.ok(!H().agentLog().includes(SECRETS.refused));
});
