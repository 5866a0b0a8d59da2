import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { CommandIO } from '../../../src/cli/command.js';
import { nomadJson, putInput, variableTable, listTable } from '../../../src/cli/commands/var.js';
import { parseFlags, UsageError } from '../../../src/cli/flags.js';
import { varCommand } from '../../../src/cli/commands/var.js';

function io(stdin = '', cwd = process.cwd()): CommandIO {
  const input = new PassThrough();
  input.end(stdin);
  return { stdout: new PassThrough(), stderr: new PassThrough(), stdin: input, env: {}, cwd };
}

/** putInput as `tendctl var put ARGV` would call it. */
async function put(argv: string[], o: { stdin?: string; cwd?: string } = {}) {
  const spec = [
    { names: ['check-index'], kind: 'number' as const, help: '' },
    { names: ['force'], kind: 'bool' as const, help: '' },
    { names: ['in'], kind: 'string' as const, help: '' },
  ];
  const p = parseFlags(argv, spec);
  return putInput(p.args, p.flags, p.given, io(o.stdin, o.cwd));
}

test('var put arguments: PATH K=V, K=@FILE, K=- and specifications, arguments winning', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tend-varcli-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  await fs.writeFile(path.join(dir, 'cert.pem'), '-----BEGIN-----\nline\n');
  await fs.writeFile(path.join(dir, 'spec.nv.hcl'), 'path = "from/spec"\nitems {\n  a = "spec"\n  b = "spec"\n}\n');
  await fs.writeFile(path.join(dir, 'spec.json'), JSON.stringify({ Path: 'from/json', ModifyIndex: 4, Items: { a: 'json' } }));
  assert.deepEqual(await put(['web', 'user=me', 'pass=a=b', 'empty=']), { path: 'web', items: { user: 'me', pass: 'a=b', empty: '' } });
  assert.deepEqual(await put(['web', 'cert=@cert.pem'], { cwd: dir }), { path: 'web', items: { cert: '-----BEGIN-----\nline\n' } });
  assert.deepEqual(await put(['web', 'k=-'], { stdin: 'from stdin\n' }), { path: 'web', items: { k: 'from stdin\n' } });
  assert.deepEqual(await put(['@spec.nv.hcl', 'b=arg'], { cwd: dir }), { path: 'from/spec', items: { a: 'spec', b: 'arg' } });
  assert.deepEqual(await put(['other', '@spec.nv.hcl'], { cwd: dir }), { path: 'other', items: { a: 'spec', b: 'spec' } });
  // A spec's ModifyIndex is a check-and-set unless -force; -check-index wins.
  assert.deepEqual(await put(['@spec.json'], { cwd: dir }), { path: 'from/json', items: { a: 'json' }, cas: 4 });
  assert.deepEqual(await put(['-force', '@spec.json'], { cwd: dir }), { path: 'from/json', items: { a: 'json' } });
  assert.deepEqual(await put(['-check-index', '0', '@spec.json'], { cwd: dir }), { path: 'from/json', items: { a: 'json' }, cas: 0 });
  // Stdin: "-", or -in with no other spec (`var put -in json PATH < file`).
  assert.deepEqual(await put(['-'], { stdin: '{"path": "p", "items": {"k": "v"}}' }), { path: 'p', items: { k: 'v' } });
  assert.deepEqual(await put(['-in', 'json', 'p2'], { stdin: '{"items": {"k": "v"}}' }), { path: 'p2', items: { k: 'v' } });
  assert.deepEqual(await put(['-in', 'hcl', 'p3', '-'], { stdin: 'items {\n  k = "v"\n}\n' }), { path: 'p3', items: { k: 'v' } });
});

test('var put arguments: mistakes are usage errors', async () => {
  await assert.rejects(put(['web']), (err) => err instanceof UsageError && /expected items/.test(err.message));
  await assert.rejects(put(['k=v']), (err) => err instanceof UsageError && /expected a PATH/.test(err.message));
  await assert.rejects(put(['web', '=v']), (err) => err instanceof UsageError && /the key is empty/.test(err.message));
  await assert.rejects(put(['web', 'k=v', 'stray']), (err) => err instanceof UsageError && /unexpected argument "stray"/.test(err.message));
  await assert.rejects(put(['-', 'k=-']), (err) => err instanceof UsageError && /stdin can feed only one/.test(err.message));
  await assert.rejects(put(['-in', 'yaml', 'p', 'k=v']), (err) => err instanceof UsageError && /expected json or hcl/.test(err.message));
  await assert.rejects(put(['-check-index', '-1', 'p', 'k=v']), (err) => err instanceof UsageError && /whole number/.test(err.message));
  await assert.rejects(put(['p', 'k=@/nonexistent/file']), /failed to read \/nonexistent\/file/);
});

test('var: flags of another subcommand and unknown subcommands are refused before any request', async () => {
  await assert.rejects(varCommand.run(['get', '-check-index', '1', 'p'], io()), (err) => err instanceof UsageError && /-check-index does not apply to "var get"/.test(err.message));
  await assert.rejects(varCommand.run(['delete', 'p'], io()), (err) => err instanceof UsageError && /unknown subcommand "delete"/.test(err.message));
  await assert.rejects(varCommand.run([], io()), (err) => err instanceof UsageError && /expected a subcommand/.test(err.message));
});

test('var output: Nomad\'s JSON (exact nanoseconds) and tables', () => {
  const v = { path: 'secret/creds', items: { user: 'me', passcode: 'x' }, createIndex: 3, modifyIndex: 7, createTime: 1662061225600, modifyTime: 1662061717905 };
  const json = nomadJson(v);
  assert.match(json, /"CreateTime": 1662061225600000000,/);
  assert.match(json, /"ModifyTime": 1662061717905000000,/);
  assert.deepEqual(Object.keys(JSON.parse(json)), ['Namespace', 'Path', 'CreateIndex', 'ModifyIndex', 'CreateTime', 'ModifyTime', 'Items']);
  // A value that looks like the marker stays a string.
  assert.equal(JSON.parse(nomadJson({ ...v, items: { k: '"123"' } })).Items.k, '"123"');
  assert.match(variableTable(v), /^Path        = secret\/creds\nCreate Time = 2022-09-01T19:40:25\.600Z\nCheck Index = 7\nSource      = tendctl var put\n\nItems\npasscode = x\nuser     = me\n$/);
  assert.match(listTable([{ ...v, file: '/etc/tend/vars/x.json' }]), /secret\/creds\s+2022-09-01T19:48:37\.905Z\s+\/etc\/tend\/vars\/x\.json/);
  assert.equal(listTable([]), 'No variables found\n');
  const list = JSON.parse(nomadJson([{ path: 'a', createIndex: 1, modifyIndex: 1, createTime: 0, modifyTime: 0 }]));
  assert.deepEqual(list, [{ Namespace: 'default', Path: 'a', CreateIndex: 1, ModifyIndex: 1, CreateTime: 0, ModifyTime: 0 }]);
});
