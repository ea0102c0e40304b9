#!/usr/bin/python3
"""The PyTorch side of bench/run.sh: the work bench/mt_bench.cc does, in PyTorch.

Same model shapes as engine/models (initialisation differs, which does not change the work),
same batch sizes, optimisers, thread count and data: MNIST images normalised as mt does, SST-2
tokenised as mt does (lower-cased, split on whitespace, vocabulary from the training split with
min_count 2, ids by descending count), consecutive examples per batch padded to the batch's
longest sentence (at least 5 tokens). Prints one JSON object with the fields mt-bench prints.

Needs Debian's python3-torch (run with /usr/bin/python3); bench/run.sh --setup installs it.
"""
import argparse
import collections
import gzip
import json
import os
import resource
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class MinitorchMnist(nn.Module):
    """conv 1→4 3×3 + ReLU, conv 4→8 3×3 + ReLU ("same", zero past bottom/right), avgpool 4,
    392→64 + ReLU, dropout 0.25, 64→10, log-softmax."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.conv2 = nn.Conv2d(4, 8, 3)
        self.fc1 = nn.Linear(392, 64)
        self.fc2 = nn.Linear(64, 10)
        self.dropout = nn.Dropout(0.25)

    def forward(self, x):
        h = F.relu(self.conv1(F.pad(x, (0, 2, 0, 2))))
        h = F.relu(self.conv2(F.pad(h, (0, 2, 0, 2))))
        h = F.avg_pool2d(h, 4, 4)
        h = F.relu(self.fc1(torch.flatten(h, 1)))
        return F.log_softmax(self.fc2(self.dropout(h)), dim=1)


class Lenet5(nn.Module):
    """conv 6@5×5 pad 2, ReLU, maxpool 2, conv 16@5×5, ReLU, maxpool 2, fc 400→120→84→10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv1(x)), 2, 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2, 2)
        h = F.relu(self.fc1(torch.flatten(h, 1)))
        h = F.relu(self.fc2(h))
        return F.log_softmax(self.fc3(h), dim=1)


class KimCnn(nn.Module):
    """Embeddings (128-d, learned, pad id 0) → wide conv1d widths 3/4/5 × 100 maps + ReLU →
    max over the windows that see a real token → concat → dropout 0.5 → 300→2, log-softmax."""

    def __init__(self, vocab_size, dim=128, widths=(3, 4, 5), maps=100):
        super().__init__()
        self.widths = widths
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.convs = nn.ModuleList(nn.Conv1d(dim, maps, w, padding=w - 1) for w in widths)
        self.dropout = nn.Dropout(0.5)
        self.fc = nn.Linear(maps * len(widths), 2)

    def forward(self, ids):
        n, length = ids.shape
        real = ids != 0
        positions = torch.arange(1, length + 1).expand(n, length)
        lengths = (positions * real).max(dim=1).values  # last real token + 1
        x = self.embedding(ids).transpose(1, 2)  # (N, D, L)
        pooled = []
        for w, conv in zip(self.widths, self.convs):
            h = F.relu(conv(x))  # (N, maps, L + w - 1)
            valid = torch.clamp(lengths + w - 1, min=1)
            mask = torch.arange(length + w - 1).expand(n, -1) >= valid[:, None]
            pooled.append(h.masked_fill(mask[:, None, :], -1e30).max(dim=2).values)
        return F.log_softmax(self.fc(self.dropout(torch.cat(pooled, 1))), dim=1)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, count = struct.unpack(">II", raw[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", raw[8:16])
        t = torch.frombuffer(bytearray(raw[16:]), dtype=torch.uint8).view(count, 1, rows, cols)
        return (t.float() / 255.0 - 0.1307) / 0.3081
    return torch.frombuffer(bytearray(raw[8:]), dtype=torch.uint8).long()


def load_mnist(data_dir):
    d = os.path.join(data_dir, "mnist")
    train = (read_idx(f"{d}/train-images-idx3-ubyte.gz"), read_idx(f"{d}/train-labels-idx1-ubyte.gz"))
    test = (read_idx(f"{d}/t10k-images-idx3-ubyte.gz"), read_idx(f"{d}/t10k-labels-idx1-ubyte.gz"))
    return train, test


def read_sst2(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        next(f)  # header "sentence\tlabel"
        for line in f:
            sentence, label = line.rstrip("\n").rsplit("\t", 1)
            rows.append((sentence.lower().split(), int(label)))
    return rows


def load_sst2(data_dir, min_count=2, min_len=5):
    train = read_sst2(os.path.join(data_dir, "sst2", "train.tsv"))
    dev = read_sst2(os.path.join(data_dir, "sst2", "dev.tsv"))
    counts = collections.Counter(t for tokens, _ in train for t in tokens)
    ids = {"<pad>": 0, "<unk>": 1}
    for token, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if count >= min_count and token not in ids:
            ids[token] = len(ids)
    encode = lambda rows: [([ids.get(t, 1) for t in tokens], label) for tokens, label in rows]
    return encode(train), encode(dev), len(ids), min_len


def image_batches(split, batch_size, count):
    images, labels = split
    out, nxt = [], 0
    for _ in range(count):
        idx = torch.arange(nxt, nxt + batch_size) % images.shape[0]
        nxt += batch_size
        out.append((images[idx].contiguous(), labels[idx].contiguous()))
    return out


def text_batches(rows, batch_size, count, min_len):
    out, nxt = [], 0
    for _ in range(count):
        chunk = [rows[(nxt + i) % len(rows)] for i in range(batch_size)]
        nxt += batch_size
        length = max(min_len, max(len(ids) for ids, _ in chunk))
        x = torch.zeros(batch_size, length, dtype=torch.long)
        for i, (ids, _) in enumerate(chunk):
            x[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        out.append((x, torch.tensor([label for _, label in chunk], dtype=torch.long)))
    return out


def synthetic_batches(text, batch_size, count, length, vocab, gen):
    out = []
    for _ in range(count):
        if text:
            x = torch.randint(1, vocab, (batch_size, length), generator=gen)
        else:
            x = torch.rand(batch_size, 1, 28, 28, generator=gen)
        out.append((x, torch.randint(0, 2 if text else 10, (batch_size,), generator=gen)))
    return out


def model_defaults(model_name, batch_size_flag):
    """mt's per-model defaults (engine/tasks): (batch size, optimiser, learning rate); a positive
    --batch_size replaces the batch size. Shared with torch_gpu_bench.py."""
    defaults = {"lenet5": (64, "sgd", 0.05), "minitorch_mnist": (64, "adam", 2e-3),
                "kim_cnn": (50, "adam", 5e-4)}
    batch_size, optimizer_name, lr = defaults[model_name]
    return (batch_size_flag if batch_size_flag > 0 else batch_size), optimizer_name, lr


def make_model(model_name, vocab):
    model = {"lenet5": Lenet5, "minitorch_mnist": MinitorchMnist}.get(model_name)
    return model() if model else KimCnn(vocab)


def make_optimizer(model, optimizer_name, lr):
    if optimizer_name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr)
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="lenet5", choices=["lenet5", "minitorch_mnist", "kim_cnn"])
    p.add_argument("--data_dir", default="")
    p.add_argument("--data", default="real", choices=["real", "synthetic"])
    p.add_argument("--batch_size", type=int, default=0)
    p.add_argument("--train_steps", type=int, default=200)
    p.add_argument("--infer_batch_size", type=int, default=256)
    p.add_argument("--infer_batches", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=2, help="0 = PyTorch's default (every core)")
    p.add_argument("--synthetic_length", type=int, default=20)
    p.add_argument("--synthetic_vocab", type=int, default=14000)
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    text = a.model == "kim_cnn"
    batch_size, optimizer_name, lr = model_defaults(a.model, a.batch_size)
    train_count = min(a.train_steps + a.warmup, 500)
    infer_count = min(a.infer_batches + a.warmup, 40)
    gen = torch.Generator().manual_seed(1)
    vocab = a.synthetic_vocab
    if a.data == "synthetic":
        train = synthetic_batches(text, batch_size, train_count, a.synthetic_length, vocab, gen)
        infer = synthetic_batches(text, a.infer_batch_size, infer_count, a.synthetic_length, vocab, gen)
    elif text:
        train_rows, dev_rows, vocab, min_len = load_sst2(a.data_dir)
        train = text_batches(train_rows, batch_size, train_count, min_len)
        infer = text_batches(dev_rows, a.infer_batch_size, infer_count, min_len)
    else:
        train_split, test_split = load_mnist(a.data_dir)
        train = image_batches(train_split, batch_size, train_count)
        infer = image_batches(test_split, a.infer_batch_size, infer_count)
    model = make_model(a.model, vocab)
    optimizer = make_optimizer(model, optimizer_name, lr)

    out = {"impl": "torch", "torch_version": torch.__version__, "model": a.model,
           "threads": torch.get_num_threads(), "data": a.data, "optimizer": optimizer_name}
    if a.train_steps > 0:
        model.train()
        for s in range(a.train_steps + a.warmup):
            if s == a.warmup:
                start = time.perf_counter()
            x, y = train[s % len(train)]
            optimizer.zero_grad()
            loss = F.nll_loss(model(x), y)
            loss.backward()
            optimizer.step()
        seconds = time.perf_counter() - start
        out["train"] = {"batch_size": batch_size, "steps": a.train_steps, "seconds": seconds,
                        "samples_per_s": a.train_steps * batch_size / seconds,
                        "last_loss": loss.item()}
    if a.infer_batches > 0:
        model.eval()
        with torch.no_grad():
            for b in range(a.infer_batches + a.warmup):
                if b == a.warmup:
                    start = time.perf_counter()
                model(infer[b % len(infer)][0])
        seconds = time.perf_counter() - start
        out["infer"] = {"batch_size": a.infer_batch_size, "batches": a.infer_batches,
                        "seconds": seconds,
                        "samples_per_s": a.infer_batches * a.infer_batch_size / seconds}
    out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    sys.exit(main())
