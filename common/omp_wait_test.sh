#!/usr/bin/env bash
# EnsurePassiveOpenMpWait: unset -> PASSIVE through exactly one re-execution with the same
# arguments; a value the user set is kept without re-executing.
set -euo pipefail
probe="$1"
fail() { echo "FAIL: $*" >&2; exit 1; }

got=$(env -u OMP_WAIT_POLICY -u MT_OMP_PROBE_RUNS "$probe" a "b c")
echo "unset:  $got"
[ "$got" = "policy=PASSIVE runs=2 arg=a arg=b c" ] || fail "unset policy gave: $got"

got=$(env -u MT_OMP_PROBE_RUNS OMP_WAIT_POLICY=ACTIVE "$probe" x)
echo "active: $got"
[ "$got" = "policy=ACTIVE runs=1 arg=x" ] || fail "ACTIVE policy gave: $got"

# Found through PATH under a bare name: /proc/self/exe still finds the binary.
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
cp "$probe" "$dir/mt-probe"
got=$(cd / && env -u OMP_WAIT_POLICY -u MT_OMP_PROBE_RUNS PATH="$dir:$PATH" mt-probe y)
echo "path:   $got"
[ "$got" = "policy=PASSIVE runs=2 arg=y" ] || fail "bare name on PATH gave: $got"
echo OK
