import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatOfPath, isLocalGit, parseChecksum, parseDestination, parseSource, SourceProblem, stripFormat } from '../../../src/artifacts/source.js';

const problem = (fn: () => unknown, kind: 'unsupported' | 'invalid', re: RegExp) =>
  assert.throws(fn, (e) => e instanceof SourceProblem && e.kind === kind && re.test(e.message));

test('source: http URLs keep non-magic options as query parameters; checksum, archive, filename are taken out', () => {
  const p = parseSource('https://example.com/a/app.tgz?token=x&checksum=md5:' + 'a'.repeat(32), { archive: 'tar.gz', v: '2', filename: 'b' });
  assert.equal(p.getter, 'http');
  assert.equal(p.url, 'https://example.com/a/app.tgz?token=x&v=2');
  assert.deepEqual(p.checksum, { type: 'md5', hex: 'a'.repeat(32) });
  assert.equal(p.archive, 'tar.gz');
  assert.equal(p.filename, 'b');
  assert.equal(parseSource('http::http://h/x', {}).getter, 'http');
  assert.equal(parseSource('https://h/x.zip', { archive: 'false' }).archive, false);
});

test('source: options override the URL\'s own parameters', () => {
  assert.deepEqual(parseSource(`https://h/x?checksum=sha1:${'1'.repeat(40)}`, { checksum: `sha256:${'2'.repeat(64)}` }).checksum, { type: 'sha256', hex: '2'.repeat(64) });
});

test('source: git sources (forced, GitHub/GitLab shorthands, scp-like) with ref and depth', () => {
  assert.deepEqual(parseSource('git::https://example.com/r.git?ref=v1&depth=1'), { getter: 'git', url: 'https://example.com/r.git', ref: 'v1', depth: 1 });
  assert.deepEqual(parseSource('github.com/hashicorp/nomad', { ref: 'main' }), { getter: 'git', url: 'https://github.com/hashicorp/nomad.git', ref: 'main' });
  assert.equal(parseSource('gitlab.com/o/r.git').url, 'https://gitlab.com/o/r.git');
  assert.deepEqual(parseSource('git@github.com:o/r.git'), { getter: 'git', url: 'git@github.com:o/r.git' });
  problem(() => parseSource('git::https://h/r.git', { depth: '0' }), 'invalid', /depth: expected a whole number >= 1/);
  problem(() => parseSource('git::https://h/r.git', { ref: '--upload-pack=evil' }), 'invalid', /ref: expected/);
  problem(() => parseSource('git::https://h/r.git', { sshkey: 'abc' }), 'unsupported', /sshkey/);
  problem(() => parseSource('git::ext::sh -c evil'), 'unsupported', /git over "ext/);
  assert.ok(isLocalGit('file:///srv/r.git') && isLocalGit('/srv/r.git') && !isLocalGit('https://h/r') && !isLocalGit('git@h:r'));
});

test('source: S3, GCS, Mercurial and other types are unsupported, naming the type', () => {
  problem(() => parseSource('s3::https://s3.amazonaws.com/bucket/key'), 'unsupported', /S3 artifacts \("s3"\)/);
  problem(() => parseSource('https://my-bucket.s3.amazonaws.com/key.tgz'), 'unsupported', /"s3"/);
  problem(() => parseSource('https://s3-eu-west-1.amazonaws.com/bucket/key'), 'unsupported', /"s3"/);
  problem(() => parseSource('bucket.s3.amazonaws.com/key'), 'unsupported', /"s3"/);
  problem(() => parseSource('gcs::https://www.googleapis.com/storage/v1/b/o'), 'unsupported', /GCS artifacts \("gcs"\)/);
  problem(() => parseSource('gs://bucket/o'), 'unsupported', /"gcs"/);
  problem(() => parseSource('https://storage.googleapis.com/b/o'), 'unsupported', /"gcs"/);
  problem(() => parseSource('hg::http://h/repo'), 'unsupported', /Mercurial artifacts \("hg"\)/);
  problem(() => parseSource('smb://host/share/f'), 'unsupported', /"smb:\/\/"/);
  problem(() => parseSource('ftp://h/f'), 'unsupported', /"ftp:\/\/"/);
  problem(() => parseSource('bogus::x'), 'invalid', /unknown getter "bogus::"/);
  problem(() => parseSource('https://h/archive.tgz//subdir'), 'unsupported', /subdirectories/);
});

test('source: local paths', () => {
  assert.deepEqual(parseSource('files/app.tar'), { getter: 'file', url: 'files/app.tar' });
  assert.equal(parseSource('file:///srv/a.tgz').getter, 'file');
  problem(() => parseSource('files/app.tar', { ref: 'x' }), 'invalid', /unknown option "ref"/);
});

test('checksum: type:hex, bare hex by length, file:URL; malformed ones say what was expected', () => {
  assert.deepEqual(parseChecksum(`SHA512:${'A'.repeat(128)}`), { type: 'sha512', hex: 'a'.repeat(128) });
  assert.deepEqual(parseChecksum('f'.repeat(40)), { type: 'sha1', hex: 'f'.repeat(40) });
  assert.deepEqual(parseChecksum('file:https://h/SUMS'), { fileUrl: 'https://h/SUMS' });
  problem(() => parseChecksum('sha256:abc'), 'invalid', /expected 64 hex digits for sha256, got "abc"/);
  problem(() => parseChecksum('crc32:abcd'), 'invalid', /expected type md5, sha1, sha256 or sha512, got "crc32"/);
  problem(() => parseChecksum('xyz'), 'invalid', /expected "TYPE:HEX"/);
  problem(() => parseChecksum('file:/etc/SUMS'), 'invalid', /http\(s\) URL/);
});

test('archive formats by suffix (longest wins) and the name of a single decompressed file', () => {
  assert.equal(formatOfPath('/a/b.tar.gz'), 'tar.gz');
  assert.equal(formatOfPath('/a/b.TGZ'), 'tar.gz');
  assert.equal(formatOfPath('/a/b.tar.bz2'), 'tar.bz2');
  assert.equal(formatOfPath('/a/b.txz'), 'tar.xz');
  assert.equal(formatOfPath('/a/b.gz'), 'gz');
  assert.equal(formatOfPath('/a/b.zip'), 'zip');
  assert.equal(formatOfPath('/a/b.bin'), undefined);
  assert.equal(stripFormat('notes.txt.gz', 'gz'), 'notes.txt');
  problem(() => parseSource('https://h/x', { archive: 'zst' }), 'unsupported', /"zst" is not supported/);
  problem(() => parseSource('https://h/x', { archive: 'rar' }), 'invalid', /expected false or one of/);
});

test('destination: relative to the task dir, NOMAD_*_DIR prefixes, no ".." and no absolute path at load', () => {
  assert.deepEqual(parseDestination('local/', { allowAbsolute: false }), { base: 'task', segments: ['local'] });
  assert.deepEqual(parseDestination('${NOMAD_TASK_DIR}/bin', { allowAbsolute: false }), { base: 'task', segments: ['local', 'bin'] });
  assert.deepEqual(parseDestination('${NOMAD_SECRETS_DIR}', { allowAbsolute: false }), { base: 'task', segments: ['secrets'] });
  assert.deepEqual(parseDestination('${NOMAD_ALLOC_DIR}/data/x', { allowAbsolute: false }), { base: 'alloc', segments: ['data', 'x'] });
  assert.deepEqual(parseDestination('/alloc/data', { allowAbsolute: true }), { base: 'absolute', segments: ['alloc', 'data'] });
  problem(() => parseDestination('/etc', { allowAbsolute: false }), 'invalid', /expected a path relative to the task dir/);
  assert.deepEqual(parseDestination('../alloc/go.mod', { allowAbsolute: false }), { base: 'alloc', segments: ['go.mod'] });
  assert.deepEqual(parseDestination('local/../bin', { allowAbsolute: false }), { base: 'task', segments: ['bin'] });
  problem(() => parseDestination('local/../../x', { allowAbsolute: false }), 'invalid', /may only lead to the shared alloc dir/);
  problem(() => parseDestination('../other-task/local', { allowAbsolute: false }), 'invalid', /may only lead to the shared alloc dir/);
  problem(() => parseDestination('../alloc/../../x', { allowAbsolute: false }), 'invalid', /may only lead/);
  problem(() => parseDestination('${NOMAD_ALLOC_DIR}/..', { allowAbsolute: false }), 'invalid', /may only lead/);
});
