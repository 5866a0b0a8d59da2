/** Byte sizes in binary units, as `free -h` and Nomad print them: "512 B", "1.5 KiB", "120 MiB". */
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '-';
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${v} B`;
  // One decimal below 10 (1.5 KiB), whole numbers above (120 MiB); never "10.0".
  const text = v < 9.95 ? v.toFixed(1).replace(/\.0$/, '') : String(Math.round(v));
  return `${text} ${UNITS[u]}`;
}

/** "120 MiB / 256 MiB", "120 MiB" without a limit, "-" without usage. */
export function formatUsage(used: number | undefined, limit: number | undefined): string {
  if (used === undefined) return '-';
  return limit ? `${formatBytes(used)} / ${formatBytes(limit)}` : formatBytes(used);
}

/** "1.2%", "0%", "153%" (a task may use more than one core). */
export function formatPercent(p: number | undefined): string {
  if (p === undefined || !Number.isFinite(p)) return '-';
  if (p === 0) return '0%';
  return p < 10 ? `${p.toFixed(1).replace(/\.0$/, '')}%` : `${Math.round(p)}%`;
}
