#!/usr/bin/env bash
# Installs every system package mt builds or runs with, from Debian's archive. Idempotent: when
# everything is present it only checks, and never runs apt-get.
set -euo pipefail

PACKAGES=(
  bazel-bootstrap          # Bazel 4.2.3, offline-capable with the stand-ins in third_party/bazel
  g++                      # the C++17 compiler Bazel's auto-configured toolchain uses
  libgtest-dev             # GoogleTest
  libgmock-dev             # GoogleMock matchers (HasSubstr) in tests
  libabsl-dev              # absl::Status / StatusOr / strings / flags
  libgrpc++-dev            # gRPC C++ (includes reflection)
  libprotobuf-dev          # Protocol Buffers runtime
  protobuf-compiler        # protoc
  protobuf-compiler-grpc   # grpc_cpp_plugin
  zlib1g-dev               # gzip-compressed MNIST IDX files
  libsqlite3-dev           # the daemon's job/event store
  libssl-dev openssl       # token hashes and TLS key checks (libcrypto); make-certs.sh, mt-token.sh
  libpng-dev               # activation pictures
  libstb-dev               # mt-client --image: stb_image (PNG/JPEG) and stb_image_resize
  libgloo-dev              # Gloo collectives (TCP) for data-parallel training (engine/dist)
  openmpi-bin              # launches data-parallel workers under mpirun (engine/train:mt_train_launchers_test)
  slurm-wlm                # srun: engine/train:mt_train_launchers_test starts a one-node cluster (auth/none)
  iproute2                 # tests/server:peers_test makes two network namespaces (ip netns)
  nlohmann-json3-dev       # safetensors headers (JSON) in checkpoints and exports
  clang libclang-rt-dev libomp-dev  # scripts/fuzz.sh: libFuzzer + ASan targets (fuzz/)
  bc                       # scripts/fuzz.sh: its timing line
  python3-protobuf         # common:tensorboard_writer_test reads event files back independently
  ca-certificates curl     # scripts/fetch_data.sh downloads on an online machine
  libcpp-httplib-dev       # the daemon's HTTP port: /metrics, the dashboard and its API (server/http)
  chromium                 # the dashboard's real-browser test (tests/server/dashboard_browser_test)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if [ ! -x /usr/local/cuda/bin/nvcc ] && ! command -v nvcc >/dev/null 2>&1; then
  echo "setup: nvcc not found; building CPU-only (CUDA code is skipped)." >&2
fi

# The dashboard's charting library (uPlot, pinned in web/package-lock.json) from the npm
# registry into web/node_modules (never committed). Node.js/npm come from Debian when absent.
if [ ! -f "$(dirname "$0")/../web/node_modules/uplot/dist/uPlot.iife.min.js" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >&2
  fi
  echo "setup: installing the dashboard's uPlot into web/node_modules" >&2
  (cd "$(dirname "$0")/../web" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
