# Clustering configuration
cluster_formation.peer_discovery_backend = rabbit_peer_discovery_consul
# Set Docker bridge address as consul http address
cluster_formation.consul.host = 172.17.0.1
cluster_formation.consul.port = 8500
cluster_formation.consul.scheme = http
cluster_formation.consul.svc = rabbitmq-cluster
cluster_formation.consul.svc_addr_auto = false
cluster_formation.consul.svc_addr = {{ env "NOMAD_IP_clustering" }}
cluster_formation.consul.svc_port = {{ env "NOMAD_PORT_clustering" }}
cluster_formation.consul.include_nodes_with_warnings = false

# Cluster formation settings
cluster_formation.node_cleanup.only_log_warning = true
cluster_formation.node_cleanup.interval = 60
#cluster_formation.randomized_startup_delay_range.min = 5
#cluster_formation.randomized_startup_delay_range.max = 30

# Management and metrics
management.tcp.port = 15672
prometheus.tcp.port = 15692

# Networking
listeners.tcp.default = 5672
# distribution.buffer_size = 128MB

# Logging
log.console = true
log.console.level = info
log.file.level = info

# Performance tuning
vm_memory_high_watermark.relative = 0.6
disk_free_limit.absolute = 2GB
