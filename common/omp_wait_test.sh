#!/usr/bin/env bash
# EnsureBriefOpenMpWait: neither variable set -> PASSIVE with a brief spin count, through
# exactly one re-execution with the same arguments; a value the user set (either variable) is
# kept without re-executing. The re-executed process keeps its binary's name (not "exe").
set -euo pipefail
probe="$1"
fail() { echo "FAIL: $*" >&2; exit 1; }
clean=(env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u MT_OMP_PROBE_RUNS)

got=$("${clean[@]}" "$probe" a "b c")
echo "unset:  $got"
[ "$got" = "policy=PASSIVE spin=3000 runs=2 arg=a arg=b c comm=omp_wait_probe" ] || fail "unset variables gave: $got"

got=$("${clean[@]}" OMP_WAIT_POLICY=ACTIVE "$probe" x)
echo "active: $got"
[ "$got" = "policy=ACTIVE spin=(unset) runs=1 arg=x comm=omp_wait_probe" ] || fail "ACTIVE policy gave: $got"

got=$("${clean[@]}" GOMP_SPINCOUNT=0 "$probe" z)
echo "spin:   $got"
[ "$got" = "policy=(unset) spin=0 runs=1 arg=z comm=omp_wait_probe" ] || fail "GOMP_SPINCOUNT=0 gave: $got"

# Found through PATH under a bare name: /proc/self/exe still finds the binary.
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
cp "$probe" "$dir/mt-probe"
got=$(cd / && "${clean[@]}" PATH="$dir:$PATH" mt-probe y)
echo "path:   $got"
[ "$got" = "policy=PASSIVE spin=3000 runs=2 arg=y comm=mt-probe" ] || fail "bare name on PATH gave: $got"
echo OK
