---
auth_enabled: false

server:
  http_listen_port: {{ env "NOMAD_HOST_PORT_http" }}
  grpc_listen_port: {{ env "NOMAD_HOST_PORT_grpc" }}
  register_instrumentation: true
distributor:
  ring:
    kvstore:
      store: consul
      prefix: loki/collectors/
      consul:
        host: http://localhost:8500
ingester:
  lifecycler:
    address: 127.0.0.1
    ring:
      kvstore:
        store: inmemory
      replication_factor: 1
    final_sleep: 0s
  chunk_idle_period: 5m
  chunk_retain_period: 30s

schema_config:
  configs:
    - from: 2020-05-15
      store: boltdb
      object_store: filesystem
      schema: v11
      index:
        prefix: index_
        period: 24h

storage_config:
  boltdb:
    directory: /tmp/loki/index

  filesystem:
    directory: /tmp/loki/chunks

limits_config:
  enforce_metric_name: false
  reject_old_samples: true
  reject_old_samples_max_age: 168h
