upstream backend {
{{ range service "promtail" }}
  server {{ .Address }}:{{ .Port }};
{{ else }}server 127.0.0.1:65535; # force a 502
{{ end }}
}

server {
  listen 80;
  location /nginx_status {
    stub_status on;
    allow 127.0.0.1;
  }
  location /promtail {
    proxy_pass http://backend;
  }
}
