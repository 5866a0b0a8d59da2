# Lines starting with a # are ignored

# Empty lines are also ignored
NODE_RED_CREDENTIAL_SECRET="{{ with nomadVar "nomad/jobs/nodered" }}{{ .password }}{{ end }}"
