#!/usr/bin/env bash
# Sets up whatever is missing, then builds and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
bazel test //... "$@"
