/**
 * A small line chart in SVG: values over time, an optional limit as a dashed
 * line, the newest value in words. Screen readers get the summary (`label`).
 */
export interface ChartProps {
  /** Heading and accessible name's start: "CPU", "Memory". */
  title: string;
  /** [epoch ms, value] oldest first. */
  points: [number, number][];
  /** Drawn dashed; the scale reaches it. */
  limit?: number;
  limitLabel?: string;
  format(v: number): string;
  /** The window shown, ending now (ms). */
  windowMs: number;
  /** Said while there is no sample yet. */
  empty: string;
  now: number;
}

const W = 300;
const H = 80;
const PAD = 3;

export function Chart(p: ChartProps) {
  const values = p.points.map(([, v]) => v);
  const top = Math.max(p.limit ?? 0, ...values, 1e-9) * 1.1;
  // A few pixels inside the box, so that the newest point and a line at the top stay whole.
  const x = (t: number) => W - PAD - ((p.now - t) / p.windowMs) * (W - 2 * PAD);
  const y = (v: number) => H - PAD - (v / top) * (H - 2 * PAD);
  const line = p.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const newest = values[values.length - 1];
  const max = values.length ? Math.max(...values) : undefined;
  const minutes = Math.round(p.windowMs / 60_000);
  const summary = newest === undefined
    ? `${p.title}: ${p.empty}`
    : `${p.title} over the last ${minutes} minutes: now ${p.format(newest)}, highest ${p.format(max!)}${p.limit ? `, ${p.limitLabel ?? 'limit'} ${p.format(p.limit)}` : ''}`;
  return (
    <figure class="chart">
      <figcaption>
        <span class="chart-title">{p.title}</span>
        <span class="chart-now">{newest === undefined ? p.empty : p.format(newest)}</span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={summary}>
        <title>{summary}</title>
        {p.limit ? <line class="chart-limit" x1="0" x2={W} y1={y(p.limit)} y2={y(p.limit)} /> : null}
        {p.points.length > 1 ? <polyline class="chart-line" points={line} /> : null}
        {/* One sample: a dot (a line of no length with round caps keeps round in a stretched box). */}
        {p.points.length === 1 ? <line class="chart-dot" x1={x(p.points[0][0])} x2={x(p.points[0][0])} y1={y(p.points[0][1])} y2={y(p.points[0][1])} /> : null}
      </svg>
      <div class="chart-axis" aria-hidden="true">
        <span>{minutes} min ago</span>
        {p.limit ? <span>{`${p.limitLabel ?? 'limit'} ${p.format(p.limit)}`}</span> : null}
        <span>now</span>
      </div>
    </figure>
  );
}
