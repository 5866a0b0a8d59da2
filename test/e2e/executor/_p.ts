const cpu = () => { const u = process.cpuUsage(); return `u${Math.round(u.user/1000)} s${Math.round(u.system/1000)}`; };
console.log('start', cpu());
const { platform } = await import('../../../src/platform.js');
console.log('import', cpu());
const p = platform(); console.log('platform', cpu());
const os = await import('node:os'); os.cpus(); console.log('cpus', cpu());
const fs = await import('node:fs'); const t=Date.now(); const s = fs.readFileSync('/proc/self/mountinfo','utf8'); console.log('mountinfo', s.length, s.split('\n').length, Date.now()-t, cpu());
