#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, fetch the datasets (verified), build,
# start the daemon, submit an MNIST job, follow it to the end, and write the trained network's
# activations (PNG grids) for one test image. Extra arguments go to `mt-client submit`
# (e.g. --epochs 2 or --model minitorch_mnist).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/fetch_data.sh
bazel build //server //client:mt-client

export MT_SERVER="${MT_SERVER:-127.0.0.1:50051}"
client=bazel-bin/client/mt-client
state_dir="${MT_STATE_DIR:-$PWD/.mt-state}"

# Reuse a daemon that is already running there; otherwise start one for this run.
daemon_pid=""
if ! "$client" devices >/dev/null 2>&1; then
  mkdir -p "$state_dir"
  bazel-bin/server/server --listen="$MT_SERVER" --state_dir="$state_dir" --data_dir="$PWD/data" \
    >>"$state_dir/daemon.log" 2>&1 &
  daemon_pid=$!
  trap '[ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid"' EXIT
  for _ in $(seq 1 100); do
    "$client" devices >/dev/null 2>&1 && break
    kill -0 "$daemon_pid" 2>/dev/null || { echo "quickstart: the daemon failed to start; see $state_dir/daemon.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "quickstart: daemon started (pid $daemon_pid, log $state_dir/daemon.log)"
fi

"$client" devices
# Three epochs unless the arguments choose (mt-client refuses a flag given twice).
defaults=(--epochs 3)
for arg in "$@"; do
  case "$arg" in --epochs|--epochs=*) defaults=() ;; esac
done
job=$("$client" --json submit mnist --model lenet5 "${defaults[@]}" "$@" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -n1)
[ -n "$job" ] || { echo "quickstart: submit returned no job id" >&2; exit 1; }
echo "quickstart: submitted $job; following it (Ctrl-C detaches; reattach with: $client logs $job -f)"
"$client" logs "$job" -f
"$client" activations "$job" --index 0 --out "activations/$job"
"$client" predict "$job" --index 0
echo "quickstart: done. Feature maps: activations/$job/conv1.png; export the weights with:"
echo "  $client export $job --out $job.safetensors"
