log_level = "{{ env "log_level" }}"
enable_syslog = false
log_json = false
instance_id = "${uuidv4()}"
consul_service = "consul-esm"
consul_service_tag = ""
consul_kv_path = "consul-esm/"
external_node_meta {
    "external-node" = "true"
}
node_reconnect_timeout = "72h"
node_reconnect_timeout = "72h"
node_probe_interval = "10s"
disable_coordinate_updates = false
http_addr = "localhost:8500"
token = ""
datacenter = "dc1"
client_address = "{{ env "NOMAD_ADDR_metrics" }}"
ping_type = "udp"
telemetry {
	disable_hostname = false
 	filter_default = false
 	prefix_filter = []
 	metrics_prefix = "/metrics"
 	prometheus_retention_time = "30s"
}
passing_threshold = 0
critical_threshold = 0
