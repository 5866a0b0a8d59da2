/**
 * The web status page (served by the agent at `/ui/`, src/api/routes-ui.ts):
 * read-only, live, one screen.
 *
 *   main.tsx        bootstrap: the token from the fragment, render <App>
 *   api.ts          fetch with the token, streaming lines
 *   live.ts         the live model: jobs, node, plan, samples, events; one
 *                   event stream (`/v1/events?follow=1`) schedules refreshes
 *   app.tsx         layout, the selected task (`#task=<id>`), the token form
 *   tasks.tsx       jobs → groups → tasks table: filter, sort
 *   task-detail.tsx one task: charts, live logs, events, spec
 *   node.tsx        executor, drivers, cgroups, jobs dir and revision, disk
 *   plan.tsx        what the agent is about to do, and why
 *   chart.tsx       small SVG line charts
 *   style.css       light and dark (prefers-color-scheme), narrow screens
 *
 * Shapes are the API's (src/api/api.ts); text formatting is shared with
 * tendctl (src/cli/format/, pure functions).
 */
import type { FileView, JobView, NodeView, Plan, SamplesView } from '../api/api.js';

/**
 * The jobs dir's Git revision, when the agent reports it (`NodeView.jobsRevision`: a newer agent;
 * absent here means nothing is shown).
 */
export interface JobsRevision {
  commit: string;
  source: 'REVISION' | 'git';
  appliedAt?: string;
}

export type NodeInfo = NodeView & { jobsRevision?: JobsRevision | null };

/** The state of the page's link to the agent. */
export type Connection = 'connecting' | 'live' | 'reconnecting' | 'unauthorized';

/** What the page shows, replaced as a whole on every change. */
export interface Snapshot {
  connection: Connection;
  /** The last failure to reach the agent, said as the agent said it. */
  error?: string;
  node?: NodeInfo;
  jobs: JobView[];
  /** The job files with their diagnostics (a file that never loaded has no job to show them on). */
  files: FileView[];
  /** Set after the first /v1/jobs. */
  loaded: boolean;
  plan?: Plan;
  samples?: SamplesView;
}

export type SortKey = 'task' | 'state' | 'pid' | 'uptime' | 'restarts' | 'cpu' | 'memory';

export interface SortOrder {
  key: SortKey;
  descending: boolean;
}
