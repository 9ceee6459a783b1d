"""End-to-end tests: real processes (Home Assistant, mosquitto, the bridge, Node-RED)."""
