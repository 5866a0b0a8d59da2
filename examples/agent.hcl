# Development agent config for the README quick start, run from the repo root:
#   ./bin/tend.js agent -config examples/agent.hcl
# Relative paths resolve against this file's dir: the jobs dir is examples/
# itself (this file is excluded from the job files), the state goes to ./state.
data_dir = "../state"
jobs_dir = "."

# The zero-dependency executor: no root, runc or conmon needed. On a root
# machine with runc and conmon, "auto" (the default) isolates through OCI.
executor = "plain"

# raw_exec is disabled by default (as in Nomad); enabled here so the examples
# run on any machine without root.
plugin "raw_exec" {
  config {
    enabled = true
  }
}
