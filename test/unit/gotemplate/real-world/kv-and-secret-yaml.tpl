---
key: "{{ key "hashiatho.me/jobs/mysql/version" }}"
secret: "{{ with secret "hashiatho.me-v2/data/r2_cli"}}{{ .Data.data.access_key_id }}{{ end }}"
