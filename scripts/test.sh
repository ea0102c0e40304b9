#!/usr/bin/env bash
# Sets up whatever is missing, then builds and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
bazel test //... "$@"
# Then a short fuzzing run of every libFuzzer target (fuzz/), when clang is there
# (scripts/setup.sh installs it; MT_FUZZ_SECONDS=0 skips).
if command -v clang++ >/dev/null 2>&1 && [ "${MT_FUZZ_SECONDS:-20}" != 0 ]; then
  # libFuzzer bounds each target's run; the outer timeout also bounds the clang build and a
  # hung target (3 targets, plus 15 minutes for compiling on a small machine).
  timeout --kill-after=30 $((3 * ${MT_FUZZ_SECONDS:-20} + 900)) scripts/fuzz.sh "${MT_FUZZ_SECONDS:-20}"
else
  echo "test: skipping the fuzzing run (no clang++, or MT_FUZZ_SECONDS=0)" >&2
fi
