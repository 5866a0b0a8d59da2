# Production agent config (root, isolation through runc under conmon).
data_dir = "/var/lib/tend"
jobs_dir = "/etc/tend/jobs"

client {
  node_class = "default"
  meta {
    rack = "r1"
  }
  reserved {
    cores = "0"
  }
}

plugin "exec" {
  config {
    default_pid_mode = "private"
    default_ipc_mode = "private"
    denied_host_uids = "0"
  }
}

plugin "raw_exec" {
  config {
    enabled = false
  }
}
