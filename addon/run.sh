#!/bin/sh
# Add-on entry point: /data/options.json + the Supervisor's MQTT service -> /data/config.yaml,
# then the local engine (when api is 'local') and the bridge. See DOCS.md.
set -eu
exec python -m bridge.addon /data/options.json
