/**
 * The port variables of one task, as Nomad's client sets them (client/taskenv/env.go):
 *
 *  - the group's ports, for every task of the allocation: NOMAD_PORT_<label> and
 *    NOMAD_ALLOC_PORT_<label> (`to` when set, else the host port), NOMAD_HOST_PORT_<label>,
 *    NOMAD_IP_<label>, NOMAD_HOST_IP_<label>, NOMAD_ADDR_<label>, NOMAD_HOST_ADDR_<label>;
 *  - the task's own legacy task-level ports: NOMAD_PORT_<label> (the host port: exec and
 *    raw_exec map nothing), NOMAD_HOST_PORT_<label>, NOMAD_IP_<label>,
 *    NOMAD_IPv4_<label> (NOMAD_IPv6_ for an IPv6 address), NOMAD_ADDR_<label>;
 *  - its siblings' legacy ports: NOMAD_ADDR_<task>_<label>, NOMAD_IP_<task>_<label>,
 *    NOMAD_PORT_<task>_<label>.
 *
 * Then, as Nomad does, names starting NOMAD_ADDR_, NOMAD_IP_, NOMAD_PORT_ and NOMAD_HOST_PORT_
 * are cleaned: every character but letters, digits, `_` and `.` becomes `_` (`dns-tcp` gives
 * NOMAD_PORT_dns_tcp). The others (NOMAD_ALLOC_PORT_, NOMAD_HOST_IP_, NOMAD_HOST_ADDR_,
 * NOMAD_IPv4_) keep the label as written, as in Nomad.
 */
import { joinHostPort, type AllocatedPort } from './ports.js';

const CLEANED = ['NOMAD_ADDR_', 'NOMAD_IP_', 'NOMAD_PORT_', 'NOMAD_HOST_PORT_'];

/** Go's helper.CleanEnvVar(s, '_'). */
export function cleanEnvName(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    const ok = c === '_' || c === '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9');
    out += ok ? c : '_';
  }
  return out;
}

/** The port variables `task` gets from its allocation's ports. */
export function portEnv(ports: readonly AllocatedPort[], task: string): Record<string, string> {
  const env: Record<string, string> = {};
  // The task's own task-level ports first; the other tasks' and the group's after (Nomad's order).
  for (const p of ports) {
    if (p.task !== task) continue;
    const port = String(p.value);
    env[`NOMAD_IP_${p.label}`] = p.hostIp;
    env[`${p.hostIp.includes(':') ? 'NOMAD_IPv6_' : 'NOMAD_IPv4_'}${p.label}`] = p.hostIp;
    env[`NOMAD_HOST_PORT_${p.label}`] = port;
    env[`NOMAD_ADDR_${p.label}`] = joinHostPort(p.hostIp, port);
    env[`NOMAD_PORT_${p.label}`] = port;
  }
  for (const p of ports) {
    if (p.task === undefined || p.task === task) continue;
    env[`NOMAD_ADDR_${p.task}_${p.label}`] = joinHostPort(p.hostIp, p.value);
    env[`NOMAD_IP_${p.task}_${p.label}`] = p.hostIp;
    env[`NOMAD_PORT_${p.task}_${p.label}`] = String(p.value);
  }
  for (const p of ports) {
    if (p.task !== undefined) continue;
    const port = String(p.value);
    const bind = String(p.to > 0 ? p.to : p.value);
    env[`NOMAD_ADDR_${p.label}`] = joinHostPort(p.hostIp, port);
    env[`NOMAD_HOST_ADDR_${p.label}`] = joinHostPort(p.hostIp, port);
    env[`NOMAD_IP_${p.label}`] = p.hostIp;
    env[`NOMAD_HOST_IP_${p.label}`] = p.hostIp;
    env[`NOMAD_PORT_${p.label}`] = bind;
    env[`NOMAD_ALLOC_PORT_${p.label}`] = bind;
    env[`NOMAD_HOST_PORT_${p.label}`] = port;
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) out[CLEANED.some((x) => k.startsWith(x)) ? cleanEnvName(k) : k] = v;
  return out;
}
