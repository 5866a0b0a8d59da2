import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { onTerminal, shellQuote, terminalArgv, ttySize } from '../../../src/executor/tty.js';

test('tty: words survive the shell quoting script -c needs', () => {
  const words = ['plain', "it's", 'a b', '$HOME', '`x`', '"q"', '', 'é ü', 'a\nb', '--flag=1'];
  const r = spawnSync('/bin/sh', ['-c', `printf '%s\\0' ${words.map(shellQuote).join(' ')}`], { encoding: 'utf8' });
  assert.deepEqual(r.stdout.split('\0').slice(0, -1), words);
});

test('tty: the terminal line sets the size by absolute stty, SHELL as given, then execs the argv', () => {
  const tools = { script: '/usr/bin/script', stty: '/usr/bin/stty' };
  const argv = terminalArgv(tools, ['/bin/sh', '-c', 'echo "$x"'], { rows: 30, cols: 100 }, '/bin/bash');
  assert.deepEqual(argv.slice(0, 6), ['/usr/bin/script', '--quiet', '--return', '--echo', 'always', '--command']);
  assert.match(argv[6], /^\/(usr\/)?bin\/stty rows 30 cols 100 2>\/dev\/null; export SHELL=\/bin\/bash; exec \/bin\/sh -c 'echo "\$x"'$/);
  assert.match(terminalArgv(tools, ['true'], { rows: 1, cols: 1 }, undefined)[6], /unset SHELL; exec true$/);
  // On the host, script and stty are found on the agent's PATH and script runs with SHELL=/bin/sh.
  const wrapped = onTerminal(['true'], { SHELL: '/bin/zsh', A: '1' }, { rows: 1, cols: 1 }, (w) => new Error(w));
  assert.match(wrapped.argv[0], /^\/.*\/script$/);
  assert.deepEqual(wrapped.env, { SHELL: '/bin/sh', A: '1' });
  assert.match(wrapped.argv[6], /export SHELL=\/bin\/zsh; exec true$/);
});

test('tty: sizes are whole numbers from 1 to 1000, else the 24×80 default', () => {
  assert.deepEqual(ttySize('40', '120'), { rows: 40, cols: 120 });
  assert.deepEqual(ttySize('0', 'x'), { rows: 24, cols: 80 });
  assert.deepEqual(ttySize(null, '99999'), { rows: 24, cols: 1000 });
});
