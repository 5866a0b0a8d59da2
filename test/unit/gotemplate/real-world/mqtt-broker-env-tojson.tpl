MQTT_USERNAME={{ with nomadVar "nomad/jobs/mqtt-broker" }}{{ .mqtt_username | toJSON }}{{ end }}
MQTT_PASSWORD={{ with nomadVar "nomad/jobs/mqtt-broker" }}{{ .mqtt_password | toJSON }}{{ end }}
