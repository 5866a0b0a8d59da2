# An exec task: isolated root (read-only chroot_env binds), private PID and
# IPC namespaces, dropped capabilities and an exclusive core. Needs root,
# runc and conmon; elsewhere the exec driver reports itself unavailable.
job "isolated" {
  type = "service"

  group "isolated" {
    task "worker" {
      driver = "exec"
      user   = "nobody"

      config {
        command  = "/bin/sh"
        args     = ["-c", "while true; do echo \"pid $$ in $(hostname), cores $NOMAD_CPU_CORES\"; sleep 5; done"]
        pid_mode = "private"
        ipc_mode = "private"
        cap_drop = ["net_raw", "mknod"]
      }

      resources {
        cores      = 1
        memory     = 64
        memory_max = 128
      }

      kill_timeout = "5s"
    }
  }
}
