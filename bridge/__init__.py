"""plate-bridge: licence-plate reads from cameras to MQTT, Home Assistant and Node-RED."""

__version__ = "0.1.0"
