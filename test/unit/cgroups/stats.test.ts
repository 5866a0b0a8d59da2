import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CpuMeter,
  cpuStatsV1,
  cpuStatsV2,
  memoryStatsV1,
  memoryStatsV2,
  oomKillsFromEvents,
  oomKillsFromOomControl,
  parseKeyValues,
  parseLimit,
  parseProcs,
} from '../../../src/cgroups/stats.js';

// As a 6.x kernel prints them (trimmed to the lines that matter plus a few neighbours).
const V1_MEMORY_STAT = `cache 9216000
rss 3268608
rss_huge 0
shmem 9068544
mapped_file 6922240
swap 4096
pgfault 33895
hierarchical_memory_limit 52428800
hierarchical_memsw_limit 52428800
total_cache 91521024
total_rss 12439552
total_rss_huge 0
total_swap 8192
total_pgfault 1201556
`;

const V2_MEMORY_STAT = `anon 1052672
file 3325952
kernel 389120
kernel_stack 16384
pagetables 53248
shmem 0
file_mapped 1892352
inactive_anon 1040384
active_anon 12288
slab 282048
pgfault 1566
`;

const V2_CPU_STAT = `usage_usec 125347
user_usec 80123
system_usec 45224
core_sched.force_idle_usec 0
nr_periods 10
nr_throttled 2
throttled_usec 3456
nr_bursts 0
burst_usec 0
`;

test('parseKeyValues: reads "key value" lines and skips others', () => {
  assert.deepEqual(parseKeyValues('a 1\nb 22\n\nweird line here\nc x\n'), { a: 1, b: 22 });
  assert.deepEqual(parseKeyValues(undefined), {});
});

test('parseLimit: "max" and the v1 page-counter maximum mean unlimited', () => {
  assert.equal(parseLimit('max\n'), undefined);
  assert.equal(parseLimit('9223372036854771712\n'), undefined);
  assert.equal(parseLimit('52428800\n'), 52428800);
  assert.equal(parseLimit(undefined), undefined);
});

test('parseProcs: one pid per line, blank lines ignored', () => {
  assert.deepEqual(parseProcs('12\n345\n\n'), [12, 345]);
  assert.deepEqual(parseProcs(''), []);
});

test('memoryStatsV1: prefers the hierarchical total_* counters', () => {
  const m = memoryStatsV1({ usage: '104857600\n', stat: V1_MEMORY_STAT, maxUsage: '209715200\n', limit: '52428800\n' });
  assert.deepEqual(m, {
    usageBytes: 104857600,
    rssBytes: 12439552,
    cacheBytes: 91521024,
    swapBytes: 8192,
    maxUsageBytes: 209715200,
    limitBytes: 52428800,
  });
});

test('memoryStatsV1: local counters when total_* are absent; unlimited has no limitBytes', () => {
  const m = memoryStatsV1({ usage: '10\n', stat: 'cache 1\nrss 2\n', limit: '9223372036854771712\n' });
  assert.deepEqual(m, { usageBytes: 10, rssBytes: 2, cacheBytes: 1, swapBytes: 0 });
});

test('memoryStatsV2: anon, file, swap and peak', () => {
  const m = memoryStatsV2({ current: '4718592\n', stat: V2_MEMORY_STAT, swap: '0\n', peak: '8388608\n', max: 'max\n' });
  assert.deepEqual(m, { usageBytes: 4718592, rssBytes: 1052672, cacheBytes: 3325952, swapBytes: 0, maxUsageBytes: 8388608 });
});

test('memoryStatsV2: older kernels without memory.peak report no maxUsageBytes', () => {
  const m = memoryStatsV2({ current: '1\n', stat: V2_MEMORY_STAT, max: '52428800\n' });
  assert.equal(m.maxUsageBytes, undefined);
  assert.equal(m.limitBytes, 52428800);
});

test('cpuStatsV1: cpuacct.stat ticks become ns; total from cpuacct.usage; throttling from cpu.stat', () => {
  const c = cpuStatsV1(
    {
      cpuacctStat: 'user 5183\nsystem 2277\n',
      cpuacctUsage: '74602729314\n',
      cpuStat: 'nr_periods 40\nnr_throttled 3\nthrottled_time 123456789\nnr_bursts 0\nburst_time 0\n',
    },
    100,
  );
  assert.deepEqual(c, {
    userNs: 51_830_000_000,
    systemNs: 22_770_000_000,
    totalNs: 74602729314,
    throttledPeriods: 3,
    throttledTimeNs: 123456789,
  });
});

test('cpuStatsV1: total falls back to user + system without cpuacct.usage', () => {
  const c = cpuStatsV1({ cpuacctStat: 'user 1\nsystem 2\n' }, 100);
  assert.equal(c.totalNs, 30_000_000);
});

test('cpuStatsV2: microseconds become ns', () => {
  assert.deepEqual(cpuStatsV2(V2_CPU_STAT), {
    userNs: 80_123_000,
    systemNs: 45_224_000,
    totalNs: 125_347_000,
    throttledPeriods: 2,
    throttledTimeNs: 3_456_000,
  });
});

test('oomKillsFromOomControl: oom_kill line, undefined on old kernels', () => {
  assert.equal(oomKillsFromOomControl('oom_kill_disable 0\nunder_oom 0\noom_kill 2\n'), 2);
  assert.equal(oomKillsFromOomControl('oom_kill_disable 0\nunder_oom 0\n'), undefined);
});

test('oomKillsFromEvents: oom_kill from memory.events', () => {
  assert.equal(oomKillsFromEvents('low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n'), 1);
  assert.equal(oomKillsFromEvents(undefined), undefined);
});

test('CpuMeter: 0 on the first reading, then percent of one core over the interval', () => {
  const m = new CpuMeter();
  assert.equal(m.sample('a', 1_000_000_000, 10_000_000_000), 0);
  // 0.5 s of CPU over 1 s of wall time = 50 %; two cores busy = 200 %.
  assert.equal(m.sample('a', 1_500_000_000, 11_000_000_000), 50);
  assert.equal(m.sample('a', 3_500_000_000, 12_000_000_000), 200);
  assert.equal(m.sample('b', 5, 12_000_000_000), 0, 'per id');
});

test('CpuMeter: a counter that went backwards (recreated cgroup) reads 0; forget restarts', () => {
  const m = new CpuMeter();
  m.sample('a', 5_000, 1_000);
  assert.equal(m.sample('a', 1_000, 2_000), 0);
  m.forget('a');
  assert.equal(m.sample('a', 9_000, 3_000), 0);
});
