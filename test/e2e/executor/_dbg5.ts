import { makeHarness } from './oci-harness.js';
const h = makeHarness('dbg');
const cpu = () => { const u = process.cpuUsage(); return `u${Math.round(u.user/1000)} s${Math.round(u.system/1000)}`; };
try {
  for (let i = 0; i < 2; i++) {
    let t0 = Date.now();
    const hd = await h.executor.launch(h.spec('dbg-' + i, { args: ['-c', 'exit 0'] }));
    const t1 = Date.now(); console.log('launch', t1 - t0, cpu());
    await h.executor.wait(hd); const t2 = Date.now(); console.log('wait', t2 - t1, cpu());
    await h.executor.cleanup('dbg-' + i);
    console.log('cleanup', Date.now() - t2, cpu());
  }
} finally { const t = Date.now(); await h.dispose(); console.log('dispose', Date.now() - t, cpu()); }
