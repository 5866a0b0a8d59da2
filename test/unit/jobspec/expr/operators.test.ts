import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExprError, evalTemplate, type EvalScope, type Value } from '../../../../src/jobspec/expr/index.js';

const scope: EvalScope = {
  vars: {
    n: 2,
    s: '5',
    t: true,
    f: false,
    str_true: 'true',
    xs: ['a', 'b', ''],
    m: { b: 2, a: 1 },
    obj: { name: 'web', ports: [{ id: 1, tags: ['x'] }, { id: 2, tags: ['y', 'z'] }] },
    nothing: null,
    'dash-name': 'dashed',
  },
  locals: { greeting: 'hi' },
};

function ev(text: string): Value {
  return evalTemplate(text, scope);
}

const table: [string, Value][] = [
  // literals
  ['${1}', 1],
  ['${1.5}', 1.5],
  ['${1e3}', 1000],
  ['${2.5E-1}', 0.25],
  ['${true}', true],
  ['${false}', false],
  ['${null}', null],
  ['${"s"}', 's'],
  ['${""}', ''],
  // arithmetic and precedence
  ['${1 + 2 * 3}', 7],
  ['${(1 + 2) * 3}', 9],
  ['${10 - 4 - 3}', 3],
  ['${10 / 4}', 2.5],
  ['${7 % 3}', 1],
  ['${2 * 3 % 4}', 2],
  ['${-var.n * 3}', -6],
  ['${- - 3}', 3],
  ['${1 + 2 < 4 && 3 == 3}', true],
  ['${1 < 2 == true}', true],
  ['${true || false && false}', true],
  ['${(true || false) && false}', false],
  // comparisons
  ['${1 < 2}', true],
  ['${2 <= 2}', true],
  ['${3 > 4}', false],
  ['${4 >= 5}', false],
  ['${"a" == "a"}', true],
  ['${"a" != "b"}', true],
  ['${[1, 2] == [1, 2]}', true],
  ['${{a = 1} == {a = 1}}', true],
  ['${{a = 1} == {a = 2}}', false],
  ['${var.nothing == null}', true],
  ['${1 == "1"}', false],
  // logic
  ['${!true}', false],
  ['${!var.f}', true],
  ['${true && true}', true],
  ['${false || true}', true],
  ['${false && var.xs[10] == 1}', false], // short-circuit: the right side is not evaluated
  // conversions
  ['${var.s + 1}', 6],
  ['${"2.5" * 2}', 5],
  ['${var.str_true && true}', true],
  ['${!var.str_true}', false],
  ['${var.t ? 1 : "x"}', '1'],
  ['n=${var.n}', 'n=2'],
  ['b=${true}', 'b=true'],
  ['f=${1.25 * 2}', 'f=2.5'],
  ['f=${0.1 + 0.2}', 'f=0.3'],
  ['big=${1e21}', 'big=1000000000000000000000'],
  // conditional
  ['${var.t ? "yes" : "no"}', 'yes'],
  ['${var.f ? "yes" : "no"}', 'no'],
  ['${var.f ? 1 : var.t ? 2 : 3}', 2],
  ['${var.nothing == null ? "none" : var.nothing.x}', 'none'],
  // traversal
  ['${var.obj.name}', 'web'],
  ['${var.obj["name"]}', 'web'],
  ['${var.obj.ports[1].id}', 2],
  ['${var.obj.ports.0.id}', 1],
  ['${var["n"]}', 2],
  ['${var.dash-name}', 'dashed'],
  ['${var.xs[var.n - 1]}', 'b'],
  ['${var.m["a"]}', 1],
  ['${local.greeting}', 'hi'],
  // splat
  ['${var.obj.ports[*].id}', [1, 2]],
  ['${var.obj.ports.*.id}', [1, 2]],
  ['${var.obj.ports[*].tags[0]}', ['x', 'y']],
  ['${var.nothing[*]}', []],
  ['${var.obj[*].name}', ['web']],
  // collections
  ['${[1, "a", true, null]}', [1, 'a', true, null]],
  ['${[]}', []],
  ['${[1, 2,]}', [1, 2]],
  ['${{}}', {}],
  ['${{ a = 1, "b c" = 2, d: 3 }}', { a: 1, 'b c': 2, d: 3 }],
  ['${{ (var.obj.name) = 1 }}', { web: 1 }],
  ['${{ true = 1, null = 2 }}', { true: 1, null: 2 }],
  ['${{\n  a = 1\n  b = [\n    1,\n    2\n  ]\n}}', { a: 1, b: [1, 2] }],
  ['${{ a = { b = [1] } }.a.b[0]}', 1],
  // for expressions
  ['${[for x in var.xs : upper(x)]}', ['A', 'B', '']],
  ['${[for x in var.xs : x if x != ""]}', ['a', 'b']],
  ['${[for i, x in var.xs : "${i}:${x}"]}', ['0:a', '1:b', '2:']],
  ['${[for k, v in var.m : "${k}=${v}"]}', ['a=1', 'b=2']],
  ['${{for x in var.xs : x => length(x)}}', { a: 1, b: 1, '': 0 }],
  ['${{for k, v in var.m : v => k}}', { '1': 'a', '2': 'b' }],
  ['${{for x in ["a", "bb", "cc"] : length(x) => x...}}', { '1': ['a'], '2': ['bb', 'cc'] }],
  ['${{for k, v in var.m : k => v if v > 1}}', { b: 2 }],
  ['${[for p in var.obj.ports : [for t in p.tags : "${p.id}${t}"]]}', [['1x'], ['2y', '2z']]],
  // comments inside expressions
  ['${[\n  1, # one\n  2, // two\n  /* three */ 3,\n]}', [1, 2, 3]],
];

test('evalTemplate: operators, precedence, literals, traversal and collections', () => {
  for (const [text, want] of table) {
    assert.deepEqual(ev(text), want, text);
  }
});

test('evalTemplate: for expression keys must be unique unless grouped', () => {
  assert.throws(
    () => ev('${{for x in ["a", "a"] : x => 1}}'),
    (err: unknown) => err instanceof ExprError && /expected unique keys/.test(err.message) && err.hint?.includes('...') === true,
  );
});

const failures: [string, RegExp, number][] = [
  ['${"a" + 1}', /expected number, got string "a"/, 6],
  ['${1 / 0}', /failed to divide: division by zero/, 4],
  ['${5 % 0}', /division by zero/, 4],
  ['${!"x"}', /expected bool, got string "x"/, 2],
  ['${-true}', /expected number, got bool true/, 2],
  ['${"x" ? 1 : 2}', /expected bool, got string "x"/, 2],
  ['${var.xs[3]}', /expected an index from 0 to 2, got number 3/, 9],
  ['${var.xs["a"]}', /expected a list index, got string "a"/, 9],
  ['${var.n[0]}', /expected a list or map to index, got number 2/, 8],
  ['${var.nothing.x}', /expected an object with attribute "x", got null/, 14],
  ['${[for x in 5 : x]}', /expected a list or map to iterate, got number 5/, 12],
  ['${{for x in ["a"] : x => [] if "maybe"}}', /expected bool, got string "maybe"/, 31],
];

test('evalTemplate: operator and traversal errors say what was expected and where', () => {
  for (const [text, message, offset] of failures) {
    assert.throws(
      () => ev(text),
      (err: unknown) => {
        assert.ok(err instanceof ExprError, text);
        assert.match(err.message, message, text);
        assert.equal(err.offset, offset, `${text}: ${err.message}`);
        return true;
      },
    );
  }
});
