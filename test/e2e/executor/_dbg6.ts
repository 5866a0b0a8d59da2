import { createCgroupManager } from '../../../src/cgroups/factory.js';
import { execFileSync } from 'node:child_process';
const cpu = () => { const u = process.cpuUsage(); return `u${Math.round(u.user/1000)} s${Math.round(u.system/1000)}`; };
const cg = createCgroupManager({ parent: 'tend-dbgy' });
let t0 = Date.now(); await cg.create('x1', { cpuShares: 100, memoryMaxBytes: 64 << 20, pidsMax: 100 }); console.log('cg create', Date.now() - t0, cpu());
t0 = Date.now(); await cg.oomKills('x1'); console.log('oom', Date.now() - t0, cpu());
t0 = Date.now(); await cg.destroy('x1'); console.log('cg destroy', Date.now() - t0, cpu());
t0 = Date.now(); execFileSync('mkdir', ['/sys/fs/cgroup/memory/tend-dbgy/zz']); console.log('mkdir', Date.now() - t0, cpu());
t0 = Date.now(); execFileSync('rmdir', ['/sys/fs/cgroup/memory/tend-dbgy/zz']); console.log('rmdir', Date.now() - t0, cpu());
