import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatPercent, formatUsage } from '../../../src/cli/format/bytes.js';
import { formatDuration, formatRelative, formatSince } from '../../../src/cli/format/duration.js';
import { palette, shouldColor, visibleWidth } from '../../../src/cli/format/color.js';
import { formatTable } from '../../../src/cli/format/table.js';
import { formatCpuList } from '../../../src/cli/format/node.js';
import { formatEventLine } from '../../../src/cli/format/events.js';

test('formatDuration: two units at most, larger first', () => {
  assert.equal(formatDuration(999), '0s');
  assert.equal(formatDuration(45_000), '45s');
  assert.equal(formatDuration(192_000), '3m12s');
  assert.equal(formatDuration(3_600_000), '1h');
  assert.equal(formatDuration(7_500_000), '2h5m');
  assert.equal(formatDuration(4 * 86_400_000 + 3_600_000 * 3 + 59_000), '4d3h');
  assert.equal(formatDuration(-5), '0s');
});

test('formatRelative: past, future and now', () => {
  assert.equal(formatRelative(1_000, 13_000), '12s ago');
  assert.equal(formatRelative(26_000, 12_000), 'in 14s');
  assert.equal(formatRelative(12_500, 12_000), 'now');
  assert.equal(formatSince(undefined, 0), '-');
  assert.equal(formatSince('not a time', 0), '-');
});

test('formatBytes and formatUsage: binary units, one decimal below 10', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(1024 ** 2), '1 MiB');
  assert.equal(formatBytes(120 * 1024 ** 2 + 5), '120 MiB');
  assert.equal(formatBytes(-1), '-');
  assert.equal(formatUsage(undefined, 10), '-');
  assert.equal(formatUsage(2048, undefined), '2 KiB');
  assert.equal(formatPercent(0), '0%');
  assert.equal(formatPercent(1.25), '1.3%');
  assert.equal(formatPercent(undefined), '-');
});

test('shouldColor: only on a TTY, never with NO_COLOR, TERM=dumb or -no-color', () => {
  assert.equal(shouldColor({ isTTY: true, env: {} }), true);
  assert.equal(shouldColor({ isTTY: false, env: {} }), false);
  assert.equal(shouldColor({ isTTY: undefined, env: {} }), false);
  assert.equal(shouldColor({ isTTY: true, env: { NO_COLOR: '1' } }), false);
  assert.equal(shouldColor({ isTTY: true, env: { TERM: 'dumb' } }), false);
  assert.equal(shouldColor({ isTTY: true, env: {}, noColor: true }), false);
});

test('formatTable: aligns by visible width, ignores colour escapes, last column unpadded', () => {
  const p = palette(true);
  const out = formatTable(['A', 'B', 'C'], [[p.red('xx'), 'y', 'z'], ['xxxx', 'yyy', '']]);
  const lines = out.split('\n');
  assert.equal(visibleWidth(lines[1]), 'xx    y    z'.length);
  assert.equal(lines[2], 'xxxx  yyy');
});

test('formatCpuList: ranges', () => {
  assert.equal(formatCpuList([0, 1, 2, 3, 6, 8, 9]), '0-3,6,8-9');
  assert.equal(formatCpuList([]), '-');
  assert.equal(formatCpuList([5]), '5');
});

test('formatEventLine: subject is the task, else job, else file', () => {
  assert.equal(formatEventLine({ seq: 1, time: 'T', task: 'a/b[0]/c', job: 'a', type: 'Started', message: 'm' }), 'T  a/b[0]/c  Started  m');
  assert.equal(formatEventLine({ seq: 2, time: 'T', file: '/j/x.hcl', type: 'File Error', message: 'bad' }), 'T  /j/x.hcl  File Error  bad');
});
