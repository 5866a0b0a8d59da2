import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { manPages, roffText } from '../../../src/cli/man.js';
import { visibleCommands } from '../../../src/cli/commands/completion.js';
import { requireProgram } from '../../helpers/gates.js';

const manDir = fileURLToPath(new URL('../../../man/', import.meta.url));

test('man pages: the checked-in man/tend.1 and man/tendctl.1 are what the command definitions render (else: node scripts/man.mjs)', async () => {
  for (const { file, text } of await manPages()) {
    const checkedIn = readFileSync(manDir + file, 'utf8');
    assert.ok(checkedIn === text, `man/${file} is stale: run node scripts/man.mjs and commit it`);
  }
});

test('man pages: tendctl(1) has every command with its options and examples', async (t) => {
  const page = (await manPages()).find((p) => p.file === 'tendctl.1')!.text;
  for (const c of await visibleCommands()) {
    assert.ok(page.includes(`.SS "tendctl ${c.name}"`), c.name);
    for (const e of c.examples ?? []) assert.ok(page.includes(roffText(e.command).replace(/ /g, '\\ ')), `${c.name}: ${e.command}`);
    for (const f of c.flags ?? []) if (f.names[0] !== 'help') assert.ok(page.includes(`\\fB${roffText(`-${f.names[0]}`)}\\fR`), `${c.name}: -${f.names[0]}`);
  }
  assert.doesNotMatch(page, /__complete/);
  assert.doesNotMatch(page, /[^\x00-\x7f]/, 'plain ASCII');
  if (requireProgram(t, 'groff', 'groff-base')) {
    const r = spawnSync('groff', ['-man', '-ww', '-z', '-Tutf8'], { input: page, encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.doesNotMatch(r.stderr, /error|invalid input/, r.stderr);
  }
});

test('man pages: roff text escapes backslashes, dashes, a leading dot or quote, and non-ASCII', () => {
  assert.equal(roffText('a\\b -x'), 'a\\eb \\-x');
  assert.equal(roffText(".TH\n'x"), "\\&.TH\n\\&'x");
  assert.equal(roffText('old → new…'), 'old \\[u2192] new\\[u2026]');
});
