#!/bin/bash
# Builds what scripts/gpu_check.sh runs on a GPU machine that has no Bazel, no apt and no network,
# and packs it into one folder to carry there (at most 64 MiB):
#   gpu_bundle/bin/         the binaries (tests, mt-train, mt-bench)
#   gpu_bundle/lib/         the non-system shared libraries they need (Debian's Abseil, ...), found
#                           with ldd; the CUDA libraries are NOT carried (cuBLAS alone is ~600 MB):
#                           gpu_check.sh finds the GPU machine's own under its PyTorch/NVIDIA
#                           Python packages
#   gpu_bundle/lib-fallback/ the C++ runtime (libstdc++, libgcc_s, libgomp): used there only when
#                           the machine's own are missing or too old
#   gpu_bundle/data/mnist/  the four MNIST .gz files (11 MiB), unless --no-data
#   gpu_bundle/bench/       bench/torch_bench.py and torch_gpu_bench.py
#   gpu_bundle/MANIFEST     what was built, from which commit, and the sizes
#
#   scripts/gpu_bundle.sh [--out DIR] [--data_dir DIR] [--no-data] [EXTRA_BAZEL_TARGET...]
# Extra targets (e.g. the CUDA kernels' own tests) are built and carried too; every cc_test among
# them is run by gpu_check.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
out=gpu_bundle
data_dir=${MT_DATA_DIR:-/work/shared/data}
with_data=1
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --data_dir) data_dir=$2; shift 2 ;;
    --no-data) with_data=0; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    //*) extra+=("$1"); shift ;;
    *) echo "gpu_bundle.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
limit=$((64 * 1024 * 1024))

# Tests whose GPU cases skip here and run there, then the two programs.
tests=(//tests/backend_ops:backend_ops_test //tests/backend_ops:device_ops_test
       //engine/cuda:runtime_test //engine/cuda:device_pool_test //engine/train:device_run_test
       //third_party/cuda:nvcc_smoke_test //kernels/cuda:gpu_kernels_test)
programs=(//engine/train:mt-train //bench:mt-bench)
if ! grep -q "CUDA_AVAILABLE = True" "$(bazel info output_base 2>/dev/null)/external/local_cuda/defs.bzl" 2>/dev/null; then
  echo "gpu_bundle.sh: note: @local_cuda says this build has no CUDA; the bundle will only skip GPU work" >&2
fi
echo "== bazel build (${#tests[@]} tests, ${#programs[@]} programs, ${#extra[@]} extra)"
bazel build "${tests[@]}" "${programs[@]}" "${extra[@]}"

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/lib-fallback" "$out/bench"
bin_of() {  # //pkg:name -> bazel-bin/pkg/name
  local t=${1#//}
  echo "bazel-bin/${t%%:*}/${t##*:}"
}
built=()
for t in "${tests[@]}" "${programs[@]}" "${extra[@]}"; do
  b=$(bin_of "$t")
  [ -x "$b" ] || { echo "gpu_bundle.sh: $t built no executable at $b" >&2; exit 1; }
  built+=("$b")
  cp -L "$b" "$out/bin/"
  chmod u+w "$out/bin/$(basename "$b")"
done
# Which carried binaries are tests (gpu_check.sh runs each).
: > "$out/TESTS"
for t in "${tests[@]}" "${extra[@]}"; do
  b=$(basename "$(bin_of "$t")")
  case "$b" in *_test) echo "$b" >> "$out/TESTS" ;; esac
done

# Shared libraries: everything ldd resolves outside glibc's own set and the CUDA libraries,
# asked of the binaries where Bazel left them (test binaries find the project's own libraries,
# e.g. libengine_Slibengine.so, through a relative rpath into bazel-bin/_solib_k8).
is_glibc() {
  case "$1" in
    libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|linux-vdso*|libresolv.so*) return 0 ;;
  esac
  return 1
}
is_cuda() {
  case "$1" in
    libcuda.so*|libcudart.so*|libcublas*.so*|libcudnn*.so*|libnccl.so*|libcurand.so*|libnvrtc*|libnvJitLink*|libcufft*|libcusparse*|libcusolver*) return 0 ;;
  esac
  return 1
}
is_runtime() {
  case "$1" in libstdc++.so*|libgcc_s.so*|libgomp.so*) return 0 ;; esac
  return 1
}
: > "$out/CUDA_LIBS"
for b in "${built[@]}"; do
  ldd "$b" | while read -r name arrow path rest; do
    [ "$arrow" = "=>" ] || continue
    if is_glibc "$name"; then continue; fi
    if is_cuda "$name"; then echo "$name" >> "$out/CUDA_LIBS"; continue; fi
    [ -f "$path" ] || { echo "gpu_bundle.sh: $b needs $name, which ldd did not find" >&2; exit 1; }
    if is_runtime "$name"; then dest="$out/lib-fallback"; else dest="$out/lib"; fi
    [ -f "$dest/$name" ] || cp -L "$path" "$dest/$name"
  done
done
# cuBLAS is opened at run time (kernels/cuda/cublas_loader.h), so ldd does not list it: name
# the toolkit's cuBLAS and cuBLASLt sonames for gpu_check.sh to find on the GPU machine.
cuda_home=$(sed -n 's/^CUDA_HOME = "\(.*\)"$/\1/p' "$(bazel info output_base 2>/dev/null)/external/local_cuda/defs.bzl" 2>/dev/null || true)
for l in libcublas libcublasLt; do
  so=$(objdump -p "${cuda_home:-/usr/local/cuda}/lib64/$l.so" 2>/dev/null | awk '/SONAME/ {print $2}')
  [ -n "$so" ] && echo "$so" >> "$out/CUDA_LIBS"
done
sort -u -o "$out/CUDA_LIBS" "$out/CUDA_LIBS"
# Debug sections are most of a test binary's size and of no use there.
strip --strip-debug "$out"/bin/* "$out"/lib/* "$out"/lib-fallback/* 2>/dev/null || true

cp bench/torch_bench.py bench/torch_gpu_bench.py "$out/bench/"
cp scripts/gpu_check.sh "$out/"
if [ "$with_data" = 1 ]; then
  mkdir -p "$out/data/mnist"
  for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz \
           t10k-labels-idx1-ubyte.gz; do
    [ -f "$data_dir/mnist/$f" ] || { echo "gpu_bundle.sh: $data_dir/mnist/$f is missing (--data_dir or --no-data)" >&2; exit 1; }
    cp "$data_dir/mnist/$f" "$out/data/mnist/"
  done
fi

{
  echo "built $(date -u +%FT%TZ) from $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty') on $(uname -m)"
  echo "targets: ${tests[*]} ${programs[*]} ${extra[*]}"
  echo "CUDA libraries expected on the GPU machine: $(tr '\n' ' ' < "$out/CUDA_LIBS")"
  (cd "$out" && du -ab . | sort -k2)
} > "$out/MANIFEST"
size=$(du -sb "$out" | cut -f1)
echo "== bundle $out: $((size / 1024 / 1024)) MiB ($(ls "$out/bin" | wc -l) binaries, $(ls "$out/lib" | wc -l) libraries, $(ls "$out/lib-fallback" | wc -l) fallback)"
echo "   CUDA libraries left to the GPU machine: $(tr '\n' ' ' < "$out/CUDA_LIBS")"
if [ "$size" -gt "$limit" ]; then
  echo "gpu_bundle.sh: the bundle is over 64 MiB; carry less (--no-data, fewer targets)" >&2
  exit 1
fi
echo "   carry it with: run(command='bash gpu_bundle/gpu_check.sh', carry=['$out'])"
