# Lines starting with a # are ignored

# Empty lines are also ignored
CF_DNS_API_TOKEN="{{ with nomadVar "nomad/jobs/traefik3" }}{{ .cloudflare_api_token }}{{ end }}"
