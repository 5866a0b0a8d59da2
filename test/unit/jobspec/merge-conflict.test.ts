import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadText } from '../../../src/jobspec/load.js';
import { mergeConflict } from '../../../src/jobspec/parse.js';

const conflicted = (open: string) => `job "y" {\n${open}\n  type = "batch"\n=======\n  type = "service"\n>>>>>>> other\n  group "g" {\n    task "t" {\n      driver = "raw_exec"\n      config {\n        command = "/bin/true"\n      }\n    }\n  }\n}\n`;

test('merge conflict: a file left with git\'s markers says so at the <<<<<<< line, with the fix (HCL, TOML, JSON)', async () => {
  const hcl = await loadText('y.hcl', conflicted('<<<<<<< HEAD'));
  assert.equal(hcl.ok, false);
  assert.deepEqual(
    hcl.diagnostics.map((d) => [d.line, d.column, d.message, d.hint]),
    [[2, 1, 'unresolved merge conflict: the file still has the "<<<<<<<" markers of a merge', 'keep one side and delete the <<<<<<<, ======= and >>>>>>> lines (lines 2-6), then save']],
  );
  const toml = await loadText('y.toml', '[job.y]\n<<<<<<< ours\ntype = "batch"\n=======\ntype = "service"\n>>>>>>> theirs\n');
  assert.match(toml.diagnostics[0].message, /^unresolved merge conflict/);
  assert.equal(toml.diagnostics[0].line, 2);
  const json = await loadText('y.json', '{\n<<<<<<< HEAD\n  "job": {}\n=======\n  "job": {"y": {}}\n>>>>>>> b\n}\n');
  assert.match(json.diagnostics[0].message, /^unresolved merge conflict/);
});

test('merge conflict: only when the file does not parse; a heredoc line of "=======" or "<<<<<<< x" in a valid file is text', () => {
  assert.equal(mergeConflict('a = 1\n'), undefined);
  assert.deepEqual(mergeConflict('<<<<<<< HEAD\nx\n')?.hint, 'keep one side and delete the <<<<<<<, ======= and >>>>>>> lines (from line 1), then save');
});
