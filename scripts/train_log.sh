#!/usr/bin/env bash
# Runs mt-train and writes its output to a log file, with the exact command line at the top.
#   scripts/train_log.sh logs/mnist.txt --task=mnist --model=lenet5 --epochs=10
set -euo pipefail
cd "$(dirname "$0")/.."
out="$1"
shift
scripts/setup.sh
bazel build //engine/train:mt-train >&2
# Passive waiting keeps OpenMP threads from spinning against each other on small machines.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
{
  echo "\$ OMP_WAIT_POLICY=$OMP_WAIT_POLICY bazel-bin/engine/train/mt-train $*"
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  bazel-bin/engine/train/mt-train "$@" 2>&1
} | tee "$out"
