/**
 * Runtime references: `${NOMAD_*}`, `${node.*}`, `${attr.*}`, `${meta.*}`,
 * `${env["X"]}`. They survive loading as text and are filled at launch by
 * interpolateTask. At load time every such reference is checked here:
 * NOMAD_* names tend fills (ports: per label of the allocation, left as written
 * when the allocation has no such port, as Nomad does), names Nomad knows but
 * tend cannot fill (bridge addresses, upstreams, tokens: a warning), and unknown ones (a warning with a "did you
 * mean": Nomad's parser keeps them as written, and so does tend, e.g. a
 * shell script's `${NOMAD_ADDR}`).
 */

/** NOMAD_* variables tend sets for every task (see interpolate.ts). */
export const NOMAD_VARS = [
  'NOMAD_JOB_NAME', 'NOMAD_JOB_ID', 'NOMAD_GROUP_NAME', 'NOMAD_TASK_NAME', 'NOMAD_ALLOC_ID', 'NOMAD_SHORT_ALLOC_ID',
  'NOMAD_ALLOC_INDEX', 'NOMAD_ALLOC_NAME', 'NOMAD_ALLOC_DIR', 'NOMAD_TASK_DIR', 'NOMAD_SECRETS_DIR', 'NOMAD_CPU_LIMIT',
  'NOMAD_CPU_CORES', 'NOMAD_MEMORY_LIMIT', 'NOMAD_MEMORY_MAX_LIMIT', 'NOMAD_DC', 'NOMAD_REGION', 'NOMAD_NAMESPACE',
  // Set on children of periodic and parameterized jobs only (as Nomad); elsewhere it stays as written.
  'NOMAD_JOB_PARENT_ID',
] as const;

/** Port variables: set per port label of the allocation (src/ports/env.ts). */
export const PORT_VARS = /^NOMAD_(PORT|HOST_PORT|ALLOC_PORT|IP|IPv4|HOST_IP|ADDR|HOST_ADDR)_[\w.-]+$/;

/** Nomad sets these, tend cannot (bridge-mode addresses, Consul, Vault or workload identity). */
const NOMAD_ONLY = /^NOMAD_(ALLOC_(IP|ADDR|INTERFACE)_\w+|IPv6_\w+|UPSTREAM_\w+|ENVOY_\w+|UNIX_ADDR|TOKEN|LOCAL_DIR|PARENT_CGROUP|ALLOC_INTERPOLATED)$/;

/** node.* names tend fills. */
export const NODE_REFS = ['node.unique.name', 'node.unique.id', 'node.class', 'node.datacenter'] as const;

export type RefVerdict = { ok: true } | { ok: false; severity: 'error' | 'warning'; message: string; candidates?: string[] };

/** Check one reference (the text inside `${…}`, trimmed). */
export function checkRuntimeRef(ref: string): RefVerdict {
  if (ref.startsWith('NOMAD_')) {
    if ((NOMAD_VARS as readonly string[]).includes(ref) || ref.startsWith('NOMAD_META_') || PORT_VARS.test(ref)) return { ok: true };
    if (NOMAD_ONLY.test(ref)) return { ok: false, severity: 'warning', message: `\${${ref}} is set by Nomad but not by tend; it stays empty` };
    return { ok: false, severity: 'warning', message: `\${${ref}} is not a runtime variable Nomad or tend sets; it stays as written`, candidates: [...NOMAD_VARS] };
  }
  if (ref.startsWith('node.')) {
    if ((NODE_REFS as readonly string[]).includes(ref)) return { ok: true };
    if (ref === 'node.region' || ref === 'node.pool') return { ok: false, severity: 'warning', message: `\${${ref}} is not known on tend; it stays as written` };
    return { ok: false, severity: 'warning', message: `\${${ref}} is not a node attribute tend knows; it stays as written`, candidates: [...NODE_REFS] };
  }
  return { ok: true };
}

const REF = /(?<!\$)\$\{\s*((?:NOMAD_|node\.)[\w.\-]*)\s*\}/g;

/** The NOMAD_* and node.* references in a raw (not yet evaluated) string. */
export function runtimeRefsIn(text: string): string[] {
  if (!text.includes('${')) return [];
  const out: string[] = [];
  for (const m of text.matchAll(REF)) out.push(m[1]);
  return out;
}

/** A `${…}` body that is a plain runtime reference (no expression to evaluate). */
export const SIMPLE_RUNTIME_REF = /\$\{\s*(?:NOMAD_\w+|(?:attr|meta|node|device)\.[\w.\-]+|env\[\s*"[^"]*"\s*\]|env\.\w+)\s*\}/g;
