/**
 * The agent's resolved configuration (config file + flags + defaults). The
 * parser is src/agent/config.ts; everything else in the agent reads this.
 */
import type { ArtifactLimits } from '../artifacts/artifacts.js';
import type { VariablePolicy } from '../vars/vars.js';

export interface RawExecPluginConfig {
  /** Nomad default: false. examples/agent.hcl enables it. */
  enabled: boolean;
  /** raw_exec `no_cgroups`. */
  noCgroups: boolean;
}

export interface ExecPluginConfig {
  /** Nomad default: true (the driver still reports unavailable without root/runc/conmon). */
  enabled: boolean;
  defaultPidMode: 'private' | 'host';
  defaultIpcMode: 'private' | 'host';
  noPivotRoot: boolean;
  /** Nomad's default allow_caps list; ["all"] allowed. Lowercase names without CAP_ as in Nomad ("chown"). */
  allowCaps: string[];
  /** Parsed ranges, e.g. "0,10-15" → [[0,0],[10,15]]. */
  deniedHostUids: [number, number][];
  deniedHostGids: [number, number][];
}

export interface HostVolumeConfig {
  name: string;
  path: string;
  readOnly: boolean;
}

/** `client { host_network "name" { cidr, interface, reserved_ports } }`: an address ports may ask for (`host_network = "name"`). */
export interface HostNetworkConfig {
  name: string;
  /** The first address of the node's interfaces within this CIDR. */
  cidr?: string;
  /** The first address of this interface (with `cidr`: the first of it within the CIDR). */
  interface?: string;
  /** Ports never given out on this network (inclusive ranges). */
  reservedPorts: [number, number][];
}

/** What ports are given out from (Nomad's client names and defaults). */
export interface ClientNetworkConfig {
  /** `network_interface`: whose address ports get (NOMAD_IP_<label>). Default: the default route's interface, else loopback. */
  networkInterface?: string;
  /** `min_dynamic_port` (default 20000) and `max_dynamic_port` (default 32000). */
  minDynamicPort: number;
  maxDynamicPort: number;
  /** `reserved { reserved_ports }`: never given out, static or dynamic (inclusive ranges, e.g. "22,80,8000-8100"). */
  reservedPorts: [number, number][];
  hostNetworks: HostNetworkConfig[];
}

/** `client { artifact { … } }`: Nomad's artifact limits, plus tend's allowed_local_dirs. */
export interface ArtifactClientConfig {
  /** Resolved limits (Nomad's defaults: 30m, 100GB, 30m, 100GB, 4096). */
  limits: ArtifactLimits;
  /** `set_environment_variables`: agent variables passed to `git` (default none). */
  setEnvironmentVariables: string[];
  /** tend: host dirs local artifact sources may come from (default none: local sources refused). */
  allowedLocalDirs: string[];
}

/** `client { template { … } }`: Nomad's client template options, plus tend's file_dirs. */
export interface TemplateClientConfig {
  /** The default `wait` of templates that set none (Nomad's default: 5s to 4m). */
  wait: { minMs: number; maxMs: number };
  /** Functions templates may not call (Nomad's default: plugin, writeToFile). */
  functionDenylist: string[];
  /** `file` may read any host path (Nomad's disable_file_sandbox; default false: the task's dirs and file_dirs only). */
  disableFileSandbox: boolean;
  /** tend: host dirs the `file` function may read besides the task's dirs (default none). */
  fileDirs: string[];
}

/** `client { variables { … } }`: tend's local Nomad-variables store (src/vars/). */
export interface VariablesClientConfig {
  /** The variables dir (absolute): one variable specification per file, read-only (default none). */
  dir?: string;
  /** ACL policies attached to workloads, besides Nomad's implicit workload policy (default none). Applied live on SIGHUP. */
  policies: VariablePolicy[];
}

export interface AgentConfig {
  /** Absolute. Default ./state (development). */
  dataDir: string;
  /** Absolute, as given (may be a symlink). Default ./jobs. */
  jobsDir: string;
  /** Where the config came from, for messages. */
  configFile?: string;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /** 'auto' = oci when root + runc + conmon work, else plain. */
  executor: 'auto' | 'plain' | 'oci';
  /** Reconcile worker concurrency (default 8). */
  concurrency: number;
  /** Stop every task when the agent exits (default false: tasks keep running). */
  stopTasksOnExit: boolean;
  /** Periodic resync interval, ms (default 30000). */
  resyncMs: number;
  /** Debounce of watch events, ms (default 100). */
  debounceMs: number;
  client: {
    nodeName: string; // default hostname
    nodeClass: string; // default ""
    datacenter: string; // default "dc1"
    meta: Record<string, string>;
    /** exec driver chroot: host dirs (Nomad default list). */
    chrootEnv: string[];
    /** chroot_env as Nomad's map, host src → dst in the task root (the list form maps each dir to itself). */
    chrootEnvMap?: Record<string, string>;
    reserved: { cores: number[]; memoryMB: number; cpu: number };
    hostVolumes: HostVolumeConfig[];
    /**
     * `job_file_dirs`: dirs (absolute) outside the jobs dir whose trees job
     * files may read with `file()`, `fileset()`, … (default none: only the
     * jobs dir tree).
     */
    jobFileDirs: string[];
    /**
     * Host variables passed to tasks: `options { "env.denylist" }` (Nomad's
     * name; replaces the default list) and `"env.allowlist"` (tend: only these).
     */
    env: { denylist: string[]; allowlist?: string[] };
    artifact: ArtifactClientConfig;
    template: TemplateClientConfig;
    variables: VariablesClientConfig;
    /** Ports: dynamic range, reserved ports, the node's address and host networks. */
    network: ClientNetworkConfig;
  };
  plugins: { rawExec: RawExecPluginConfig; exec: ExecPluginConfig };
  oci: {
    /** OCI runtime binary (default "runc"; "crun" on pure v2 hosts). */
    runtime: string;
    /** conmon binary (default "conmon"). */
    conmon: string;
    /** Default pids.max per task (default 4096; task config `pids_limit` overrides). */
    pidsLimit: number;
    /** Cgroup parent name (default `tend-<hash of the data dir's real path>`: one per data dir). */
    cgroupParent: string;
  };
  api: {
    /** Default `<dataDir>/tend.sock`. */
    socket: string;
    /** Optional loopback TCP `127.0.0.1:PORT`; requires token. */
    address?: string;
    token?: string;
  };
}
