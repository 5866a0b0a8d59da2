/**
 * The pending plan: what the agent is about to do and why, as `tendctl plan`
 * prints it (after `nomad job plan`). Empty while what runs matches the files.
 */
import type { Plan } from '../api/api.js';
import { formatPlan } from '../cli/format/plan.js';

export function PlanPanel({ plan }: { plan?: Plan }) {
  const pending = plan?.actions.filter((a) => a.kind !== 'none').length ?? 0;
  return (
    <section class="card plan" aria-labelledby="plan-title">
      <h2 id="plan-title">
        Pending plan{' '}
        <span class={`badge ${pending ? 'busy' : 'good'}`} data-field="plan-count">
          {plan ? (pending ? `${pending} action${pending === 1 ? '' : 's'}` : 'nothing to do') : '…'}
        </span>
      </h2>
      {plan ? <pre class="plan-text" tabIndex={0}>{formatPlan(plan)}</pre> : <p class="muted">Loading…</p>}
    </section>
  );
}
