import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatRevision, renderNode } from '../../../src/cli/format/node.js';
import { renderStatus } from '../../../src/cli/format/status.js';
import type { NodeView } from '../../../src/api/api.js';

const SHA = '3f2a9c1e0d5b8a7f6e4c3b2a1908f7e6d5c4b3a2';
const now = Date.parse('2026-11-30T12:02:00Z');

test('format revision: short in status, the full commit and its source in node, applied time relative', () => {
  assert.equal(formatRevision({ commit: SHA, source: 'REVISION', appliedAt: '2026-11-30T12:00:00Z' }, now), '3f2a9c1 (applied 2m ago)');
  assert.equal(formatRevision({ commit: SHA, source: 'git' }, now), '3f2a9c1');
  assert.equal(formatRevision({ commit: SHA, source: 'git', appliedAt: '2026-11-30T12:01:30Z' }, now, { full: true }), `${SHA} (Git checkout, applied 30s ago)`);
});

test('format revision: tendctl node has a Jobs Revision row (or says there is none); status heads its table with it', () => {
  const node: NodeView = {
    name: 'n', id: 'i', class: '', datacenter: 'dc1', version: '0.1.0', executor: 'plain', cgroupMode: 'v2', cores: [0], reservedCores: [], memoryBytes: 1024,
    attributes: {}, meta: {}, drivers: {}, dataDir: '/d', jobsDir: '/j', startedAt: '2026-11-30T11:00:00Z',
    jobsRevision: { commit: SHA, source: 'REVISION', appliedAt: '2026-11-30T12:00:00Z' },
  };
  assert.match(renderNode(node, { now }), new RegExp(`Jobs Revision = ${SHA} \\(REVISION file, applied 2m ago\\)`));
  assert.match(renderNode({ ...node, jobsRevision: null }, { now }), /Jobs Revision = none \(no REVISION file or Git checkout in the jobs dir\)/);
  assert.match(renderStatus({ jobs: [], files: [], revision: node.jobsRevision }, { now }), /^Jobs Revision = 3f2a9c1 \(applied 2m ago\)\n\nNo tasks\./);
  assert.match(renderStatus({ jobs: [], files: [], revision: null }, { now }), /^No tasks\./);
});
