import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ExprError,
  evalDeep,
  evalTemplate,
  isRuntimeRef,
  needsEval,
  referencesOf,
  unescapeTemplate,
  type EvalScope,
  type Value,
} from '../../../../src/jobspec/expr/index.js';

const scope: EvalScope = {
  vars: { n: 3, name: 'web', xs: ['a', 'b'], m: { y: 2, x: 1 }, on: true, off: false, list: [1, 2] },
  locals: { dir: '/srv' },
};

function ev(text: string): Value {
  return evalTemplate(text, scope);
}

test('evalTemplate: a single interpolation keeps its type, anything more is a string', () => {
  assert.equal(ev('${var.n}'), 3);
  assert.deepEqual(ev('${var.xs}'), ['a', 'b']);
  assert.deepEqual(ev('${var.m}'), { y: 2, x: 1 });
  assert.equal(ev('${var.on}'), true);
  assert.equal(ev('${ var.n }'), 3);
  assert.equal(ev('${var.n}${var.n}'), '33');
  assert.equal(ev(' ${var.n}'), ' 3');
  assert.equal(ev('n-${var.n}'), 'n-3');
  assert.equal(ev('${var.on}!'), 'true!');
  assert.equal(ev('plain text'), 'plain text');
  assert.equal(ev(''), '');
  // a quoted string inside an expression that is one interpolation also keeps its type
  assert.deepEqual(ev('${concat("${var.xs}", [])}'), ['a', 'b']);
});

test('evalTemplate: escapes of the top level and of strings inside expressions', () => {
  assert.equal(ev('$${not} %%{this}'), '${not} %{this}');
  assert.equal(ev('$$${var.n}'), '$${var.n}');
  assert.equal(ev('cost: $5 and 100%'), 'cost: $5 and 100%');
  assert.equal(ev('a\\b ${var.n}'), 'a\\b 3'); // hcl2json already decoded the top level: backslashes are text
  assert.equal(ev('${"tab\\there \\"q\\" back\\\\slash"}'), 'tab\there "q" back\\slash');
  assert.equal(ev('${"\\u00e9\\U0001F600\\n\\r"}'), 'é😀\n\r');
  assert.equal(ev('${"$${x} %%{y}"}'), '${x} %{y}');
  assert.equal(ev('${"nested ${var.name}-${upper("${var.xs[0]}")}"}'), 'nested web-A');
  assert.throws(() => ev('${"bad \\q"}'), (e: unknown) => e instanceof ExprError && e.offset === 7 && /expected an escape/.test(e.message));
});

test('evalTemplate: if and for directives, with else and key/value loops', () => {
  assert.equal(ev('%{if var.on}yes%{endif}'), 'yes');
  assert.equal(ev('%{if var.off}yes%{endif}'), '');
  assert.equal(ev('%{if var.off}yes%{else}no%{endif}'), 'no');
  assert.equal(ev('%{ if var.n > 2 }big%{ else }small%{ endif }'), 'big');
  assert.equal(ev('%{for x in var.xs}[${x}]%{endfor}'), '[a][b]');
  assert.equal(ev('%{for i, x in var.xs}${i}=${x};%{endfor}'), '0=a;1=b;');
  assert.equal(ev('%{for k, v in var.m}${k}=${v} %{endfor}'), 'x=1 y=2 ');
  assert.equal(ev('%{for x in var.xs}%{if x == "b"}B%{else}${x}%{endif}%{endfor}'), 'aB');
  assert.equal(ev('%{for x in []}never%{endfor}'), '');
  assert.equal(ev('${"%{if var.on}in expr%{endif}"}'), 'in expr');
});

test('evalTemplate: strip markers remove whitespace next to an interpolation or directive', () => {
  assert.equal(ev('a   ${~ var.n ~}   b'), 'a3b');
  assert.equal(ev('a \n ${~ var.n}  b'), 'a3  b');
  assert.equal(ev('a  ${var.n ~} \n b'), 'a  3b');
  assert.equal(ev('%{ for x in var.xs ~}\n  ${x}\n%{~ endfor ~}\n'), 'ab');
  assert.equal(ev('<\n%{~ if var.on ~}\n  yes\n%{~ else ~}\n  no\n%{~ endif ~}\n>'), '<yes>');
});

test('evalTemplate: heredocs inside expressions, plain and indented', () => {
  assert.equal(ev('${upper(<<EOT\nhello ${var.name}\nEOT\n)}'), 'HELLO WEB\n');
  assert.equal(ev('${<<-EOT\n    one\n      two\n    EOT\n}'), 'one\n  two\n');
  assert.equal(ev('${<<EOT\nno \\n escape\nEOT\n}'), 'no \\n escape\n');
  assert.throws(() => ev('${<<EOT\nunterminated\n}'), /expected heredoc end marker "EOT"/);
});

test('evalTemplate: runtime references stay as ${…} text', () => {
  assert.equal(ev('${NOMAD_TASK_DIR}'), '${NOMAD_TASK_DIR}');
  assert.equal(ev('${NOMAD_TASK_DIR}/x'), '${NOMAD_TASK_DIR}/x');
  assert.equal(ev('${attr.kernel.name}'), '${attr.kernel.name}');
  assert.equal(ev('${node.unique.name}'), '${node.unique.name}');
  assert.equal(ev('${node.class}'), '${node.class}');
  assert.equal(ev('${meta.foo}'), '${meta.foo}');
  assert.equal(ev('${env["HOME"]}'), '${env["HOME"]}');
  assert.equal(ev('${NOMAD_META_x}'), '${NOMAD_META_x}');
  assert.equal(ev('${device.nvidia.count}'), '${device.nvidia.count}');
  assert.equal(ev('${attr.unique.network.ip-address}'), '${attr.unique.network.ip-address}');
  // mixed with load-time parts: those are evaluated, the runtime ones kept
  assert.equal(ev('${local.dir}/${NOMAD_ALLOC_INDEX}/${var.name}'), '/srv/${NOMAD_ALLOC_INDEX}/web');
  assert.equal(ev('${ NOMAD_TASK_DIR ~}  /x'), '${NOMAD_TASK_DIR}/x');
  // inside a function call or arithmetic the whole interpolation is kept
  assert.equal(ev('${upper(node.class)}'), '${upper(node.class)}');
  assert.equal(ev('n=${NOMAD_ALLOC_INDEX + var.n}'), 'n=${NOMAD_ALLOC_INDEX + var.n}');
  assert.equal(ev('${"pre-${meta.rack}"}'), '${"pre-${meta.rack}"}');
  assert.equal(ev('${[NOMAD_JOB_NAME, "x"]}'), '${[NOMAD_JOB_NAME, "x"]}');
  // a known condition picks a branch; the unused runtime branch does not matter
  assert.equal(ev('${var.on ? "x" : NOMAD_JOB_NAME}'), 'x');
  assert.equal(ev('${var.off ? "x" : NOMAD_JOB_NAME}'), '${var.off ? "x" : NOMAD_JOB_NAME}');
  // a directive that depends on a runtime value is kept whole
  assert.equal(ev('a %{if meta.x == "1"}one%{endif} b'), 'a %{if meta.x == "1"}one%{endif} b');
  // try/can cannot decide on a runtime value either
  assert.equal(ev('${try(meta.x, "d")}'), '${try(meta.x, "d")}');
});

test('needsEval: a cheap scan for unescaped ${ and %{', () => {
  const cases: [string, boolean][] = [
    ['plain', false],
    ['${x}', true],
    ['a %{if x}y%{endif}', true],
    ['$${x}', false],
    ['%%{x}', false],
    ['$$${x}', false],
    ['{braces} and $ and %', false],
    ['${', true],
    ['x $${a} ${b}', true],
    ['', false],
  ];
  for (const [text, want] of cases) assert.equal(needsEval(text), want, text);
});

test('unescapeTemplate: $${ and %%{ become ${ and %{', () => {
  assert.equal(unescapeTemplate('$${a} %%{b} $x %y'), '${a} %{b} $x %y');
  assert.equal(unescapeTemplate('$$${a}'), '$${a}');
  assert.equal(unescapeTemplate('nothing'), 'nothing');
});

test('isRuntimeRef: runtime roots versus load-time ones', () => {
  for (const ref of ['NOMAD_TASK_DIR', 'NOMAD_META_x', 'attr.kernel.name', 'node.unique.name', 'node.class', 'meta.foo', 'env["HOME"]', 'env.HOME', 'device.gpu', '${attr.os.name}']) {
    assert.equal(isRuntimeRef(ref), true, ref);
  }
  for (const ref of ['var.x', 'local.y', 'foo.bar', 'upper(node.class)', 'attr.x + 1', 'env[var.k]', '', 'attr.']) {
    assert.equal(isRuntimeRef(ref), false, ref);
  }
});

test('referencesOf: var and local references, once each, not for-bound names', () => {
  assert.deepEqual(referencesOf('${var.a + local.b}-${var.a}'), [
    { root: 'var', name: 'a' },
    { root: 'local', name: 'b' },
  ]);
  assert.deepEqual(referencesOf('${var["q"]} %{if local.c}${upper(var.d[0])}%{endif}'), [
    { root: 'var', name: 'q' },
    { root: 'local', name: 'c' },
    { root: 'var', name: 'd' },
  ]);
  assert.deepEqual(referencesOf('${[for var in local.xs : var.x]}'), [{ root: 'local', name: 'xs' }]);
  assert.deepEqual(referencesOf('${{for k, v in var.m : k => "${v}${local.sfx}"}}'), [
    { root: 'var', name: 'm' },
    { root: 'local', name: 'sfx' },
  ]);
  assert.deepEqual(referencesOf('no refs ${NOMAD_TASK_DIR}'), []);
  assert.deepEqual(referencesOf('plain'), []);
  assert.deepEqual(referencesOf('${broken +'), []);
});

test('evalDeep: evaluates strings, keys and nested values; unescapes the rest', () => {
  const input = {
    count: '${var.n}',
    '${var.name}-key': ['${local.dir}/x', 1, true, null, 'lit $${x}'],
    nested: { deep: [{ v: '${var.xs[1]}' }] },
    runtime: '${NOMAD_TASK_DIR}',
  };
  assert.deepEqual(evalDeep(input, scope), {
    count: 3,
    'web-key': ['/srv/x', 1, true, null, 'lit ${x}'],
    nested: { deep: [{ v: 'b' }] },
    runtime: '${NOMAD_TASK_DIR}',
  });
  assert.equal(evalDeep('$${kept}', scope), '${kept}');
  assert.equal(evalDeep(undefined, scope), null);
});

test('evalTemplate: locals resolve lazily through scope.local', () => {
  const calls: string[] = [];
  const lazy: EvalScope = {
    vars: {},
    locals: {},
    local: (name) => {
      calls.push(name);
      return name === 'later' ? 'resolved' : undefined!;
    },
  };
  assert.equal(evalTemplate('${local.later}', lazy), 'resolved');
  assert.deepEqual(calls, ['later']);
  assert.throws(() => evalTemplate('${local.missing}', lazy), /unknown local "local.missing"/);
});

test('evalTemplate: the same text evaluates again against a different scope', () => {
  const text = '${var.n * 2}';
  assert.equal(evalTemplate(text, { vars: { n: 1 }, locals: {} }), 2);
  assert.equal(evalTemplate(text, { vars: { n: 5 }, locals: {} }), 10);
});
