#!/bin/sh
# Container entry point: exec replaces this shell with node, so node receives
# SIGTERM from `docker stop` directly and can finish its batch and save state.
set -eu
cd /opt/opencti-connector-threatstream
exec node dist/main.js "$@"
