import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExprError, evalTemplate, type Value } from '../../../../src/jobspec/expr/index.js';

const scope = { vars: { m: { b: 1, a: 2 }, xs: ['a', 'b'] }, locals: {} };

function call(expr: string): Value {
  return evalTemplate('${' + expr + '}', scope);
}

/** [expression, expected value, an erroring call of the same function, the error it gives]. */
const table: [string, Value, string, RegExp][] = [
  // string
  ['upper("abc")', 'ABC', 'upper([1])', /expected string, got list/],
  ['lower("ABC")', 'abc', 'lower({})', /expected string, got object/],
  ['title("hello world-foo bar_baz")', 'Hello World-Foo Bar_baz', 'title()', /expected 1 argument, got 0/],
  ['trimspace("  x \\n")', 'x', 'trimspace(null)', /expected string, got null/],
  ['trim("  xx--", " -")', 'xx', 'trim("x")', /expected 2 arguments, got 1/],
  ['trimprefix("foobar", "foo")', 'bar', 'trimprefix([], "f")', /expected string/],
  ['trimsuffix("foobar", "bar")', 'foo', 'trimsuffix("f")', /expected 2 arguments/],
  ['replace("a.b.c", ".", "-")', 'a-b-c', 'replace("a", "/(/", "")', /expected a valid regular expression, got "\("/],
  ['replace("k=v x=y", "/(?P<key>\\\\w)=(\\\\w)/", "$2:$${key}")', 'v:k y:x', 'replace("a", "b")', /expected 3 arguments, got 2/],
  ['format("%s-%03d|%-4s|%5.1f|%v|%t|%x|%q|%%|%[1]s", "a", 7, "b", 3.14159, [1], true, 255, "q")', 'a-007|b   |  3.1|[1]|true|ff|"q"|%|a', 'format("%s %s", "a")', /expected an argument for "%s", got only 1 argument/],
  ['format("%e %g %g %b %o %X %+d", 1234.5, 0.00001, 1234567, 5, 8, 255, 3)', '1.234500e+03 1e-05 1.234567e+06 101 10 FF +3', 'format("%d", 1.5)', /expected a whole number for %d, got number 1.5/],
  ['formatlist("%s=%s", ["a", "b"], "x")', ['a=x', 'b=x'], 'formatlist("%s%s", ["a"], ["b", "c"])', /expected lists of the same length, got 1 and 2/],
  ['join("-", ["a", 1, true], ["b"])', 'a-1-true-b', 'join("-", "a")', /expected list, got string "a"/],
  ['split(",", "a,b,,c")', ['a', 'b', '', 'c'], 'split(",")', /expected 2 arguments/],
  ['substr("hello", 1, 3)', 'ell', 'substr("hello", 9, 1)', /expected an offset within the string's 5 characters, got 9/],
  ['substr("héllo", -3, -1)', 'llo', 'substr("x", 0.5, 1)', /expected whole numbers/],
  ['strrev("abc")', 'cba', 'strrev(1, 2)', /expected 1 argument/],
  ['chomp("x\\n\\r\\n")', 'x', 'chomp([])', /expected string/],
  ['indent(2, "a\\nb")', 'a\n  b', 'indent(-1, "a")', /expected a whole number of spaces/],
  ['regex("(\\\\d+)-(\\\\d+)", "10-20")', ['10', '20'], 'regex("x", "y")', /expected the pattern "x" to match, got no match/],
  ['regex("(?P<k>\\\\w+)=(?P<v>\\\\w+)", "a=b")', { k: 'a', v: 'b' }, 'regex("(?P<k>a)(b)", "ab")', /only named or only unnamed/],
  ['regex("[a-z]+", "12ab")', 'ab', 'regex("(", "")', /valid regular expression/],
  ['regexall("[a-z]+", "ab 12 cd")', ['ab', 'cd'], 'regexall("[")', /expected 2 arguments/],
  ['startswith("abc", "ab")', true, 'startswith("a")', /expected 2 arguments/],
  ['endswith("abc", "bc")', true, 'endswith([], "")', /expected string/],
  ['strcontains("abc", "d")', false, 'strcontains("a", {})', /expected string/],
  // collection
  ['length("héllo")', 5, 'length(5)', /expected a string, list or map, got number 5/],
  ['length({a = 1})', 1, 'length(null)', /got null/],
  ['concat([1], ["a"], [])', [1, 'a'], 'concat([1], 2)', /expected list, got number 2/],
  ['contains(["a", 2], 2)', true, 'contains("a", "a")', /expected list, got string/],
  ['distinct([1, 1, "1", 2])', [1, '1', 2], 'distinct({})', /expected list/],
  ['element(["a", "b"], 5)', 'b', 'element([], 0)', /expected a non-empty list/],
  ['flatten([[1, [2]], 3, []])', [1, 2, 3], 'flatten(1)', /expected list/],
  ['keys(var.m)', ['a', 'b'], 'keys([1])', /expected map, got list/],
  ['values(var.m)', [2, 1], 'values("x")', /expected map/],
  ['lookup(var.m, "c", 0)', 0, 'lookup(var.m, "c")', /expected the map to have key "c", got no such key and no default/],
  ['lookup(var.m, "a")', 2, 'lookup([], "a")', /expected map/],
  ['merge({a = 1}, null, {a = 2, b = 3})', { a: 2, b: 3 }, 'merge({}, [1])', /expected map or object, got list/],
  ['range(3)', [0, 1, 2], 'range(1, 5, 0)', /expected a non-zero step, got 0/],
  ['range(1, 10, 3)', [1, 4, 7], 'range(1, 5, -1)', /expected a step that moves from 1 towards 5, got -1/],
  ['range(3, 0)', [3, 2, 1], 'range(0, 5000)', /expected at most 1024 elements/],
  ['reverse([1, 2, 3])', [3, 2, 1], 'reverse("ab")', /expected list/],
  ['slice([1, 2, 3], 1, 3)', [2, 3], 'slice([1, 2, 3], 1, 5)', /expected 0 <= start <= end <= 3, got start 1 and end 5/],
  ['sort(["b", "a", 3])', ['3', 'a', 'b'], 'sort([[1]])', /expected string, got list/],
  ['zipmap(["a", "b"], [1, 2])', { a: 1, b: 2 }, 'zipmap(["a"], [])', /expected as many values as keys \(1\), got 0/],
  ['coalesce("", null, "x", "y")', 'x', 'coalesce("", null)', /expected a non-null, non-empty argument, got none/],
  ['coalescelist([], [1], [2])', [1], 'coalescelist([], [])', /expected a non-empty list, got none/],
  ['compact(["a", "", null, "b"])', ['a', 'b'], 'compact("a")', /expected list/],
  ['index(["a", "b"], "b")', 1, 'index(["a"], "z")', /expected the list to contain string "z"/],
  ['setunion(["b", "a"], ["c", "a"])', ['a', 'b', 'c'], 'setunion("a")', /expected set, got string/],
  ['setintersection([3, 1, 2], [2, 3, 4])', [2, 3], 'setintersection([1], 2)', /expected set, got number/],
  ['tolist(["a"])', ['a'], 'tolist({a = 1})', /expected list, got object/],
  ['toset(["b", "a", "b"])', ['a', 'b'], 'toset("a")', /expected list or set, got string/],
  ['tomap({a = 1})', { a: 1 }, 'tomap([1])', /expected map, got list/],
  ['tostring(5)', '5', 'tostring([1])', /expected string, got list/],
  ['tostring(null)', null, 'tostring({})', /expected string, got object/],
  ['tonumber("1.5")', 1.5, 'tonumber("x")', /expected number, got string "x"/],
  ['tobool("true")', true, 'tobool("yes")', /expected bool, got string "yes"/],
  ['try(var.m.c, var.m.a)', 2, 'try(var.m.c, var.m.d)', /no expression succeeded: unsupported attribute "d"/],
  ['can(var.m.c)', false, 'can(1, 2)', /expected 1 argument, got 2/],
  ['can(var.m.a)', true, 'can()', /expected 1 argument, got 0/],
  // numeric
  ['min(3, "1", 2)', 1, 'min()', /expected at least 1 argument, got 0/],
  ['max(1, "7", 3)', 7, 'max("x")', /expected number, got string "x"/],
  ['abs(-1.5)', 1.5, 'abs("a")', /expected number/],
  ['ceil(1.1)', 2, 'ceil(true)', /expected number, got bool true/],
  ['floor(-1.1)', -2, 'floor()', /expected 1 argument/],
  ['parseint("FF", 16)', 255, 'parseint("zz", 10)', /expected a number in base 10, got "zz"/],
  ['parseint("-101", 2)', -5, 'parseint("1", 63)', /expected a base from 2 to 62, got 63/],
  ['pow(2, 10)', 1024, 'pow(2)', /expected 2 arguments/],
  ['signum(-3)', -1, 'signum("-")', /expected number/],
  // encoding
  ['jsonencode({b = [1, 2.5, null], a = "<x&y>"})', '{"a":"\\u003cx\\u0026y\\u003e","b":[1,2.5,null]}', 'jsonencode()', /expected 1 argument/],
  ['jsondecode("{\\"a\\":[1,true,null]}")', { a: [1, true, null] }, 'jsondecode("{")', /expected valid JSON, got string "\{"/],
  ['yamlencode({a = [1, {b = "c"}], d = {}, e = "s"})', '"a":\n- 1\n- "b": "c"\n"d": {}\n"e": "s"\n', 'yamlencode()', /expected 1 argument/],
  ['csvdecode("a,b\\n1,\\"x,y\\"\\n3,4\\n")', [{ a: '1', b: 'x,y' }, { a: '3', b: '4' }], 'csvdecode("a,b\\n1\\n")', /expected 2 fields on CSV line 2, got 1/],
  ['base64encode("hello")', 'aGVsbG8=', 'base64encode([])', /expected string/],
  ['base64decode("aGVsbG8=")', 'hello', 'base64decode("!!")', /expected base64 text, got string "!!"/],
  ['urlencode("a b&c=d/é~")', 'a+b%26c%3Dd%2F%C3%A9~', 'urlencode()', /expected 1 argument/],
  // hashing (reference values from coreutils md5sum/sha1sum/sha256sum and Terraform's docs for uuidv5)
  ['md5("x")', '9dd4e461268c8034f5c8564e155c67a6', 'md5([])', /expected string/],
  ['sha1("x")', '11f6ad8ec52a2984abaafd7c3b516503785c2072', 'sha1()', /expected 1 argument/],
  ['sha256("x")', '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881', 'sha256({})', /expected string/],
  ['uuidv5("dns", "www.terraform.io")', 'a5008fae-b28c-5ba5-96cd-82b4c53552d6', 'uuidv5("nope", "x")', /expected a namespace "dns", "url", "oid", "x500" or a UUID/],
];

test('functions: each function computes its result and reports bad arguments', () => {
  for (const [expr, want, bad, message] of table) {
    assert.deepEqual(call(expr), want, expr);
    assert.throws(
      () => call(bad),
      (err: unknown) => {
        assert.ok(err instanceof ExprError, `${bad}: ${String(err)}`);
        assert.match(err.message, message, bad);
        assert.equal(err.offset, 2, `${bad}: the call's offset`);
        return true;
      },
      bad,
    );
  }
});

test('functions: a function error names the function', () => {
  assert.throws(() => call('upper([1])'), /^ExprError: failed to call function "upper": expected string, got list$/);
});

test('functions: "..." expands a list into arguments', () => {
  assert.equal(call('max([1, 5, 3]...)'), 5);
  assert.equal(call('format("%s-%s", ["a", "b"]...)'), 'a-b');
  assert.throws(() => call('max(1...)'), (e: unknown) => e instanceof ExprError && /expected a list before "\.\.\.", got number 1/.test(e.message) && e.offset === 6);
});

test('functions: unknown and unsupported functions name themselves', () => {
  assert.throws(() => call('timestamp()'), /function "timestamp" is not supported by tend/);
  assert.throws(() => call('templatefile("x", {})'), (e: unknown) => e instanceof ExprError && /not supported by tend/.test(e.message) && /Nomad has no templatefile/.test(e.hint ?? ''));
  assert.throws(() => call('file("x")'), /function "file" reads files, which is not available here/);
  assert.throws(() => call('uuid()'), /function "uuid" is not supported by tend/);
  assert.throws(
    () => call('uppr("x")'),
    (e: unknown) => e instanceof ExprError && e.message === 'unknown function "uppr"' && e.hint === 'did you mean "upper"?' && e.offset === 2,
  );
  assert.throws(() => call('frobnicate()'), (e: unknown) => e instanceof ExprError && e.message === 'unknown function "frobnicate"' && e.hint === undefined);
  // try and can cannot hide a function or variable that does not exist, only failures of values
  assert.throws(() => call('try(nosuch(), 1)'), /unknown function "nosuch"/);
  assert.throws(() => call('can(var.nope)'), (e: unknown) => e instanceof ExprError && e.message === 'unknown variable "var.nope"' && e.offset === 6);
});

test('functions: a runtime argument makes the call a runtime value', () => {
  assert.equal(evalTemplate('${upper(node.class)}', scope), '${upper(node.class)}');
  assert.equal(evalTemplate('x-${join(",", [attr.a, "b"])}', scope), 'x-${join(",", [attr.a, "b"])}');
});
