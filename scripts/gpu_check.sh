#!/bin/bash
# One prepared command for a GPU machine with nvcc and PyTorch but no Bazel, apt or network: it
# runs what scripts/gpu_bundle.sh built and packed here, and prints one summary last.
#   1. environment: the GPU (nvidia-smi), PyTorch, and LD_LIBRARY_PATH: the bundle's libraries
#      plus the machine's CUDA libraries (cudart, cuBLAS, cuDNN), found under its PyTorch/NVIDIA
#      Python packages (or /usr/local/cuda)
#   2. the carried tests (backend_ops: every op on cuda:0 against the CPU, float64 gradients)
#   3. LeNet-5, one epoch of MNIST on cuda:0 (accuracy)
#   4. mt-bench --device cuda:0 against PyTorch eager (cuDNN) on the same GPU, same model and
#      batch (64), interleaved, twice each; then large-batch throughput (4096)
#   5. the summary
# Every step has its own timeout inside an overall budget (default 420 s, so under 8 minutes).
# Without a GPU it says why, runs the carried tests (their GPU cases skip) and exits 0.
#
#   bash gpu_bundle/gpu_check.sh [--bundle DIR] [--data_dir DIR] [--budget SECONDS]
# Logs go to /tmp/gpu_check; when $OUT is set (the device tool's output folder) the summary and
# a tarball of the logs are left there too.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bundle=$here
data_dir=""
budget=420
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle=$(cd "$2" && pwd); shift 2 ;;
    --data_dir) data_dir=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -d "$bundle/bin" ] || { echo "gpu_check.sh: $bundle has no bin/ (build it with scripts/gpu_bundle.sh)" >&2; exit 2; }
[ -n "$data_dir" ] || data_dir=$bundle/data
logs=/tmp/gpu_check
rm -rf "$logs"
mkdir -p "$logs"
t0=$(date +%s)
summary=()
note() { summary+=("$*"); echo "-- $*"; }
left() { echo $((budget - ($(date +%s) - t0))); }
finish() {
  echo
  echo "==================== gpu_check summary ($(( $(date +%s) - t0 ))s, logs in $logs)"
  printf '%s\n' "${summary[@]}"
  if [ -n "${OUT:-}" ] && [ -d "${OUT:-}" ]; then
    printf '%s\n' "${summary[@]}" > "$OUT/gpu_check_summary.txt"
    tar czf "$OUT/gpu_check_logs.tgz" -C "$(dirname "$logs")" "$(basename "$logs")" 2>/dev/null
  fi
}

# step NAME LIMIT CMD...: runs CMD with min(LIMIT, time left) seconds, output to $logs/NAME.log
# (and shown); sets $rc (124 = timed out, 125 = not started: no time left).
step() {
  local name=$1 limit=$2
  shift 2
  local l
  l=$(left)
  [ "$l" -lt "$limit" ] && limit=$l
  if [ "$limit" -lt 5 ]; then
    rc=125
    echo "== $name: not started, the ${budget}s budget is spent" | tee "$logs/$name.log"
    return
  fi
  echo "== $name (timeout ${limit}s): $*"
  timeout -k 5 "$limit" "$@" > "$logs/$name.log" 2>&1
  rc=$?
  tail -n 25 "$logs/$name.log"
  [ "$rc" = 124 ] && echo "== $name: TIMED OUT after ${limit}s"
}

# ---------------------------------------------------------------- 1. environment
export OMP_WAIT_POLICY=PASSIVE
gpu=""
if command -v nvidia-smi > /dev/null; then
  gpu=$(timeout 20 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)
fi
py=python3
torch_line=$(timeout 60 "$py" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "available" if torch.cuda.is_available() else "unavailable")' 2>/dev/null || echo "no PyTorch")
note "GPU: ${gpu:-none found (nvidia-smi absent or silent)}; PyTorch: $torch_line"

# The CUDA libraries the binaries were linked against, from the machine's Python packages.
roots=$(timeout 30 "$py" -c 'import site, sys; print(" ".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null || true)
libdirs=()
missing=()
if [ -f "$bundle/CUDA_LIBS" ]; then
  while read -r lib; do
    [ -n "$lib" ] || continue
    found=""
    # NVIDIA's wheels first (what PyTorch itself loads), then a toolkit, then the system.
    for r in $(for x in $roots; do echo "$x/nvidia" "$x/torch/lib"; done) /usr/local/cuda/lib64 \
             /usr/local/cuda/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu; do
      [ -d "$r" ] || continue
      found=$(find -H "$r" -maxdepth 4 -name "$lib" \( -type f -o -type l \) 2>/dev/null | sort | head -1)
      [ -n "$found" ] && break
    done
    if [ -n "$found" ]; then
      d=$(dirname "$found")
      case " ${libdirs[*]} " in *" $d "*) ;; *) libdirs+=("$d") ;; esac
    else
      missing+=("$lib")
    fi
  done < "$bundle/CUDA_LIBS"
fi
# The driver (libcuda.so.1) is the system's; some images keep it outside ld.so's default path.
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
  [ -e "$d/libcuda.so.1" ] && libdirs+=("$d")
done
cuda_path=$(IFS=:; echo "${libdirs[*]}")
export LD_LIBRARY_PATH="$bundle/lib${cuda_path:+:$cuda_path}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The carried C++ runtime only where the machine's own does not do.
if ldd "$bundle/bin/mt-train" 2>&1 | grep -Eq "not found|version .* not found"; then
  export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$bundle/lib-fallback"
  fallback=used
else
  fallback=unused
fi
unresolved=$(ldd "$bundle/bin/mt-train" 2>&1 | grep -E "not found" | tr -s ' \t' ' ' | paste -sd';' -)
note "libraries: CUDA from ${cuda_path:-nowhere}${missing:+; NOT FOUND: ${missing[*]}}; C++ runtime fallback $fallback${unresolved:+; UNRESOLVED: $unresolved}"

have_gpu=0
if [ -n "$gpu" ] || [[ "$torch_line" == *" available"* ]]; then have_gpu=1; fi

# ---------------------------------------------------------------- 2. tests
tests=$(cat "$bundle/TESTS" 2>/dev/null)
for t in $tests; do
  [ -x "$bundle/bin/$t" ] || { note "$t: not in the bundle"; continue; }
  lim=60
  case "$t" in backend_ops_test|device_ops_test) lim=150 ;; device_run_test) lim=90 ;; esac
  step "$t" "$lim" env TEST_TMPDIR="$logs/tmp_$t" bash -c "mkdir -p \"\$TEST_TMPDIR\" && exec \"$bundle/bin/$t\""
  passed=$(grep -Eo '\[  PASSED  \] [0-9]+' "$logs/$t.log" | grep -Eo '[0-9]+$' || echo 0)
  skipped=$(grep -Eo '\[  SKIPPED \] [0-9]+' "$logs/$t.log" | grep -Eo '[0-9]+$' || echo 0)
  failed=$(grep -Eo '\[  FAILED  \] [0-9]+ test' "$logs/$t.log" | grep -Eo '[0-9]+' | head -1 || true)
  status=ok
  [ "$rc" = 0 ] || status="FAILED (exit $rc)"
  [ "$rc" = 124 ] && status="TIMED OUT"
  [ "$rc" = 125 ] && status="NOT RUN (budget)"
  note "$t: $status; passed ${passed:-0}, skipped ${skipped:-0}${failed:+, failed $failed}"
  if [ "$rc" != 0 ] && [ "$rc" != 125 ]; then
    grep -E '^\[  FAILED  \] [A-Za-z]' "$logs/$t.log" | head -8 | sed 's/^/     /' | while read -r l; do note "   $l"; done
  fi
  skip_reason=$(grep -m1 -A1 ': Skipped$' "$logs/$t.log" | tail -n 1 | head -c 200)
  [ "$skipped" != 0 ] && [ -n "$skip_reason" ] && note "   first skip: $skip_reason"
done

if [ "$have_gpu" = 0 ]; then
  note "SKIPPED training and the PyTorch comparison: no GPU on this machine"
  finish
  exit 0
fi

# ---------------------------------------------------------------- 3. one epoch of LeNet-5
if [ -f "$data_dir/mnist/train-images-idx3-ubyte.gz" ] || [ -f "$data_dir/mnist/train-images-idx3-ubyte" ]; then
  step train_lenet5 180 "$bundle/bin/mt-train" --task=mnist --model=lenet5 --epochs=1 \
    --device=cuda:0 --threads=4 --data_dir="$data_dir"
  epoch=$(grep -m1 '^Epoch 1 ' "$logs/train_lenet5.log")
  if [ "$rc" = 0 ] && [ -n "$epoch" ]; then
    note "LeNet-5, 1 epoch of MNIST on cuda:0: $epoch"
  else
    note "LeNet-5 training on cuda:0: FAILED (exit $rc): $(tail -n 2 "$logs/train_lenet5.log" | tr '\n' ' ' | head -c 300)"
  fi
else
  note "LeNet-5 training: SKIPPED: no MNIST under $data_dir/mnist (carry it or pass --data_dir)"
fi

# ---------------------------------------------------------------- 4. mt against PyTorch eager
# field FILE KEY: a number from the JSON line in FILE (train.samples_per_s, ...)
field() {
  "$py" - "$1" "$2" <<'PY' 2>/dev/null || echo ""
import json, sys
line = [l for l in open(sys.argv[1]) if l.startswith("{")][-1]
v = json.loads(line)
for k in sys.argv[2].split("."):
    v = v[k]
print(f"{v:.1f}" if isinstance(v, float) else v)
PY
}
bench_pair() {  # LABEL BATCH STEPS INFER_BATCH: mt and torch, interleaved, two rounds each
  local label=$1 bs=$2 steps=$3 ibs=$4 best_mt=0 best_torch=0 r v
  for r in 1 2; do
    step "mt_${label}_$r" 60 "$bundle/bin/mt-bench" --device=cuda:0 --model=lenet5 --data=synthetic \
      --batch_size="$bs" --train_steps="$steps" --warmup=10 --infer_batch_size="$ibs" \
      --infer_batches=20 --threads=4
    v=$(field "$logs/mt_${label}_$r.log" train.samples_per_s)
    [ -n "$v" ] && best_mt=$("$py" -c "print(max($best_mt, $v))")
    step "torch_${label}_$r" 90 "$py" "$bundle/bench/torch_gpu_bench.py" --device=cuda:0 \
      --model=lenet5 --data=synthetic --batch_size="$bs" --train_steps="$steps" --warmup=10 \
      --infer_batch_size="$ibs" --infer_batches=20
    v=$(field "$logs/torch_${label}_$r.log" train.samples_per_s)
    [ -n "$v" ] && best_torch=$("$py" -c "print(max($best_torch, $v))")
  done
  local mt_i torch_i
  mt_i=$(field "$logs/mt_${label}_2.log" infer.samples_per_s)
  torch_i=$(field "$logs/torch_${label}_2.log" infer.samples_per_s)
  if [ "$best_mt" != 0 ] && [ "$best_torch" != 0 ]; then
    note "$label: training mt $best_mt vs PyTorch $best_torch samples/s (best of 2): mt/PyTorch = $("$py" -c "print(f'{$best_mt / $best_torch:.2f}')")x; inference (batch $ibs) mt ${mt_i:-?} vs PyTorch ${torch_i:-?} samples/s"
  else
    note "$label: INCOMPLETE: mt ${best_mt} samples/s, PyTorch ${best_torch} samples/s (see $logs/mt_${label}_*.log, torch_${label}_*.log)"
  fi
}
bench_pair "lenet5_batch64" 64 300 256
bench_pair "lenet5_batch4096" 4096 40 8192
finish
