# A batch job: runs once to completion. Exit 0 means complete (not restarted
# until the file changes); a failure is retried per `restart`.
variable "greeting" {
  type    = string
  default = "batch run"
}

locals {
  message = "${upper(var.greeting)} on ${NOMAD_ALLOC_NAME}"
}

job "report" {
  type = "batch"

  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }

  group "report" {
    restart {
      attempts = 2
      interval = "10m"
      delay    = "5s"
      mode     = "fail"
    }

    task "report" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "echo \"$MESSAGE\"; uptime; df -h \"$NOMAD_ALLOC_DIR\""]
      }

      env {
        MESSAGE = local.message
      }

      resources {
        cpu    = 100
        memory = 64
      }

      logs {
        max_files     = 3
        max_file_size = 1
      }
    }
  }
}
