#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang (-fsanitize=fuzzer,address; Bazel's toolchain
# here is gcc, so they are built directly) and runs each for a bounded time, printing how many
# inputs it executed and for how long. Exit status: non-zero when a target crashes (its
# reproducer is left in the work directory, named crash-*).
#
#   scripts/fuzz.sh            # 60 s per target
#   scripts/fuzz.sh 20         # 20 s per target (scripts/test.sh does this)
#   FUZZ_WORK=/tmp/f scripts/fuzz.sh 600 safetensors   # one target, longer
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-60}"
shift || true
TARGETS=("$@")
if ((${#TARGETS[@]} == 0)); then TARGETS=(safetensors png text); fi

CXX="${CXX_FUZZ:-clang++}"
if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "fuzz: $CXX not found; install clang (scripts/setup.sh does)" >&2
  exit 2
fi
WORK="${FUZZ_WORK:-${TMPDIR:-/tmp}/mt-fuzz}"
mkdir -p "$WORK/obj"

FLAGS=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fopenmp -I. -DNDEBUG
       -fsanitize=address -fsanitize=fuzzer-no-link)
LIBS=(-lpng16 -lz -labsl_status -labsl_statusor -labsl_strings -labsl_str_format_internal
      -labsl_cord -labsl_cordz_info -labsl_cord_internal -labsl_cordz_functions
      -labsl_cordz_handle -labsl_throw_delegate -labsl_raw_logging_internal -labsl_int128
      -labsl_synchronization -labsl_graphcycles_internal -labsl_stacktrace -labsl_symbolize
      -labsl_debugging_internal -labsl_demangle_internal -labsl_time -labsl_time_zone
      -labsl_base -labsl_spinlock_wait -labsl_malloc_internal -labsl_exponential_biased
      -labsl_strings_internal -lpthread)

# The library code the targets reach, compiled once (objects are reused while unchanged).
LIB_SRCS=(engine/allocator.cc engine/autograd.cc engine/backends/cpu.cc engine/backends/cuda_copy.cc
          engine/dispatch.cc
          engine/nn.cc engine/ops_elementwise.cc engine/ops_linalg.cc engine/ops_nn.cc
          engine/ops_reduce.cc engine/ops_shape.cc engine/optim.cc engine/random.cc
          engine/tensor.cc engine/threads.cc engine/cpu_load.cc engine/device_scope.cc engine/io/safetensors.cc
          engine/cuda_memory.cc engine/cuda/runtime.cc engine/cuda/device_pool.cc engine/models/models.cc
          engine/data/sst2.cc engine/data/input_file.cc
          common/png.cc common/atomic_file.cc common/short_quote.cc)
for f in kernels/cpu/*.cc; do
  case "$f" in *_test.cc|*_bench.cc) ;; *) LIB_SRCS+=("$f") ;; esac
done

objs=()
# An object is stale when its source or any header of ours is newer (headers carry inline code).
newest_header=$(find common engine kernels proto -name '*.h' -printf '%T@ %p\n' 2>/dev/null | sort -n | tail -1 | cut -d' ' -f2-)
for src in "${LIB_SRCS[@]}"; do
  obj="$WORK/obj/$(echo "$src" | tr / _).o"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || { [ -n "$newest_header" ] && [ "$newest_header" -nt "$obj" ]; }; then
    "$CXX" "${FLAGS[@]}" -c "$src" -o "$obj"
  fi
  objs+=("$obj")
done

status=0
for t in "${TARGETS[@]}"; do
  src="fuzz/${t}_fuzz.cc"
  bin="$WORK/${t}_fuzz"
  "$CXX" "${FLAGS[@]}" -fsanitize=fuzzer "$src" "${objs[@]}" "${LIBS[@]}" -o "$bin"
  corpus="$WORK/corpus_$t"
  mkdir -p "$corpus"
  # Seeds: the checked-in examples for this target, if any.
  if [ -d "fuzz/seeds/$t" ]; then cp -n fuzz/seeds/"$t"/* "$corpus"/ 2>/dev/null || true; fi
  log="$WORK/${t}.log"
  start=$(date +%s.%N)
  # -rss_limit_mb and -malloc_limit_mb: an input that makes the code allocate more than this is
  # a finding (the limits must refuse it first). OMP_NUM_THREADS=1: a single-thread team.
  if (cd "$WORK" && OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE \
        "$bin" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -malloc_limit_mb=1024 \
        -timeout=10 -max_len=65536 -print_final_stats=1 "$corpus" >"$log" 2>&1); then
    result=ok
  else
    result=FAILED
    status=1
  fi
  end=$(date +%s.%N)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  printf 'fuzz %-12s %-6s %10s executions in %6.1f s (log %s)\n' "$t" "$result" "$execs" \
    "$(echo "$end - $start" | bc)" "$log"
  if [ "$result" = FAILED ]; then grep -E "ERROR|SUMMARY|crash-|Test unit written" "$log" | head -20 >&2; fi
done
exit $status
