#!/bin/bash
# mt-bench prints one JSON object with the fields bench/run.sh reads, for every model, on a
# handful of synthetic steps. Only the shape and the sanity of the figures are checked: timing
# is the benchmark's business, never a test's.
set -euo pipefail
bench="${TEST_SRCDIR}/${TEST_WORKSPACE}/bench/mt-bench"
export OMP_WAIT_POLICY=PASSIVE
for model in lenet5 minitorch_mnist kim_cnn; do
  out=$("$bench" --model="$model" --data=synthetic --train_steps=3 --infer_batches=2 \
        --infer_batch_size=8 --warmup=1 --threads=1)
  echo "$model: $out"
  python3 - "$model" "$out" <<'PY'
import json, math, sys
model, out = sys.argv[1], json.loads(sys.argv[2])
assert out["impl"] == "mt" and out["model"] == model and out["data"] == "synthetic", out
assert out["threads"] == 1, out
t, i = out["train"], out["infer"]
assert t["steps"] == 3 and t["batch_size"] == (50 if model == "kim_cnn" else 64), t
assert t["samples_per_s"] > 0 and math.isfinite(t["last_loss"]), t
assert i["batches"] == 2 and i["batch_size"] == 8 and i["samples_per_s"] > 0, i
assert out["max_rss_mb"] > 1, out
PY
done
# A bad --data value is refused with a message naming the allowed values.
if err=$("$bench" --data=fake 2>&1); then echo "accepted --data=fake"; exit 1; fi
grep -q "must be real or synthetic" <<<"$err"
echo PASS
