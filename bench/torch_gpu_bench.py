#!/usr/bin/env python3
"""PyTorch eager (cuDNN) on a GPU: the work `mt-bench --device cuda:N` does, for the side-by-side
GPU comparison in scripts/gpu_check.sh.

The same models, optimisers, learning rates and batches as bench/torch_bench.py (it imports them
from there), but on the GPU: batches are built and uploaded before timing (as mt-bench does), each
training step reads its loss with loss.item() (mt's trainer and mt-bench synchronise once per step
the same way), and every timing starts and ends with torch.cuda.synchronize(). Prints one JSON
object with the fields mt-bench prints, plus the GPU's name.

Runs with the python3 that has PyTorch with CUDA (on the GPU machine, its default python3).
"""
import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from torch_bench import (image_batches, load_mnist, make_model, make_optimizer,  # noqa: E402
                         model_defaults, synthetic_batches)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="lenet5", choices=["lenet5", "minitorch_mnist", "kim_cnn"])
    p.add_argument("--device", default="cuda:0")
    p.add_argument("--data_dir", default="")
    p.add_argument("--data", default="synthetic", choices=["real", "synthetic"])
    p.add_argument("--batch_size", type=int, default=0)
    p.add_argument("--train_steps", type=int, default=200)
    p.add_argument("--infer_batch_size", type=int, default=256)
    p.add_argument("--infer_batches", type=int, default=20)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--synthetic_length", type=int, default=20)
    p.add_argument("--synthetic_vocab", type=int, default=14000)
    p.add_argument("--cudnn_benchmark", action="store_true",
                   help="let cuDNN time its algorithms first (PyTorch's default is off)")
    a = p.parse_args()
    if not torch.cuda.is_available():
        print(json.dumps({"impl": "torch", "error": "torch.cuda.is_available() is False"}))
        return 2
    dev = torch.device(a.device)
    torch.backends.cudnn.benchmark = a.cudnn_benchmark
    torch.manual_seed(1)
    text = a.model == "kim_cnn"
    batch_size, optimizer_name, lr = model_defaults(a.model, a.batch_size)
    train_count = min(a.train_steps + a.warmup, 500)
    infer_count = min(a.infer_batches + a.warmup, 40)
    gen = torch.Generator().manual_seed(1)
    vocab = a.synthetic_vocab
    if a.data == "synthetic" or text:
        train = synthetic_batches(text, batch_size, train_count, a.synthetic_length, vocab, gen)
        infer = synthetic_batches(text, a.infer_batch_size, infer_count, a.synthetic_length,
                                  vocab, gen)
    else:
        train_split, test_split = load_mnist(a.data_dir)
        train = image_batches(train_split, batch_size, train_count)
        infer = image_batches(test_split, a.infer_batch_size, infer_count)
    train = [(x.to(dev), y.to(dev)) for x, y in train]
    infer = [(x.to(dev), y.to(dev)) for x, y in infer]
    model = make_model(a.model, vocab).to(dev)
    optimizer = make_optimizer(model, optimizer_name, lr)

    out = {"impl": "torch", "torch_version": torch.__version__, "model": a.model,
           "device": str(dev), "gpu": torch.cuda.get_device_name(dev), "data": a.data,
           "optimizer": optimizer_name, "cudnn_benchmark": a.cudnn_benchmark}
    if a.train_steps > 0:
        model.train()
        for s in range(a.train_steps + a.warmup):
            if s == a.warmup:
                torch.cuda.synchronize(dev)
                start = time.perf_counter()
            x, y = train[s % len(train)]
            optimizer.zero_grad()
            loss = F.nll_loss(model(x), y)
            loss.backward()
            optimizer.step()
            last_loss = loss.item()  # one synchronisation per step, as mt's trainer
        torch.cuda.synchronize(dev)
        seconds = time.perf_counter() - start
        out["train"] = {"batch_size": batch_size, "steps": a.train_steps, "seconds": seconds,
                        "samples_per_s": a.train_steps * batch_size / seconds,
                        "last_loss": last_loss}
    if a.infer_batches > 0:
        model.eval()
        with torch.no_grad():
            for b in range(a.infer_batches + a.warmup):
                if b == a.warmup:
                    torch.cuda.synchronize(dev)
                    start = time.perf_counter()
                model(infer[b % len(infer)][0])
            torch.cuda.synchronize(dev)
        seconds = time.perf_counter() - start
        out["infer"] = {"batch_size": a.infer_batch_size, "batches": a.infer_batches,
                        "seconds": seconds,
                        "samples_per_s": a.infer_batches * a.infer_batch_size / seconds}
    out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
