import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseVarSpec, specFormatOf, stripSpecExtension } from '../../../src/vars/var-spec.js';
import { isTendError } from '../../../src/errors.js';

test('var spec: Nomad\'s `var get -out json` shape is read back, its ModifyIndex as the check-index', async () => {
  const spec = await parseVarSpec(
    JSON.stringify({ Namespace: 'default', Path: 'secret/creds', CreateIndex: 3, ModifyIndex: 7, CreateTime: 1662061225600373000, ModifyTime: 1662061225600373000, Items: { passcode: 'x' } }),
    'json',
    'stdin',
  );
  assert.deepEqual(spec, { path: 'secret/creds', items: { passcode: 'x' }, modifyIndex: 7 });
});

test('var spec: HCL as `nomad var init` writes it (block or map items)', async () => {
  assert.deepEqual(await parseVarSpec('# comment\npath = "a/b"\nnamespace = "default"\nitems {\n  k1 = "value 1"\n  k2 = "value 2"\n}\n', 'hcl', 'spec.nv.hcl'), {
    path: 'a/b',
    items: { k1: 'value 1', k2: 'value 2' },
  });
  assert.deepEqual(await parseVarSpec('items = { a = "1" }\n', 'hcl', 'x.hcl'), { items: { a: '1' } });
});

test('var spec: errors name the source and line, never the text', async () => {
  const fails = async (text: string, format: 'json' | 'hcl', re: RegExp) => {
    await assert.rejects(parseVarSpec(text, format, 'f.json'), (err) => {
      assert.ok(isTendError(err, 'E_VAR_INVALID'));
      assert.match(err.message, re);
      assert.ok(!err.message.includes('TOPSECRET'), err.message);
      return true;
    });
  };
  await fails('{"items": {"k": "TOPSECRET"}', 'json', /f\.json.*invalid JSON/);
  await fails('{"items": {"k": TOPSECRET}}', 'json', /f\.json: invalid JSON$/); // V8 quotes the text here: nothing of it is kept
  await fails('{"items": {"k": "TOPSECRET" "x"}}', 'json', /f\.json:1: invalid JSON at line 1, column 29/);
  await fails('{\n"items":\n {"k": "TOPSECRET",,}}', 'json', /f\.json:3: invalid JSON at line 3/);
  await fails('items {\n  k = "TOPSECRET"\n  = x\n}\n', 'hcl', /f\.json:3: .*line 3/);
  await fails('[]', 'json', /expected an object with "items", got a list/);
  await fails('{"path": "a"}', 'json', /items: required/);
  await fails('{"path": "a/../b", "items": {"k": "v"}}', 'json', /path: invalid variable path/);
  await fails('{"items": {"k": "v"}, "Namespace": "prod"}', 'json', /tend has no namespaces/);
  await fails('{"itmes": {"k": "v"}}', 'json', /unknown key "itmes".*did you mean "items"/);
  await fails('{"items": {"k": "v"}, "ModifyIndex": -1}', 'json', /ModifyIndex: expected a whole number >= 0/);
});

test('var spec: file names', () => {
  assert.equal(specFormatOf('a.nv.hcl'), 'hcl');
  assert.equal(specFormatOf('a.json'), 'json');
  assert.equal(specFormatOf('a.yaml'), undefined);
  assert.equal(stripSpecExtension('nomad/jobs/web.nv.json'), 'nomad/jobs/web');
  assert.equal(stripSpecExtension('db.hcl'), 'db');
});
