listener "tcp" {
  address = "{{ env "attr.unique.network.ip-address" }}:8200"
  tls_disable = true
}
api_addr = "http://{{ env "attr.unique.network.ip-address" }}:8200"
cluster_addr = "http://{{ env "attr.unique.network.ip-address" }}:8201"

storage "raft" {
  path = "{{ env "NOMAD_ALLOC_DIR" }}/raft/"
  node_id = "{{ env "attr.unique.hostname" }}"

}

disable_mlock = true
cluster_name = "hah"

telemetry {
  disable_hostname = false
  prometheus_retention_time = "30s"
}

service_registration "consul" {
  address = "127.0.0.1:8500"
  service = "vault-dev"
  service_tags = "dev"
}

ui = true
log_format = "json"

