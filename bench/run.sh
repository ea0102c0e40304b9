#!/bin/bash
# The benchmark suite in one command: builds mt-bench and mt-train, then runs mt and PyTorch
# interleaved and prints a Markdown table of issue 10's targets (bench/README.md).
#   bench/run.sh                       # 3 rounds, short runs (a few minutes on 2 cores)
#   bench/run.sh --rounds 5 --lenet5_steps 900 --time_to_accuracy --out /tmp/bench.md
#   bench/run.sh --setup               # first: apt-get install python3-torch and OpenBLAS
# Every other argument goes to bench/run.py (--help lists them).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--setup" ]]; then
  shift
  # Debian's PyTorch with OpenBLAS, through apt only (never pip).
  if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
    $SUDO apt-get install -y --no-install-recommends python3-torch libopenblas0-pthread
  fi
fi

bazel build //bench:mt-bench //bench:fma-probe //engine/train:mt-train //server //client:mt-client >&2
bin_dir="$(bazel info bazel-bin 2>/dev/null)"
# The Bazel server's JVM stays up after a build and wakes its threads many times a second
# (a sched_switch trace caught it preempting a training thread about 20 times a second): stop
# it so that it does not share the cores with the runs. The next bazel command starts it again.
bazel shutdown >&2 || true
exec python3 bench/run.py --bin_dir "$bin_dir" "$@"
