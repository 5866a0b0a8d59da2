import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HclParser } from '../../../src/jobspec/hcl-parser.js';
import { waitFor } from '../../helpers/wait.js';
import { isAlive } from '../../../src/executor/proc.js';

const text = (id: string) => `job "${id}" {\n  group "g" {\n    task "t" {\n      driver = "raw_exec"\n    }\n  }\n}\n`;

test('HclParser: an idle parser process is ended after idleMs (its memory given back); the next file starts a new one', async (t) => {
  const p = new HclParser({ idleMs: 200 });
  t.after(() => p.close());
  await p.parse('a.hcl', text('a'));
  await p.parse('b.hcl', text('b'));
  assert.equal(p.started, 1, 'files in a row share the process');
  const pid = p.pid!;
  assert.ok(isAlive(pid));
  await waitFor(() => p.alive === false, { what: 'the idle parser process to end', timeoutMs: 10_000 });
  await waitFor(() => !isAlive(pid), { what: 'the parser process to exit', timeoutMs: 10_000 });
  assert.deepEqual(await p.parse('c.hcl', text('c')), await p.parse('c2.hcl', text('c')));
  assert.equal(p.started, 2);
});

test('HclParser: idleMs 0 keeps the parser process', async (t) => {
  const p = new HclParser({ idleMs: 0 });
  t.after(() => p.close());
  await p.parse('a.hcl', text('a'));
  await new Promise((r) => setTimeout(r, 300)); // a span in which an idle timer would have fired (not synchronisation)
  assert.equal(p.alive, true);
});
