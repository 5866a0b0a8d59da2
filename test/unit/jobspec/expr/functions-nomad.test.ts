import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import bcryptjs from 'bcryptjs';
import { evalTemplate, type EvalScope, type Value } from '../../../../src/jobspec/expr/index.js';

const scope: EvalScope = { vars: {}, locals: {} };
const call = (expr: string, s: EvalScope = scope): Value => evalTemplate('${' + expr + '}', s);

test('functions: cidr* give the examples of Nomad\'s docs', () => {
  assert.equal(call('cidrhost("10.12.112.0/20", 16)'), '10.12.112.16');
  assert.equal(call('cidrhost("10.12.112.0/20", 268)'), '10.12.113.12');
  assert.equal(call('cidrhost("fd00:fd12:3456:7890:00a2::/72", 34)'), 'fd00:fd12:3456:7890::22');
  assert.equal(call('cidrnetmask("172.16.0.0/12")'), '255.240.0.0');
  assert.equal(call('cidrsubnet("172.16.0.0/12", 4, 2)'), '172.18.0.0/16');
  assert.equal(call('cidrsubnet("10.1.2.0/24", 4, 15)'), '10.1.2.240/28');
  assert.equal(call('cidrsubnet("fd00:fd12:3456:7890::/56", 16, 162)'), 'fd00:fd12:3456:7800:a200::/72');
  assert.deepEqual(call('cidrsubnets("10.1.0.0/16", 4, 4, 8, 4)'), ['10.1.0.0/20', '10.1.16.0/20', '10.1.32.0/24', '10.1.48.0/20']);
  assert.throws(() => call('cidrsubnet("10.1.2.0/24", 4, 16)'), /fits in 4 bits/);
  assert.throws(() => call('cidrhost("nope", 1)'), /expected a CIDR prefix/);
});

test('functions: formatdate and timeadd give the examples of Nomad\'s docs', () => {
  assert.equal(call('formatdate("DD MMM YYYY hh:mm ZZZ", "2018-01-02T23:12:01Z")'), '02 Jan 2018 23:12 UTC');
  assert.equal(call('formatdate("EEEE, DD-MMM-YY hh:mm:ss ZZZ", "2018-01-02T23:12:01Z")'), 'Tuesday, 02-Jan-18 23:12:01 UTC');
  assert.equal(call('formatdate("EEE, DD MMM YYYY hh:mm:ss ZZZ", "2018-01-02T23:12:01-08:00")'), 'Tue, 02 Jan 2018 23:12:01 -0800');
  assert.equal(call('formatdate("MMM DD, YYYY", "2018-01-02T23:12:01Z")'), 'Jan 02, 2018');
  assert.equal(call('formatdate("HH:mmaa", "2018-01-02T23:12:01Z")'), '11:12pm');
  assert.equal(call('formatdate("h\'h\'mm", "2018-01-02T23:12:01-08:00")'), '23h12');
  assert.equal(call('formatdate("YYYY-MM-DD\'T\'hh:mm:ssZ", "2018-01-02T23:12:01+05:30")'), '2018-01-02T23:12:01+05:30');
  assert.equal(call('timeadd("2017-11-22T00:00:00Z", "10m")'), '2017-11-22T00:10:00Z');
  assert.equal(call('timeadd("2017-11-22T00:00:00-08:00", "-1h30m")'), '2017-11-21T22:30:00-08:00');
  assert.throws(() => call('formatdate("YYYY", "yesterday")'), /RFC 3339/);
  assert.throws(() => call('timeadd("2017-11-22T00:00:00Z", "10 minutes")'), /expected a duration/);
});

test('functions: crypto and uuid functions', () => {
  assert.equal(call('sha512("hello world")'), '309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f989dd35bc5ff499670da34255b45b0cfd830e81f605dcf7dc5542e93ae9cd76f');
  const hash = call('bcrypt("hello world")') as string;
  assert.match(hash, /^\$2a\$10\$/);
  assert.ok(bcryptjs.compareSync('hello world', hash));
  assert.match(call('bcrypt("x", 6)') as string, /^\$2a\$06\$/);
  assert.throws(() => call('bcrypt("x", 3)'), /cost from 4 to 31/);
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  assert.match(call('uuidv4()') as string, uuid);
  assert.notEqual(call('uuidv4()'), call('uuidv4()'));
  // Seeded by the job file's content while loading: the same file, the same values.
  const seeded = (): EvalScope => ({ vars: {}, locals: {}, files: { baseDir: '/', roots: [], reads: [], seed: 'abc' } });
  const s1 = seeded();
  const s2 = seeded();
  assert.deepEqual([call('uuidv4()', s1), call('uuidv4()', s1)], [call('uuidv4()', s2), call('uuidv4()', s2)]);
  assert.notEqual(call('uuidv4()', s1), call('uuidv4()', s1));
  assert.equal(call('uuidv5("dns", "www.terraform.io")'), 'a5008fae-b28c-5ba5-96cd-82b4c53552d6');
});

test('functions: regex_replace, chunklist, setproduct, strlen, log, yamldecode', () => {
  assert.equal(call('regex_replace("hello world", "o", "0")'), 'hell0 w0rld');
  assert.equal(call('regex_replace("2024-05-01", "(\\\\d+)-(\\\\d+)-(\\\\d+)", "$3/$2/$1")'), '01/05/2024');
  assert.deepEqual(call('chunklist(["a", "b", "c", "d", "e"], 2)'), [['a', 'b'], ['c', 'd'], ['e']]);
  assert.deepEqual(call('chunklist(["a", "b"], 0)'), [['a', 'b']]);
  assert.deepEqual(call('setproduct(["development", "staging"], ["app1", "app2"])'), [
    ['development', 'app1'],
    ['development', 'app2'],
    ['staging', 'app1'],
    ['staging', 'app2'],
  ]);
  assert.equal(call('strlen("hello")'), 5);
  assert.equal(call('strlen("🇩🇪é")'), 2);
  assert.equal(call('log(16, 2)'), 4);
  assert.ok(Math.abs((call('log(50, 10)') as number) - 1.69897) < 1e-5);
  assert.deepEqual(call('yamldecode("hello: world")'), { hello: 'world' });
  assert.equal(call('yamldecode("true")'), true);
  assert.deepEqual(call('yamldecode("{a: &foo [1, 2, 3], b: *foo}")'), { a: [1, 2, 3], b: [1, 2, 3] });
  assert.throws(() => call('yamldecode("a: 1\\n---\\nb: 2")'), /exactly one YAML document/);
});

test('functions: path functions without the file system (Go\'s path rules)', () => {
  assert.equal(call('basename("foo/bar/baz.txt")'), 'baz.txt');
  assert.equal(call('basename("/foo/bar/")'), 'bar');
  assert.equal(call('basename("")'), '.');
  assert.equal(call('dirname("foo/bar/baz.txt")'), 'foo/bar');
  assert.equal(call('dirname("baz.txt")'), '.');
  assert.equal(call('dirname("/baz.txt")'), '/');
  assert.equal(call('pathexpand("~/.ssh/id_rsa")'), `${os.homedir()}/.ssh/id_rsa`);
  assert.equal(call('pathexpand("/etc/resolv.conf")'), '/etc/resolv.conf');
});
