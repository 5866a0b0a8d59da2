/**
 * The node's fingerprint, in Nomad's attribute names: what constraints and
 * `${attr.*}` see, and what `tendctl node` shows.
 */
import type { AgentConfig } from '../agent/config-model.js';
import type { DriverAvailability, DriverName } from '../executor/executor.js';
import type { NodeInfo } from '../jobspec/model.js';
import type { Platform } from '../platform.js';

export interface FingerprintInput {
  platform: Platform;
  config: AgentConfig;
  nodeId: string;
  version: string;
  /** Availability per driver, after the agent config (enabled) is applied. */
  drivers: Record<DriverName, DriverAvailability>;
  /** The node's address (the "default" network's: what tasks get as NOMAD_IP_<label>). */
  networkAddress?: string;
}

export function nodeInfo(input: FingerprintInput): NodeInfo {
  const { platform: p, config, drivers } = input;
  const attributes: Record<string, string> = {
    'kernel.name': p.kernelName,
    'kernel.version': p.kernelVersion,
    'kernel.arch': p.arch,
    'os.name': p.osName,
    'os.version': p.osVersion,
    'cpu.arch': p.arch,
    'cpu.numcores': String(p.numCores),
    'cpu.frequency': String(p.cpuMhz),
    'cpu.totalcompute': String(p.numCores * p.cpuMhz),
    'cpu.reservablecores': String(p.cpus.filter((c) => !config.client.reserved.cores.includes(c)).length),
    'memory.totalbytes': String(p.totalMemoryBytes),
    'unique.hostname': p.hostname,
    'unique.storage.volume': config.dataDir,
    'os.cgroups.mode': p.cgroups.mode,
    'tend.version': input.version,
  };
  if (input.networkAddress) attributes['unique.network.ip-address'] = input.networkAddress;
  for (const [name, a] of Object.entries(drivers)) if (a.ok) attributes[`driver.${name}`] = '1';
  return {
    name: config.client.nodeName || p.hostname,
    id: input.nodeId,
    class: config.client.nodeClass,
    datacenter: config.client.datacenter,
    attributes,
    meta: { ...config.client.meta },
  };
}
