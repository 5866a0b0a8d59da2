// consul-template's helper functions, as its docs/templating-language.md describes them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fails, run } from './helpers.js';

const json = (s: string) => `(parseJSON \`${s}\`)`;

test('base64Encode / base64Decode: standard alphabet with padding; bad input names the byte', () => {
  assert.equal(run('{{ "hello" | base64Encode }}|{{ "aGVsbG8=" | base64Decode }}|{{ "4pyTIMOgIGxhIG1vZGU=" | base64Decode }}'), 'aGVsbG8=|hello|✓ à la mode');
  fails('{{ "aGVsbG8" | base64Decode }}', /error calling base64Decode: base64Decode: illegal base64 data at input byte 4/);
  fails('{{ "aG!s" | base64Decode }}', /illegal base64 data at input byte 2/);
});

test('base64URLEncode / base64URLDecode: URL alphabet, padded', () => {
  assert.equal(run('{{ "??>" | base64URLEncode }}|{{ "Pz8-" | base64URLDecode }}|{{ "a" | base64URLEncode }}'), 'Pz8-|??>|YQ==');
  fails('{{ "Pz8+" | base64URLDecode }}', /base64URLDecode: illegal base64 data at input byte 3/);
});

test('toJSON: sorted keys, HTML characters escaped as Go does; toJSONPretty indents by two', () => {
  const v = json('{"b":[1,2.5,"<&>"],"a":{"z":null,"y":true},"10":1,"9":2}');
  assert.equal(run(`{{ ${v} | toJSON }}`), '{"10":1,"9":2,"a":{"y":true,"z":null},"b":[1,2.5,"\\u003c\\u0026\\u003e"]}');
  assert.equal(run(`{{ ${json('{"a":[1],"b":{}}')} | toJSONPretty }}`), '{\n  "a": [\n    1\n  ],\n  "b": {}\n}');
  assert.equal(run('{{ split "," "x,y" | toJSON }}'), '["x","y"]');
});

test('parseJSON: objects, lists, numbers as float64; "" is an empty map; bad JSON is an error', () => {
  assert.equal(run(`{{ with ${json('{"n":2,"l":["a"]}')} }}{{ .n }} {{ index .l 0 }} {{ printf "%T" .n }}{{ end }}|{{ len (parseJSON "") }}`), '2 a float64|0');
  fails('{{ parseJSON "{" }}', /error calling parseJSON/);
});

test('toYAML: keys sorted, lists not indented, strings that look like other types quoted', () => {
  assert.equal(run(`{{ ${json('{"b":["x","y"],"a":{"port":"1234","on":"yes"},"c":1.5}')} | toYAML }}`), 'a:\n  "on": "yes"\n  port: "1234"\nb:\n- x\n- "y"\nc: 1.5');
});

test('parseYAML: maps, lists, ints stay ints', () => {
  assert.equal(run('{{ with parseYAML "a: 1\\nb: [x, 2.5]\\n" }}{{ .a }} {{ printf "%T" .a }} {{ index .b 1 }}{{ end }}'), '1 int 2.5');
});

test('toTOML: plain keys first, then tables indented two spaces', () => {
  assert.equal(run(`{{ ${json('{"minconns":"2","admin":{"port":"1134","deep":{"x":true}},"maxconns":"5","list":[1,2]}')} | toTOML }}`),
    'list = [1.0, 2.0]\nmaxconns = "5"\nminconns = "2"\n\n[admin]\n  port = "1134"\n\n  [admin.deep]\n    x = true');
});

test('split: on a separator, trimming the input first; an empty input gives an empty list', () => {
  assert.equal(run('{{ range "a,b,,c\\n" | split "," }}[{{ . }}]{{ end }}|{{ len (split "," "  ") }}'), '[a][b][][c]|0');
});

test('join: a list of strings with a separator; other lists are refused as Go does', () => {
  assert.equal(run('{{ split " " "x y z" | join ", " }}'), 'x, y, z');
  fails('{{ join "," 3 }}', /wrong type for value; expected \[\]string; got int/);
});

test('replaceAll: every occurrence', () => {
  assert.equal(run('{{ "foo.bar.baz" | replaceAll "." "_" }}'), 'foo_bar_baz');
});

test('regexReplaceAll: Go regexp syntax and $1 / ${name} expansion', () => {
  assert.equal(run('{{ "foo.bar" | regexReplaceAll "foo([.a-z]+)" "$1" }}|{{ "a1b22" | regexReplaceAll "(?P<d>[0-9]+)" "<${d}>" }}|{{ "ab" | regexReplaceAll "(a)" "$1x" }}'), '.bar|a<1>b<22>|b');
  fails('{{ regexReplaceAll "(" "" "x" }}', /error calling regexReplaceAll: error parsing regexp/);
});

test('regexMatch: true when the expression matches anywhere', () => {
  assert.equal(run('{{ "foo.bar" | regexMatch "foo([.a-z]+)" }} {{ "FOO" | regexMatch "(?i)^foo$" }} {{ regexMatch "^x" "ax" }}'), 'true true false');
});

test('toLower / toUpper / toTitle / trimSpace / trim / trimPrefix / trimSuffix', () => {
  assert.equal(run('{{ "MiXed" | toLower }} {{ "MiXed" | toUpper }} {{ "hello wORLD" | toTitle }} [{{ " \\t x \\n" | trimSpace }}] {{ "--x--" | trim "-" }} {{ "prefix-x" | trimPrefix "prefix-" }} {{ "x.txt" | trimSuffix ".txt" }}'),
    'mixed MIXED Hello WORLD [x] x x x');
});

test('string functions refuse non-strings with Go\'s message', () => {
  fails('{{ toLower 3 }}', 'template: t:1:4: executing "t" at <toLower 3>: wrong type for value; expected string; got int');
});

test('contains / in: membership in a list (same kind) or a substring', () => {
  assert.equal(run(`{{ ${json('["a","b"]')} | contains "b" }} {{ in ${json('["a"]')} "z" }} {{ "foobar" | contains "oba" }} {{ in (split "," "1,2") 1 }}`), 'true false true false');
});

test('containsAll / containsAny / containsNone / containsNotAll', () => {
  const l = json('["a","b","c"]');
  const r = (f: string, n: string) => run(`{{ ${f} ${json(n)} ${l} }}`);
  assert.deepEqual(
    [r('containsAll', '["a","b"]'), r('containsAll', '["a","z"]'), r('containsAll', '[]'), r('containsAny', '["z","c"]'), r('containsAny', '[]')],
    ['true', 'false', 'true', 'true', 'false'],
  );
  assert.deepEqual([r('containsNone', '["z"]'), r('containsNone', '["a"]'), r('containsNotAll', '["a","z"]'), r('containsNotAll', '["a"]')], ['true', 'false', 'true', 'false']);
});

test('loop: one argument counts from 0, two from the first; a channel ranges with one variable only', () => {
  assert.equal(run('{{ range loop 3 }}{{ . }}{{ end }}|{{ range $i := loop 5 8 }}stanza-{{ $i }} {{ end }}|{{ range loop "2" }}x{{ end }}'), '012|stanza-5 stanza-6 stanza-7 |xx');
  fails('{{ range $i, $e := loop 5 8 }}{{ end }}', /can't use .* to iterate over more than one variable/);
  fails('{{ loop 1 2 3 }}', /loop: wrong number of arguments, expected 1 or 2, but got 3/);
});

test('add / subtract / multiply / divide / modulo: consul-template argument order (piped value first operand)', () => {
  assert.equal(run('{{ add 1 2 }} {{ 5 | subtract 2 }} {{ subtract 2 5 }} {{ 2 | multiply 3 }} {{ 10 | divide 2 }} {{ 7 | divide 2 }} {{ 5 | modulo 2 }}'), '3 3 3 6 5 3 1');
  assert.equal(run('{{ add 1 2.5 }} {{ 7.0 | divide 2 }} {{ printf "%T" (add 1 2.0) }} {{ minimum 2 5 }} {{ maximum 2 5 }}'), '3.5 3.5 float64 2 5');
  fails('{{ 1 | divide 0 }}', /error calling divide: runtime error: integer divide by zero/);
  fails('{{ add 1 "2" }}', /error calling add: add: unknown type for "2" \(string\)/);
});

test('parseBool / parseInt / parseFloat / parseUint', () => {
  assert.equal(run('{{ "true" | parseBool }} {{ parseBool "" }} {{ "42" | parseInt | add 1 }} {{ "1.5" | parseFloat }} {{ "7" | parseUint }}'), 'true false 43 1.5 7');
  fails('{{ parseInt "x" }}', /parseInt: strconv.ParseInt: parsing "x": invalid syntax/);
});

test('sha256Hex / md5sum / hmacSHA256Hex', () => {
  assert.equal(run('{{ "bladibla" | sha256Hex }}'), '54cf4c66bcabb5c20e25331c01dd600b73369e97a947861bd8d3a0e0b8b3d70b');
  assert.equal(run('{{ "hello" | md5sum }}'), '5d41402abc4b2a76b9719d911017c592');
  assert.equal(run('{{ hmacSHA256Hex "msg" "key" }}'), '2d93cbc1be167bcb1637a4a23cbff01a7878f0c50ee833954ea5221bb1b8c628');
});

test('indent: prefixes every non-empty line', () => {
  assert.equal(run('{{ "a\\n\\nb" | indent 2 }}'), '  a\n\n  b');
});

test('splitToMap: pairs into a map', () => {
  assert.equal(run('{{ with splitToMap "," "=" "a=1,b=2,bad" }}{{ .a }}{{ .b }} {{ len . }}{{ end }}'), '12 2');
});

test('timestamp: RFC 3339 in UTC by default, Go layouts, "unix"', () => {
  const now = () => new Date(Date.UTC(2009, 10, 10, 23, 4, 5, 120));
  const ctx = { now };
  assert.equal(run('{{ timestamp }}', ctx), '2009-11-10T23:04:05Z');
  assert.equal(run('{{ timestamp "2006-01-02" }}|{{ timestamp "unix" }}', ctx), '2009-11-10|1257894245');
  assert.equal(run('{{ timestamp "Mon Jan _2 3:04PM .000 MST -0700 Z07:00 January Monday 002 .999" }}', ctx), 'Tue Nov 10 11:04PM .120 UTC +0000 Z November Tuesday 314 .12');
  fails('{{ timestamp "a" "b" }}', /timestamp: wrong number of arguments, expected 0 or 1, but got 2/);
});

test('executeTemplate: runs a defined template and returns its text, with an optional dot', () => {
  assert.equal(run('{{ define "custom" }}my {{ . }}{{ end }}{{ executeTemplate "custom" }}|{{ executeTemplate "custom" 42 | toUpper }}|{{ $v := executeTemplate "custom" "x" }}{{ $v }}'), 'my <no value>|MY 42|my x');
  fails('{{ executeTemplate "nope" }}', /no such template "nope"/);
});
