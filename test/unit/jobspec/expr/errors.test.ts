import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExprError, evalTemplate, suggest } from '../../../../src/jobspec/expr/index.js';

const scope = { vars: { region: 'eu', count: 2, cfg: { name: 'x', port: 80 } }, locals: { prefix: 'p' } };

/** [text, message, offset, hint]. */
const table: [string, string, number, string | undefined][] = [
  ['${var.regoin}', 'unknown variable "var.regoin"', 2, 'did you mean "var.region"?'],
  ['x ${var.nope}', 'unknown variable "var.nope"', 4, undefined],
  ['${var["regin"]}', 'unknown variable "var.regin"', 2, 'did you mean "var.region"?'],
  ['${local.prefx}', 'unknown local "local.prefx"', 2, 'did you mean "local.prefix"?'],
  ['${var}', 'expected an attribute of "var" like var.name, got "var" alone', 2, undefined],
  ['${var.cfg.nmae}', 'unsupported attribute "nmae"', 10, 'did you mean "name"?'],
  ['${var.cfg["prot"]}', 'unknown key "prot"', 10, 'did you mean "port"?'],
  // syntax errors
  ['${', 'expected an expression, got end of text', 2, undefined],
  ['${1 +}', 'expected an expression, got "}"', 5, undefined],
  ['${upper("x"}', 'expected "," or ")", got "}"', 11, undefined],
  ['${[1, 2}', 'expected "," or "]", got "}"', 7, undefined],
  ['${{a 1}}', 'expected "=" or ":" after an object key, got "1"', 5, undefined],
  ['${"abc}', 'expected a closing quote, got end of text', 2, undefined],
  ['${ 1 @ 2 }', 'expected an expression, got "@"', 5, undefined],
  ['%{if true}x', 'expected "%{endif}" to close "%{if}", got end of text', 0, undefined],
  ['a %{endfor}', 'expected text or a directive, got "%{endfor}" without its opening directive', 2, undefined],
  ['%{while x}', 'expected "if", "else", "endif", "for" or "endfor", got "while"', 2, undefined],
  ['%{for x var.l}%{endfor}', 'expected "in", got "var"', 8, undefined],
  ['${[for x in [1] y]}', 'expected ":", got "y"', 16, undefined],
  ['${1 /* open', 'expected "*/" to close the comment, got end of text', 4, undefined],
  // values
  ['n=${var.cfg}', 'failed to interpolate a value into a string: expected string, number or bool, got object', 4, 'use jsonencode() or join() to turn it into a string'],
  ['n=${null}', 'failed to interpolate a value into a string: expected string, number or bool, got null', 4, undefined],
];

test('evalTemplate: errors carry a message, the offset in the string and a hint when one is close', () => {
  for (const [text, message, offset, hint] of table) {
    assert.throws(
      () => evalTemplate(text, scope),
      (err: unknown) => {
        assert.ok(err instanceof ExprError, `${text}: ${String(err)}`);
        assert.equal(err.message, message, text);
        assert.equal(err.offset, offset, `${text}: ${err.message}`);
        assert.equal(err.hint, hint, text);
        return true;
      },
    );
  }
});

test('evalTemplate: a reference with an unknown root stays as written, as in Nomad; typos are told with a hint', () => {
  const heard: [string, number, string | undefined][] = [];
  const s = { ...scope, onUnknownRef: (ref: string, offset: number, hint?: string) => heard.push([ref, offset, hint]) };
  assert.equal(evalTemplate('${vars.region}', s), '${vars.region}');
  assert.equal(evalTemplate('a ${foo.bar} ${var.region}', s), 'a ${foo.bar} eu');
  assert.equal(evalTemplate('${nod.class}', s), '${nod.class}');
  assert.equal(evalTemplate('${region}', s), '${region}');
  assert.equal(evalTemplate('${[for item in [1] : iten]}', s), '${[for item in [1] : iten]}');
  assert.deepEqual(heard, [
    ['vars.region', 2, 'did you mean "var.region"?'],
    ['foo.bar', 4, undefined],
    ['nod.class', 2, 'did you mean "node.class"?'],
    ['region', 2, undefined],
    ['iten', 21, 'did you mean "item"?'],
  ]);
});

test('evalTemplate: a syntax error is reported again on the next evaluation of the same text', () => {
  assert.throws(() => evalTemplate('${1 +}', scope), /expected an expression/);
  assert.throws(() => evalTemplate('${1 +}', scope), /expected an expression/);
});

test('suggest: closest candidate within max(1, len/3) edits, transpositions count once', () => {
  assert.equal(suggest('regoin', ['region', 'zone']), 'region');
  assert.equal(suggest('memroy', ['memory', 'cpu']), 'memory');
  assert.equal(suggest('cpu', ['gpu', 'cpus']), 'gpu');
  assert.equal(suggest('xyz', ['region']), undefined);
  assert.equal(suggest('ab', ['xy']), undefined);
  assert.equal(suggest('a', ['b']), 'b');
  assert.equal(suggest('same', ['same']), undefined);
  assert.equal(suggest('counts', ['count', 'counter']), 'count');
  assert.equal(suggest('anything', []), undefined);
});
