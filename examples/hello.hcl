# A raw_exec service that prints a line every few seconds, using only /bin/sh.
# Edit `args` and the task restarts; change only `resources` and it is
# updated in place; delete this file and the task stops.
job "hello" {
  type = "service"

  group "hello" {
    count = 1

    task "hello" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "i=0; while true; do i=$((i+1)); echo \"hello #$i from $NOMAD_TASK_NAME (alloc $NOMAD_ALLOC_INDEX)\"; sleep 3; done"]
      }

      env {
        GREETING = "hello from ${node.unique.name}"
      }

      resources {
        cpu    = 50
        memory = 32
      }

      kill_signal  = "SIGTERM"
      kill_timeout = "3s"
    }
  }
}
