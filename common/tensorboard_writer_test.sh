#!/bin/bash
# Runs the independent Python reader on a file written by tensorboard_writer_sample. Debian's
# python3 (where python3-protobuf installs), not whatever python3 comes first on PATH.
set -euo pipefail
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
exec "$PY" common/tensorboard_writer_test.py common/tensorboard_writer_sample
