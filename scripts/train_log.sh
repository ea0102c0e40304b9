#!/usr/bin/env bash
# Runs mt-train and writes its output to a log file, with the exact command line at the top.
#   scripts/train_log.sh logs/mnist.txt --task=mnist --model=lenet5 --epochs=10
set -euo pipefail
cd "$(dirname "$0")/.."
out="$1"
shift
scripts/setup.sh
bazel build //engine/train:mt-train >&2
# mt-train chooses OpenMP's waiting itself unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set
# (common/omp_wait.h); the log's first line shows either one that was.
omp_env=""
if [[ -n "${OMP_WAIT_POLICY:-}" ]]; then omp_env+="OMP_WAIT_POLICY=$OMP_WAIT_POLICY "; fi
if [[ -n "${GOMP_SPINCOUNT:-}" ]]; then omp_env+="GOMP_SPINCOUNT=$GOMP_SPINCOUNT "; fi
{
  echo "\$ ${omp_env}bazel-bin/engine/train/mt-train $*"
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  bazel-bin/engine/train/mt-train "$@" 2>&1
} | tee "$out"
