[entryPoints]
    [entryPoints.websecure]
    address = ":7443"
    [entryPoints.websecure.http.tls]
      certResolver = "domain"
      [[entryPoints.websecure.http.tls.domains]]
        main = "domain.com"
    [entryPoints.minecraft]
    address = ":19132"        
    [entryPoints.internal]
    address = ":8443"
    [entryPoints.internal.http.tls]
      certResolver = "domain"
      [[entryPoints.websecure.http.tls.domains]]
        main = "internal.domain.com"
    [entryPoints.traefik]
    address = ":8081"

[api]
    dashboard = true
    insecure  = true

[log]
  filePath = "/traefik/log"
  level = "DEBUG"
# Enable Nomad provider
[providers.nomad]
    watch = true
    exposedByDefault = false
  [providers.nomad.endpoint]
    address = "unix:///secrets/api.sock"
    token = "{{ with nomadVar "nomad/jobs/traefik3" }}{{ .nomad_token }}{{ end }}"
  [providers.nomad.endpoint.tls]
    insecureSkipVerify = true
[providers.file]
  directory = "/traefik/config"
  watch = true

[tls.stores]
  [tls.stores.default.defaultGeneratedCert]
    resolver = "domain"
    [tls.stores.default.defaultGeneratedCert.domain]
      main = "domain.com"
[tls.options]
  [tls.options.default]
    sniStrict = true
    minVersion = "VersionTLS12"
    curvePreferences = [
      "secp521r1",
      "secp384r1"
    ]
    cipherSuites = [
      "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
      "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
      "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
      "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"
    ]
    [tls.options.mintls13]
      minVersion = "VersionTLS13"
        
[certificatesResolvers.domain.acme]
  email = "austin@domain.com"
  storage = "/traefik/acme.json"
  [certificatesResolvers.domain.acme.dnsChallenge]
    provider = "cloudflare"

[experimental.plugins.google-oidc-auth-middleware]
  moduleName = "github.com/andrewkroh/google-oidc-auth-middleware"
  version = "v0.1.0"
