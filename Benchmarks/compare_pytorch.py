#!/usr/bin/env python3
"""The workloads of `autograd bench`, in PyTorch on the CPU, for a side-by-side
comparison. Prints one JSON object per line with the same names and units:

    python3 Benchmarks/compare_pytorch.py --threads 2 > pytorch.jsonl
    .build/release/autograd bench --threads 2 --json > autograd.jsonl

Needs `torch` (pip install torch). Each figure is the median of several timed
repetitions after a warm-up, calibrated like the Swift runner's."""
import argparse
import json
import re
import statistics
import subprocess
import sys
import time

import torch


def median_seconds(body, repetitions, minimum=0.005):
    body()
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            body()
        elapsed = time.perf_counter() - start
        if elapsed >= minimum or calls >= 1 << 20:
            break
        calls *= max(2, int(minimum / elapsed * 1.2)) if elapsed > 0 else 2
    samples = []
    for _ in range(repetitions):
        start = time.perf_counter()
        for _ in range(calls):
            body()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def workloads(reps):
    g = torch.Generator().manual_seed(1)
    for n in (32, 64, 128, 256, 512, 1024):
        a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
        t = median_seconds(lambda: torch.matmul(a, b), reps)
        yield f"gemm_f32_{n}", 2 * n ** 3 / t / 1e9, "GFLOP/s"
    a, b = torch.randn(64, 32, 32, generator=g), torch.randn(64, 32, 32, generator=g)
    t = median_seconds(lambda: torch.matmul(a, b), reps)
    yield "bmm_f32_64x32", 2 * 64 * 32 ** 3 / t / 1e9, "GFLOP/s"
    F = torch.nn.functional
    # The autograd bench's elementwise workloads, by their names there (activations by the op table's names).
    ops = {
        "add": lambda a, b: a + b, "mul": lambda a, b: a * b, "exp": lambda a, b: torch.exp(a),
        "relu": lambda a, b: torch.relu(a), "leakyRelu": lambda a, b: F.leaky_relu(a),
        "sigmoid": lambda a, b: torch.sigmoid(a), "tanh": lambda a, b: torch.tanh(a),
        "gelu": lambda a, b: F.gelu(a), "softplus": lambda a, b: F.softplus(a),
        "silu": lambda a, b: F.silu(a), "mish": lambda a, b: F.mish(a),
    }
    # Out of cache, into a preallocated output where PyTorch has one (`out=`), as
    # ours writes into a pooled buffer: a fresh 64 MB tensor per call would
    # measure the allocator's page faults instead of the kernel.
    into = {
        "add": lambda a, b, c: torch.add(a, b, out=c), "mul": lambda a, b, c: torch.mul(a, b, out=c),
        "exp": lambda a, b, c: torch.exp(a, out=c), "relu": lambda a, b, c: torch.clamp_min(a, 0, out=c),
        "sigmoid": lambda a, b, c: torch.sigmoid(a, out=c), "tanh": lambda a, b, c: torch.tanh(a, out=c),
    }
    for name, f in ops.items():
        for label, size in (("4K", 4 << 10), ("256K", 256 << 10), ("16M", 16 << 20)):
            a, b, c = torch.randn(size, generator=g), torch.randn(size, generator=g), torch.empty(size)
            if label == "16M" and name in into:
                t = median_seconds(lambda: into[name](a, b, c), reps)
            else:
                t = median_seconds(lambda: f(a, b), reps)
            yield f"{name}_f32_{label}", size / t / 1e9, "Gelem/s"

    logits = torch.randn(64, 1000, generator=g, requires_grad=True)
    labels = torch.randint(0, 1000, (64,), generator=g)

    def xent():
        torch.nn.functional.cross_entropy(logits, labels).backward()
        logits.grad = None
    yield "softmax_xent_f32_64x1000", 64000 / median_seconds(xent, reps) / 1e9, "Gelem/s"

    x = torch.randn(16, generator=g, requires_grad=True)

    def chain():
        h = x
        for _ in range(50):
            h = torch.tanh(h) * 1.01
        h.sum().backward()
        x.grad = None
    yield "eager_overhead", median_seconds(chain, reps) / 100 * 1e6, "µs/op"

    for name, widths, batch in (("train_mlp_tiny", [2, 16, 16, 2], 10),
                                ("train_mlp_mnist", [784, 256, 128, 10], 64),
                                ("train_mlp_wide", [1024, 1024, 1024, 1024, 10], 256)):
        layers = []
        for i in range(len(widths) - 1):
            layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
            if i < len(widths) - 2:
                layers.append(torch.nn.ReLU())
        model = torch.nn.Sequential(*layers)
        inputs = torch.randn(batch, widths[0], generator=g)
        targets = torch.randint(0, widths[-1], (batch,), generator=g)
        yield name, batch / median_seconds(sgd_step(model, inputs, targets), reps), "samples/s"


# The convolution shapes of `autograd bench`: (label, N, C, H, W, K, R, S, stride, padding, groups).
CONV_SHAPES = [
    ("lenet1", 64, 1, 28, 28, 6, 5, 5, 1, 2, 1),
    ("lenet2", 64, 6, 14, 14, 16, 5, 5, 1, 0, 1),
    ("vgg64", 8, 64, 56, 56, 64, 3, 3, 1, 1, 1),
    ("alex1", 16, 3, 224, 224, 64, 11, 11, 4, 2, 1),
    ("dw128", 8, 128, 56, 56, 128, 3, 3, 1, 1, 128),
]


def conv_workloads(reps, wanted):
    """The convolutional workloads, each timed only when `wanted(name)`."""
    F = torch.nn.functional
    g = torch.Generator().manual_seed(7)
    for label, n, c, h, w, k, r, s, stride, pad, groups in CONV_SHAPES:
        x = torch.randn(n, c, h, w, generator=g)
        weight = torch.randn(k, c // groups, r, s, generator=g)
        p, q = (h + 2 * pad - r) // stride + 1, (w + 2 * pad - s) // stride + 1
        dy = torch.randn(n, k, p, q, generator=g)
        flops = 2 * n * k * (c // groups) * r * s * p * q
        passes = {
            "fwd": lambda: F.conv2d(x, weight, stride=stride, padding=pad, groups=groups),
            "bwd_data": lambda: torch.nn.grad.conv2d_input(x.shape, weight, dy, stride=stride, padding=pad,
                                                           groups=groups),
            "bwd_weight": lambda: torch.nn.grad.conv2d_weight(x, weight.shape, dy, stride=stride, padding=pad,
                                                              groups=groups),
        }
        for name, body in passes.items():
            full = f"conv2d_f32_{name}_{label}"
            if wanted(full):
                with torch.no_grad():
                    yield full, flops / median_seconds(body, reps) / 1e9, "GFLOP/s"
    x = torch.randn(8, 64, 56, 56, generator=g)
    if wanted("maxpool2d_f32_8x64x56x56"):
        t = median_seconds(lambda: F.max_pool2d(x, 3, stride=2, padding=1), reps)
        yield "maxpool2d_f32_8x64x56x56", x.numel() / t / 1e9, "Gelem/s"
    if wanted("maxpool2d_f32_bwd_8x64x56x56"):
        xv = x.clone().requires_grad_()
        y = F.max_pool2d(xv, 3, stride=2, padding=1)
        dy = torch.randn(y.shape, generator=g)
        t = median_seconds(lambda: torch.autograd.grad(y, xv, dy, retain_graph=True), reps)
        yield "maxpool2d_f32_bwd_8x64x56x56", x.numel() / t / 1e9, "Gelem/s"
    if wanted("train_lenet5"):
        torch.manual_seed(9)
        nn = torch.nn
        model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
        inputs = torch.randn(64, 1, 28, 28, generator=g)
        targets = torch.randint(0, 10, (64,), generator=g)
        yield "train_lenet5", 64 / median_seconds(sgd_step(model, inputs, targets), reps), "samples/s"
    if wanted("train_alexnet_b16"):
        step = alexnet_step()
        yield "train_alexnet_b16", 16 / median_seconds(step, reps), "samples/s"
    if wanted("peak_rss_alexnet_b16"):
        # A fresh interpreter runs three steps, so nothing timed here counts.
        probe = subprocess.run([sys.executable, __file__, "--rss-probe", "--threads", str(torch.get_num_threads())],
                               capture_output=True, text=True, check=True)
        yield "peak_rss_alexnet_b16", int(probe.stdout.strip()) / 1024, "MiB"


def alexnet_step():
    """An AlexNet training step in torchvision's layout: batch 16 of
    3x224x224, 1000 classes, SGD lr 0.01 momentum 0.9."""
    nn = torch.nn
    torch.manual_seed(10)
    model = nn.Sequential(
        nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.AdaptiveAvgPool2d(6), nn.Flatten(),
        nn.Dropout(0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(),
        nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 1000))
    g = torch.Generator().manual_seed(6)
    inputs = torch.randn(16, 3, 224, 224, generator=g)
    targets = torch.randint(0, 1000, (16,), generator=g)
    return sgd_step(model, inputs, targets)


def sgd_step(model, inputs, targets):
    """One training step of the bench's workloads: cross-entropy, SGD lr 0.01
    momentum 0.9, the loss read back."""
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(inputs), targets)
        loss.backward()
        opt.step()
        loss.item()
    return step


def rss_probe():
    """Three AlexNet steps, then this process's peak resident memory in KiB."""
    step = alexnet_step()
    for _ in range(3):
        step()
    with open("/proc/self/status") as f:
        print(next(line.split()[1] for line in f if line.startswith("VmHWM:")))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--filter", default=None)
    parser.add_argument("--repetitions", type=int, default=7)
    parser.add_argument("--rss-probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.rss_probe:
        return rss_probe()
    pattern = re.compile(args.filter) if args.filter else None
    def wanted(name):
        return not pattern or pattern.search(name)
    for name, value, unit in workloads(args.repetitions):
        if wanted(name):
            print(json.dumps({"name": name, "value": value, "unit": unit}), flush=True)
    for name, value, unit in conv_workloads(args.repetitions, wanted):
        print(json.dumps({"name": name, "value": value, "unit": unit}), flush=True)


if __name__ == "__main__":
    main()
