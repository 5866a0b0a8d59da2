import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { checksumFromSums, hashFile } from '../../../src/artifacts/checksum.js';

const h = (c: string, n: number) => c.repeat(n);

test('checksum: GNU-style lines (two spaces, *binary, ?portable, ./relative) match the file name', () => {
  const text = `${h('1', 64)}  other.tgz\n${h('2', 64)} *app.tgz\n`;
  assert.deepEqual(checksumFromSums(text, 'app.tgz'), { type: 'sha256', hex: h('2', 64) });
  assert.deepEqual(checksumFromSums(`${h('3', 40)} ?app.tgz`, 'app.tgz'), { type: 'sha1', hex: h('3', 40) });
  assert.deepEqual(checksumFromSums(`${h('4', 32)}  ./v1/app.tgz\r\n`, 'app.tgz', 'v1/app.tgz'), { type: 'md5', hex: h('4', 32) });
  assert.equal(checksumFromSums(`${h('1', 64)}  other.tgz\n`, 'app.tgz'), undefined);
});

test('checksum: BSD-style lines name the type; a lone hex matches any file; junk is skipped', () => {
  assert.deepEqual(checksumFromSums(`junk line here\nSHA512 (app.tgz) = ${h('A', 128)}\n`, 'app.tgz'), { type: 'sha512', hex: h('a', 128) });
  assert.deepEqual(checksumFromSums(`SHA2-256 (x) = ${h('5', 64)}\n${h('6', 64)}\n`, 'app.tgz'), { type: 'sha256', hex: h('6', 64) });
  assert.equal(checksumFromSums(`SHA256 (app.tgz) = ${h('1', 63)}\n`, 'app.tgz'), undefined, 'wrong length');
});

test('checksum: hashFile streams a file', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tend-sum-'));
  await fs.writeFile(path.join(dir, 'f'), 'abc');
  assert.equal(await hashFile(path.join(dir, 'f'), 'sha256'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(await hashFile(path.join(dir, 'f'), 'md5'), '900150983cd24fb0d6963f7d28e17f72');
  await fs.rm(dir, { recursive: true });
});
