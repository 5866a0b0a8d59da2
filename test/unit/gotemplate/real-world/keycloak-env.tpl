KC_BOOTSTRAP_ADMIN_USERNAME=admin
KC_BOOTSTRAP_ADMIN_PASSWORD=admin
TEST={{ with nomadVar "nomad/jobs/keycloak" }}{{ .admin_password }}{{ end }}
PROXY_ADDRESS_FORWARDING=true
KC_PROXY_HEADERS=xforwarded
