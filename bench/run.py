#!/usr/bin/env python3
"""The benchmark driver behind bench/run.sh (Python standard library only).

Runs mt (bench/mt-bench, engine/train:mt-train) and PyTorch (bench/torch_bench.py) interleaved
— mt, torch, mt, torch — for N rounds, records the other load on the machine during every run,
and prints every run's figures, the medians, and the mt/torch ratio for each of issue 10's
targets as a Markdown table. Benchmarks, not tests: nothing here passes or fails on speed.
"""
import argparse
import json
import os
import re
import statistics
import shutil
import subprocess
import sys
import tempfile
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def busy_seconds():
    """CPU time every process on the machine has used (user+nice+system+irq+softirq+steal)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def run(cmd, env, timeout, on_line=None):
    """Runs cmd; returns its stdout, its own CPU time and peak RSS (wait4), and the load."""
    before = {"load": loadavg(), "busy": busy_seconds(), "t": time.monotonic()}
    # The child is reaped with os.wait4 (its own CPU time and peak RSS, not all children's), so
    # nothing here may call Popen.wait/communicate: output goes through files, the timeout
    # through a timer.
    with tempfile.TemporaryFile("w+") as out_file, tempfile.TemporaryFile("w+") as err_file:
        proc = subprocess.Popen(cmd, env=env, text=True, stderr=err_file,
                                stdout=subprocess.PIPE if on_line else out_file)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        lines, stopped = [], False
        if on_line:
            for line in proc.stdout:  # as it comes, so that on_line can time epochs
                lines.append(line)
                if on_line(line, time.monotonic() - before["t"]):  # seen enough: stop it
                    proc.kill()
                    stopped = True
                    break
        _, status, usage = os.wait4(proc.pid, 0)
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.stdout:
            proc.stdout.close()
        out_file.seek(0)
        err_file.seek(0)
        lines.append(out_file.read())
        stderr = err_file.read()
    wall = time.monotonic() - before["t"]
    own_cpu = usage.ru_utime + usage.ru_stime
    other_cpu = max(0.0, busy_seconds() - before["busy"] - own_cpu)
    if proc.returncode != 0 and not stopped:
        sys.exit(f"bench: {' '.join(cmd)} failed ({proc.returncode}; killed after {timeout} s?):\n"
                 f"{''.join(lines)}{stderr}")
    return {
        "stdout": "".join(lines),
        "wall_s": wall,
        "cpu_s": own_cpu,
        "max_rss_mb": usage.ru_maxrss / 1024.0,
        "load_before": before["load"],
        "load_after": loadavg(),
        # Cores' worth of CPU that other processes used while this one ran.
        "other_cores": other_cpu / wall if wall > 0 else 0.0,
    }


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError(f"no JSON in output:\n{text}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--bin_dir", default=os.path.join(root, "bazel-bin"),
                   help="bazel-bin holding bench/mt-bench and engine/train/mt-train")
    p.add_argument("--torch_python", default="/usr/bin/python3")
    p.add_argument("--data_dir", default="", help="holds mnist/ and sst2/ "
                   "(default: ../shared/data, else data/, else synthetic data)")
    p.add_argument("--data", default="auto", choices=["auto", "real", "synthetic"])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lenet5_steps", type=int, default=200)
    p.add_argument("--minitorch_steps", type=int, default=300)
    p.add_argument("--kim_steps", type=int, default=60)
    p.add_argument("--infer_batches", type=int, default=100)
    p.add_argument("--contention_steps", type=int, default=150)
    p.add_argument("--mt_train_size", type=int, default=0,
                   help="training examples of the mt-train LeNet-5 run and of the same job through "
                        "the daemon (0 = the full 60000)")
    p.add_argument("--no_daemon", action="store_true",
                   help="skip the daemon job (bazel-bin/server/server + client/mt-client)")
    p.add_argument("--omp_defaults", action="store_true",
                   help="leave OMP_WAIT_POLICY and GOMP_SPINCOUNT as the environment has them "
                        "(default: mt at its own default -- PASSIVE with a brief spin, which it "
                        "sets itself -- and PyTorch with PASSIVE, faster for it here than its "
                        "default); the contention target always runs at the programs' defaults")
    p.add_argument("--time_to_accuracy", action="store_true",
                   help="also time mt-train LeNet-5 on full MNIST until 99.0%% test accuracy")
    p.add_argument("--tta_epochs", type=int, default=10)
    p.add_argument("--timeout", type=int, default=600, help="seconds per run")
    p.add_argument("--out", default="", help="also write the Markdown report here")
    a = p.parse_args()

    mt_bench = os.path.join(a.bin_dir, "bench", "mt-bench")
    mt_train = os.path.join(a.bin_dir, "engine", "train", "mt-train")
    # The machine's own 1 -> N thread ceiling (independent FMAs, bench/fma_probe.cc).
    a.fma_probe = os.path.join(a.bin_dir, "bench", "fma-probe")
    for path in (mt_bench, mt_train):
        if not os.access(path, os.X_OK):
            sys.exit(f"bench: {path} missing; build it (bench/run.sh builds it)")
    torch_ok = subprocess.run([a.torch_python, "-c", "import torch"], capture_output=True).returncode == 0
    server = os.path.join(a.bin_dir, "server", "server")
    client = os.path.join(a.bin_dir, "client", "mt-client")
    daemon_ok = not a.no_daemon and all(os.access(x, os.X_OK) for x in (server, client))

    data_dir, data = a.data_dir, a.data
    if data != "synthetic" and not data_dir:
        for candidate in (os.path.join(root, "..", "shared", "data"), os.path.join(root, "data")):
            if os.path.exists(os.path.join(candidate, "mnist", "train-images-idx3-ubyte.gz")):
                data_dir = os.path.normpath(candidate)
                break
    if data == "auto":
        data = "real" if data_dir and os.path.isdir(os.path.join(data_dir, "sst2")) else "synthetic"
    if data == "real" and not data_dir:
        sys.exit("bench: --data=real but no data directory found; pass --data_dir")

    omp_vars = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
    # mt's programs choose their waiting themselves when neither variable is set
    # (common/omp_wait.h); PyTorch gets PASSIVE.
    env = dict(os.environ)  # PyTorch's
    mt_env = dict(os.environ)
    if not a.omp_defaults:
        env = {k: v for k, v in os.environ.items() if k not in omp_vars}
        env["OMP_WAIT_POLICY"] = "PASSIVE"
        mt_env = {k: v for k, v in os.environ.items() if k not in omp_vars}
    a.mt_env = mt_env
    defaults_env = {k: v for k, v in os.environ.items() if k not in omp_vars + ("OMP_NUM_THREADS",)}

    def mt_cmd(model, threads, **kw):
        c = [mt_bench, f"--model={model}", f"--data={data}", f"--threads={threads}"]
        if data == "real":
            c.append(f"--data_dir={data_dir}")
        return c + [f"--{k}={v}" for k, v in kw.items()]

    def torch_cmd(model, threads, **kw):
        c = [a.torch_python, os.path.join(here, "torch_bench.py"), f"--model={model}",
             f"--data={data}", f"--threads={threads}"]
        if data == "real":
            c.append(f"--data_dir={data_dir}")
        return c + [f"--{k}={v}" for k, v in kw.items()]

    # (name, model, extra flags, threads, env, busy neighbour)
    T = a.threads
    jobs = [
        ("lenet5", "lenet5", {"train_steps": a.lenet5_steps, "infer_batches": a.infer_batches}, T, env, False),
        ("minitorch b16", "minitorch_mnist", {"train_steps": a.minitorch_steps, "batch_size": 16,
                                              "infer_batches": 0}, T, env, False),
        ("kim_cnn", "kim_cnn", {"train_steps": a.kim_steps, "infer_batches": max(1, a.infer_batches // 4)}, T, env, False),
        ("lenet5 1 thread", "lenet5", {"train_steps": a.contention_steps, "infer_batches": 0}, 1, env, False),
        ("lenet5 defaults quiet", "lenet5", {"train_steps": a.contention_steps, "infer_batches": 0}, 0, defaults_env, False),
        ("lenet5 defaults + 1 busy", "lenet5", {"train_steps": a.contention_steps, "infer_batches": 0}, 0, defaults_env, True),
    ]
    runs = []  # dicts: round, job, impl, figures, load
    log = lambda s: print(s, file=sys.stderr, flush=True)
    log(f"bench: data={data} ({data_dir or 'synthetic tensors'}), torch={'yes' if torch_ok else 'no'}, "
        f"{a.rounds} rounds, {NCPU} cpus")
    daemon = Daemon(server, client, data_dir, mt_env) if daemon_ok and data == "real" else None
    try:
        for r in range(1, a.rounds + 1):
            run_round(r, a, jobs, runs, log, mt_cmd, torch_cmd, torch_ok, data, data_dir, env,
                      mt_train, daemon)
    finally:
        if daemon:
            daemon.stop()
    finish(a, runs, data, data_dir, torch_ok, env, mt_train, log)


class Daemon:
    """The mt daemon on a free loopback port with a state directory of its own."""

    def __init__(self, server, client, data_dir, env):
        import socket
        import tempfile
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.addr = f"127.0.0.1:{sock.getsockname()[1]}"
        self.client, self.env = client, env
        self.state = tempfile.mkdtemp(prefix="mt-bench-daemon-")
        self.log_file = open(os.path.join(self.state, "daemon.log"), "w")
        self.proc = subprocess.Popen([server, f"--listen={self.addr}", f"--state_dir={self.state}",
                                      f"--data_dir={data_dir}"], env=env, stdout=self.log_file,
                                     stderr=subprocess.STDOUT)
        for _ in range(200):
            if self.proc.poll() is not None:
                break
            ok = subprocess.run([client, "--server", self.addr, "devices"], env=env,
                                capture_output=True).returncode == 0
            if ok:
                return
            time.sleep(0.1)
        with open(os.path.join(self.state, "daemon.log")) as f:
            tail = f.read()[-2000:]
        self.stop()
        sys.exit(f"bench: the daemon did not start on {self.addr}; the end of its log:\n{tail}")

    def submit_cmd(self, *args):
        return [self.client, "--server", self.addr, "submit", *args, "--follow"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        shutil.rmtree(self.state, ignore_errors=True)


def run_round(r, a, jobs, runs, log, mt_cmd, torch_cmd, torch_ok, data, data_dir, env, mt_train,
              daemon):
    T = a.threads
    for name, model, kw, threads, job_env, busy in jobs:
        impls = [("mt", mt_cmd)] + ([("torch", torch_cmd)] if torch_ok else [])
        for impl, make in impls:
            neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
            try:
                # The standard rows (env): each side with its own waiting (see main).
                res = run(make(model, threads, **kw),
                          a.mt_env if impl == "mt" and job_env is env else job_env, a.timeout)
            finally:
                if neighbour:
                    neighbour.kill()
                    neighbour.wait()
            res.update(round=r, job=name, impl=impl, json=last_json(res["stdout"]))
            runs.append(res)
            j = res["json"]
            log(f"  round {r} {name:26s} {impl:5s} train {j.get('train', {}).get('samples_per_s', 0):8.0f}/s "
                f"infer {j.get('infer', {}).get('samples_per_s', 0):8.0f}/s rss {res['max_rss_mb']:6.0f} MB "
                f"load {res['load_before']:.2f}->{res['load_after']:.2f} other {res['other_cores']:.2f} cores")
    if os.path.exists(a.fma_probe):
        res = run([a.fma_probe], a.mt_env, a.timeout)
        res.update(round=r, job="fma probe", impl="machine", json={})
        j = last_json(res["stdout"])
        res["probe"] = j
        runs.append(res)
        log(f"  round {r} fma probe: one thread {j.get('one_gflops', 0):.1f} GFLOP/s, all "
            f"{j.get('all_gflops', 0):.1f} ({j.get('speedup', 0):.2f}x), cache-line round trip "
            f"{j.get('round_trip_ns', 0):.0f} ns, other {res['other_cores']:.2f} cores")
    if data == "real":
        # One LeNet-5 epoch by mt-train, then (when the daemon runs) the same epoch as a job
        # through it (gRPC on loopback, its scheduler, its event store), followed to the end by
        # mt-client. Both print the epoch line with its speed.
        size = a.mt_train_size or 60000
        epochs = [("mt-train lenet5", "mt-train", [mt_train, "--task=mnist", "--model=lenet5",
                   "--epochs=1", f"--train_size={a.mt_train_size}", "--valid_size=1000",
                   f"--threads={T}", f"--data_dir={data_dir}"])]
        if daemon:
            epochs.append(("daemon lenet5", "daemon job", daemon.submit_cmd(
                "mnist", "--model", "lenet5", "--epochs", "1", "--train-size", str(size),
                "--valid-size", "1000", "--threads", str(T))))
        # Every other round the daemon goes first, so a drift in the machine's speed (this VM's
        # two-thread rate changes from minute to minute) does not always favour one side.
        if r % 2 == 0:
            epochs.reverse()
        for job, label, cmd in epochs:
            res = run(cmd, a.mt_env, a.timeout)
            m = re.search(r"\(([\d.]+) samples/s\)", res["stdout"])
            res.update(round=r, job=job, impl="mt",
                       json={"train": {"samples_per_s": float(m.group(1)) if m else 0.0}})
            runs.append(res)
            # A daemon job's process here is mt-client: its RSS says nothing of the daemon's.
            rss = "" if daemon and job == "daemon lenet5" else f"rss {res['max_rss_mb']:6.0f} MB "
            log(f"  round {r} {label} lenet5 ({size} ex) mt    "
                f"{res['json']['train']['samples_per_s']:8.0f}/s {rss}load "
                f"{res['load_before']:.2f}->{res['load_after']:.2f} "
                f"other {res['other_cores']:.2f} cores")


def finish(a, runs, data, data_dir, torch_ok, env, mt_train, log):
    T = a.threads
    tta = None
    if a.time_to_accuracy and data == "real":
        seen = {}

        def on_line(line, t):
            m = re.search(r"valid acc ([\d.]+)%", line)
            if m and float(m.group(1)) >= 99.0 and "t" not in seen:
                seen["t"], seen["line"] = t, line.strip()
            return "t" in seen

        res = run([mt_train, "--task=mnist", "--model=lenet5", f"--epochs={a.tta_epochs}",
                   f"--threads={T}", f"--data_dir={data_dir}"], a.mt_env, 100000, on_line)
        tta = {"seconds": seen.get("t"), "line": seen.get("line"), "load_before": res["load_before"],
               "load_after": res["load_after"], "other_cores": res["other_cores"],
               "epochs": a.tta_epochs}

    report = render(runs, a, data, data_dir, torch_ok, tta, env)
    print(report)
    if a.out:
        with open(a.out, "w") as f:
            f.write(report)


def figures(runs, job, impl, key):
    vals = []
    for r in runs:
        if r["job"] == job and r["impl"] == impl:
            if key == "rss":
                vals.append(r["max_rss_mb"])
            elif key in r["json"]:
                vals.append(r["json"][key]["samples_per_s"])
    return vals


def med(vals):
    return statistics.median(vals) if vals else None


def fmt(v, unit=""):
    if v is None:
        return "—"
    return f"{v:,.0f}{unit}" if abs(v) >= 100 else f"{v:.2f}{unit}"


def render(runs, a, data, data_dir, torch_ok, tta, env):
    out = []
    loads = [r["other_cores"] for r in runs]
    lavg = [r["load_before"] for r in runs] + [r["load_after"] for r in runs]
    out.append(f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {NCPU} CPUs, {a.rounds} rounds "
               f"interleaved (mt, torch, mt, torch, …), {a.threads} threads, "
               + ("mt at its own OpenMP waiting (OMP_WAIT_POLICY=PASSIVE with GOMP_SPINCOUNT=3000, set "
                  "by the program), PyTorch with OMP_WAIT_POLICY=PASSIVE"
                  if not a.omp_defaults else "OpenMP variables as the environment had them")
               + ", except the contention rows (programs' defaults, variables unset).")
    out.append(f"Data: **{data}**" + (f" ({data_dir})" if data == "real" else
               " — real MNIST/SST-2 not found: random tensors of the same shapes") + ". "
               + ("PyTorch: Debian python3-torch " + next((r["json"].get("torch_version", "") for r in runs
                  if r["impl"] == "torch"), "") if torch_ok else "PyTorch: **not installed** (bench/run.sh --setup)") + ".")
    out.append(f"Other load during the runs: other processes used {min(loads):.2f}–{max(loads):.2f} "
               f"cores (median {statistics.median(loads):.2f}) of {NCPU}; 1-min loadavg "
               f"{min(lavg):.2f}–{max(lavg):.2f}.")
    out.append("")
    out.append("| target | mt (median) | PyTorch (median) | mt/PyTorch | goal |")
    out.append("|---|---:|---:|---:|---|")

    def row(label, job, key, goal, unit="/s", inverse=False):
        m, t = med(figures(runs, job, "mt", key)), med(figures(runs, job, "torch", key))
        ratio = (m / t) if (m and t) else None
        out.append(f"| {label} | {fmt(m, unit)} | {fmt(t, unit)} | {fmt(ratio, '×')} | {goal} |")

    row("LeNet-5 training, batch 64 (samples/s)", "lenet5", "train", "≥ 2×")
    row("MiniTorch MNIST net training, batch 16", "minitorch b16", "train", "≥ 2.5×")
    row("Kim CNN training, SST-2, Adam, batch 50", "kim_cnn", "train", "≥ 2×")
    row("LeNet-5 inference, batch 256", "lenet5", "infer", "≥ 2×")
    row("Kim CNN inference, batch 256", "kim_cnn", "infer", "≥ 2×")
    row("Peak RSS, LeNet-5 training process (MB)", "lenet5", "rss", "≤ 0.33×", unit=" MB")

    def speedup(impl):
        one = med(figures(runs, "lenet5 1 thread", impl, "train"))
        two = med(figures(runs, "lenet5", impl, "train"))
        return two / one if one and two else None

    def kept(impl):
        quiet = med(figures(runs, "lenet5 defaults quiet", impl, "train"))
        busy = med(figures(runs, "lenet5 defaults + 1 busy", impl, "train"))
        return busy / quiet if quiet and busy else None

    out.append(f"| LeNet-5 training speed-up 1 → {a.threads} threads | {fmt(speedup('mt'), '×')} | "
               f"{fmt(speedup('torch'), '×')} | — | mt ≥ 1.8× |")
    probes = [r["probe"]["speedup"] for r in runs if r["job"] == "fma probe" and "speedup" in r.get("probe", {})]
    trips = [r["probe"]["round_trip_ns"] for r in runs if r["job"] == "fma probe"
             and r.get("probe", {}).get("round_trip_ns", -1) > 0]
    if probes:
        out.append(f"| (info) this machine's own ceiling, 1 → all threads: independent FMAs, no memory "
                   f"(bench/fma_probe.cc), median of {len(probes)} | {statistics.median(probes):.2f}× "
                   f"(range {min(probes):.2f}–{max(probes):.2f}) | — | — | — |")
    if trips:
        out.append(f"| (info) a cache line's round trip between two threads (bench/fma_probe.cc), "
                   f"median of {len(trips)} | {statistics.median(trips):.0f} ns "
                   f"(range {min(trips):.0f}–{max(trips):.0f}) | — | — | — |")
    out.append(f"| LeNet-5 training with 1 busy process / quiet, defaults | {fmt(kept('mt'), '×')} | "
               f"{fmt(kept('torch'), '×')} | — | mt ≥ 0.40× |")
    dj = med(figures(runs, "daemon lenet5", "mt", "train"))
    mj = med(figures(runs, "mt-train lenet5", "mt", "train"))
    if dj and mj:
        out.append(f"| Daemon job / mt-train, LeNet-5 epoch of {a.mt_train_size or 60000} examples "
                   f"| {fmt(dj, '/s')} / {fmt(mj, '/s')} = {dj / mj:.2f}× | — | — | within 5 % |")
        # The same comparison round by round: each round's two epochs ran next to each other.
        pairs = []
        for rnd in sorted({x["round"] for x in runs}):
            d = figures([x for x in runs if x["round"] == rnd], "daemon lenet5", "mt", "train")
            m = figures([x for x in runs if x["round"] == rnd], "mt-train lenet5", "mt", "train")
            if d and m and m[0] > 0:
                pairs.append(d[0] / m[0])
        if pairs:
            out.append(f"| (info) daemon job / mt-train within each round, median of {len(pairs)} "
                       f"| {statistics.median(pairs):.2f}× (range {min(pairs):.2f}–{max(pairs):.2f}) "
                       f"| — | — | — |")
    else:
        out.append("| Daemon job vs mt-train speed | not measured (--no_daemon, no real data, or no "
                   "server/client build) | — | — | within 5 % |")
    if tta and tta["seconds"] is not None:
        out.append(f"| mt-train LeNet-5 start → 99.0 % MNIST test accuracy | {tta['seconds']:.0f} s | — | — | report |")
    elif tta:
        out.append(f"| mt-train LeNet-5 start → 99.0 % MNIST test accuracy | not reached in {tta['epochs']} epochs | — | — | report |")
    else:
        out.append("| mt-train LeNet-5 start → 99.0 % MNIST test accuracy | not measured (--time_to_accuracy) | — | — | report |")
    mtt = med(figures(runs, "mt-train lenet5", "mt", "train"))
    if mtt:
        rss = med(figures(runs, "mt-train lenet5", "mt", "rss"))
        out.append(f"| (info) mt-train LeNet-5 epoch of {a.mt_train_size or 60000} examples: samples/s, peak RSS "
                   f"| {fmt(mtt, '/s')}, {fmt(rss, ' MB')} | — | — | — |")
    out.append("")
    out.append("Every run (train / infer samples/s; peak RSS of the process; 1-min loadavg before→after; "
               "cores other processes used during the run):")
    out.append("")
    out.append("| round | measurement | impl | train/s | infer/s | peak RSS | loadavg | other cores |")
    out.append("|---:|---|---|---:|---:|---:|---|---:|")
    for r in runs:
        if r["job"] == "fma probe":
            continue
        j = r["json"]
        tr = j.get("train", {}).get("samples_per_s")
        inf = j.get("infer", {}).get("samples_per_s")
        # A daemon job's process here is mt-client; the daemon itself is "other cores".
        rss = "— (client)" if r["job"].startswith("daemon") else f"{r['max_rss_mb']:.0f} MB"
        out.append(f"| {r['round']} | {r['job']} | {r['impl']} | {fmt(tr)} | {fmt(inf)} | "
                   f"{rss} | {r['load_before']:.2f}→{r['load_after']:.2f} | "
                   f"{r['other_cores']:.2f} |")
    if tta:
        out.append("")
        out.append(f"Time to accuracy run: {tta['line'] or 'not reached'}; loadavg "
                   f"{tta['load_before']:.2f}→{tta['load_after']:.2f}, other processes "
                   f"{tta['other_cores']:.2f} cores.")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
