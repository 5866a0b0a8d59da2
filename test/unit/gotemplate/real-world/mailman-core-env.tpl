        DATABASE_URL="postgresql://${var.postgres_user}:${var.postgres_password}@{{ env "NOMAD_ADDR_postgres" }}/mailmandb"
        DATABASE_TYPE="postgres"
        DATABASE_CLASS="mailman.database.postgresql.PostgreSQLDatabase"
        HYPERKITTY_API_KEY="${var.hyperkitty_api_key}"
        HYPERKITTY_URL="http://{{ env "NOMAD_ADDR_mailman-web" }}/hyperkitty"
        ALLOWED_HOSTS={{ env "NOMAD_IP_mailman-http" }}
