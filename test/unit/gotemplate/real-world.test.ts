// Template blocks from public Nomad job files (real-world/*.tpl; source, licence and inputs in the
// sibling .json), rendered to the text Nomad would write (.expected), or refused when they need
// Consul or Vault.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TemplateError, type StoredVariable } from '../../../src/gotemplate/gotemplate.js';
import { parseTemplate, render } from '../../../src/gotemplate/template.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'real-world');

interface Case {
  source: string;
  licence: string;
  hcl: Record<string, string>;
  env?: Record<string, string>;
  vars?: StoredVariable[];
  expectedError?: { kind: string; func: string; line: number; col: number };
}

const names = readdirSync(dir)
  .filter((f) => f.endsWith('.tpl'))
  .map((f) => f.slice(0, -4))
  .sort();

test('real-world: the set has 10 to 20 blocks, each with its source and licence', () => {
  assert.ok(names.length >= 10 && names.length <= 20, `${names.length} blocks`);
  for (const name of names) {
    const c = JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8')) as Case;
    assert.match(c.source, /^https:\/\/github\.com\/(?!hashicorp\/nomad\/)[^/]+\/[^/]+\/blob\/[0-9a-f]{40}\//, name);
    assert.ok(c.licence, name);
  }
});

for (const name of names) {
  test(`real-world: ${name}`, () => {
    const c = JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8')) as Case;
    let text = readFileSync(path.join(dir, `${name}.tpl`), 'utf8');
    for (const [k, v] of Object.entries(c.hcl)) text = text.replaceAll(k, v);
    const vars = c.vars ?? [];
    const ctx = {
      env: c.env ?? {},
      vars: { get: (p: string) => vars.find((v) => v.path === p), list: (pre: string) => vars.filter((v) => v.path.startsWith(pre)) },
    };
    if (c.expectedError) {
      let err: unknown;
      try {
        parseTemplate(text, { name: `${name}.tpl` });
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof TemplateError, `expected ${name} to be refused`);
      const e = c.expectedError;
      assert.deepEqual([err.kind, err.func, err.line, err.col], [e.kind, e.func, e.line, e.col]);
      assert.match(err.message, new RegExp(`^template: ${name}\\.tpl:${e.line}:${e.col}: function "${e.func}" is not supported: it reads (Consul|Vault)`));
      return;
    }
    const r = render(parseTemplate(text, { name: `${name}.tpl` }), ctx);
    assert.equal(r.text, readFileSync(path.join(dir, `${name}.expected`), 'utf8'));
    assert.deepEqual(r.missing, []);
    assert.deepEqual(r.deps.env.sort(), Object.keys(c.env ?? {}).sort());
    assert.deepEqual(r.deps.vars.sort(), vars.map((v) => v.path).sort());
  });
}
