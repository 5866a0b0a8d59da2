import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findTooDeep } from '../../../src/jobspec/nesting.js';

const deep = (n: number, open = '[', close = ']') => open.repeat(n) + close.repeat(n);

test('nesting: counts blocks, brackets and parentheses, and reports where the limit is passed', () => {
  assert.equal(findTooDeep(`x = ${deep(4)}`, 'hcl', 4), undefined);
  assert.deepEqual(findTooDeep(`a {\n  x = ${deep(4)}\n}\n`, 'hcl', 4), { line: 2, column: 10, limit: 4 });
  assert.deepEqual(findTooDeep(`x = ${deep(5, '(', ')')}`, 'hcl', 4), { line: 1, column: 9, limit: 4 });
  assert.equal(findTooDeep(`x = ${deep(5, '(', ')')}`, 'toml', 4), undefined, 'parentheses mean nothing in TOML');
});

test('nesting: brackets in strings, comments and heredocs do not count; templates do', () => {
  const noise = '{[('.repeat(50);
  assert.equal(findTooDeep(`x = "${noise}"\n# ${noise}\n// ${noise}\n/* ${noise}\n */\ny = <<EOT\n${noise}\nEOT\nz = <<-EOT\n  ${noise}\n  EOT\n`, 'hcl', 4), undefined);
  assert.equal(findTooDeep(`x = "$\${${noise}"`, 'hcl', 4), undefined, '$${ is a literal');
  assert.deepEqual(findTooDeep('x = "' + '${"'.repeat(5) + '"', 'hcl', 4), { line: 1, column: 18, limit: 4 });
  assert.deepEqual(findTooDeep('x = <<EOT\n${ [[[[ ] ] ] ] }\nEOT\n', 'hcl', 4), { line: 2, column: 7, limit: 4 });
  assert.equal(findTooDeep(`{"a": "${noise}", "b": ${deep(3)}}`, 'json', 4), undefined);
  assert.equal(findTooDeep(`a = "${noise}"\nb = '${noise}'\nc = """\n${noise}\n"""\nd = '''\n${noise}'''\n# ${noise}\n`, 'toml', 4), undefined);
});

test('nesting: closers in strings and comments do not hide real depth', () => {
  const text = `a {\n  # }}}}\n  b = "]]]"\n  c { d { e { f {} } } }\n}\n`;
  assert.deepEqual(findTooDeep(text, 'hcl', 4), { line: 4, column: 17, limit: 4 });
});
