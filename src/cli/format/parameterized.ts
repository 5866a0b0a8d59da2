/**
 * A parameterized job as `tendctl status` shows it: what a dispatch must give (payload, meta keys)
 * and the dispatched children with their meta, payload size and exits. Pure.
 */
import type { JobView, ParameterizedView } from '../../api/api.js';
import { palette as makePalette, type Palette } from './color.js';
import { renderChildren } from './children.js';

/** `run=42, mode=fast` (long values cut), or "-". */
function metaText(meta: Record<string, string>): string {
  const pairs = Object.entries(meta).map(([k, v]) => `${k}=${v.length > 24 ? `${v.slice(0, 23)}…` : v}`);
  return pairs.length ? pairs.join(', ') : '-';
}

/** Lines under a parameterized job: what a dispatch takes, then its children. */
export function renderParameterized(v: ParameterizedView, now: number, p: Palette = makePalette(false), indent = ''): string[] {
  const keys = (xs: string[]) => (xs.length ? xs.join(', ') : 'none');
  const out = [
    `${indent}payload ${v.payload}; meta required: ${keys(v.metaRequired)}; optional: ${keys(v.metaOptional)}`,
    ...(v.periodic ? [`${indent}also periodic: each dispatched child launches on the schedule`] : []),
  ];
  out.push(
    ...renderChildren(v.children, now, p, indent, {
      when: 'DISPATCHED',
      extra: [
        { header: 'PAYLOAD', cell: (c) => (c.payloadBytes ? `${c.payloadBytes} B` : '-') },
        { header: 'META', cell: (c) => metaText(c.meta) },
      ],
    }),
  );
  return out;
}

/** The "Parameterized jobs:" section of the node-wide status; empty when there is none. */
export function renderParameterizedJobs(jobs: JobView[], now: number, p: Palette = makePalette(false)): string[] {
  const list = jobs.filter((j) => j.parameterized);
  if (!list.length) return [];
  const out = ['', p.bold('Parameterized jobs:')];
  for (const j of list) out.push(`  ${j.id}`, ...renderParameterized(j.parameterized!, now, p, '    '));
  return out;
}
