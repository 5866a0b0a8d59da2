MINIO_ROOT_USER="{{ with secret "hashiatho.me-v2/minio" }} {{ ".Data.data.root_username" }}{{ end }}"
MINIO_ROOT_PASSWORD="{{ with secret "hashiatho.me-v2/minio" }} {{ ".Data.data.root_password" }}{{ end }}"
