#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, fetch the datasets (verified), build,
# and train LeNet-5 on full MNIST to the end, one line per epoch. Extra arguments go to mt-train
# (e.g. --epochs=2 or --model=minitorch_mnist).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/fetch_data.sh
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
bazel run //engine/train:mt-train -- --task=mnist --model=lenet5 "$@"
