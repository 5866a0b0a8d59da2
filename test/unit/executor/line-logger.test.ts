import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { createLineLogger, type MonitorLog } from '../../../src/executor/logs/line-logger.js';

const err = Object.assign(new Error('no space'), { code: 'ENOSPC' });

/** The lines a logger writes, parsed, without their time. */
function capture(make: (write: (s: string) => void) => MonitorLog) {
  const lines: string[] = [];
  const log = make((s) => lines.push(s)).child({ component: 'logmon' }).child({ id: 'web/g[0]/t' });
  log.warn({ err, fifo: '/x', skipped: undefined }, 'log write failed');
  log.info({ n: 1 }, 'log collection started');
  return lines.map((l) => {
    assert.ok(l.endsWith('\n'));
    const v = JSON.parse(l) as Record<string, unknown>;
    assert.equal(typeof v.time, 'number');
    delete v.time;
    return v;
  });
}

test('line logger: writes the JSON lines pino writes (level, bindings, fields, an Error as type/message/stack/code, msg)', () => {
  const ours = capture((write) => createLineLogger({ level: 'info', write }));
  const pinos = capture((write) => pino({ level: 'info', base: null }, { write }));
  assert.deepEqual(ours, pinos);
  assert.equal(ours[0].level, 40);
  assert.deepEqual((ours[0].err as { code: string }).code, 'ENOSPC');
});

test('line logger: lines below the level are not written; silent writes nothing', () => {
  const lines: string[] = [];
  const warnOnly = createLineLogger({ level: 'warn', write: (s) => lines.push(s) });
  warnOnly.info({}, 'quiet');
  warnOnly.error({}, 'loud');
  assert.deepEqual(lines.map((l) => JSON.parse(l).msg), ['loud']);
  const silent = createLineLogger({ level: 'silent', write: (s) => lines.push(s) });
  silent.error({}, 'never');
  assert.equal(lines.length, 1);
});
