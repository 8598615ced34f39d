#!/usr/bin/env python3
"""PyTorch peer of tests/bench/bench_train (not run by the tests; the project never needs torch).

The same job: Fashion-MNIST from /usr/share/datasets/fashion-mnist, every pixel standardised with
the training set's mean and (population) standard deviation, an mlp 784-256-256-256-256 with ReLU
and a linear readout of 10 classes, He-normal weights (fan-in) and zero biases, softmax
cross-entropy, SGD at 0.05 on mini-batches of 128 from a fresh permutation every epoch, 300
updates, then the accuracy on the 10000 t10k images. Times the training and the test evaluation
(the data are read once before), median of the repetitions.

    python3 tests/bench/torch_train_peer.py [threads [repetitions]]
"""
import gzip
import statistics
import sys
import time

import numpy as np
import torch

DIR = "/usr/share/datasets/fashion-mnist"


def idx(name):
    with gzip.open(f"{DIR}/{name}.gz", "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    torch.set_num_threads(threads)
    xtr = idx("train-images-idx3-ubyte").reshape(-1, 784).astype(np.float64)
    ytr = idx("train-labels-idx1-ubyte").astype(np.int64)
    xte = idx("t10k-images-idx3-ubyte").reshape(-1, 784).astype(np.float64)
    yte = idx("t10k-labels-idx1-ubyte").astype(np.int64)
    mean, std = xtr.mean(0), xtr.std(0)
    std_safe = np.where(std > 0, std, 1.0)
    xtr = torch.from_numpy(((xtr - mean) / std_safe).astype(np.float32))
    xte = torch.from_numpy(((xte - mean) / std_safe).astype(np.float32))
    ytr, yte = torch.from_numpy(ytr), torch.from_numpy(yte)

    times, cpus, accs = [], [], []
    for rep in range(reps):
        torch.manual_seed(rep + 1)
        t0 = time.perf_counter()
        c0 = time.process_time()
        layers = []
        width_in = 784
        for _ in range(4):
            lin = torch.nn.Linear(width_in, 256)
            torch.nn.init.kaiming_normal_(lin.weight, mode="fan_in", nonlinearity="relu")
            torch.nn.init.zeros_(lin.bias)
            layers += [lin, torch.nn.ReLU()]
            width_in = 256
        out = torch.nn.Linear(256, 10)
        torch.nn.init.kaiming_normal_(out.weight, mode="fan_in", nonlinearity="relu")
        torch.nn.init.zeros_(out.bias)
        model = torch.nn.Sequential(*layers, out)
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        lossf = torch.nn.CrossEntropyLoss()
        per_epoch = xtr.shape[0] // 128
        perm = None
        for step in range(300):
            if step % per_epoch == 0:
                perm = torch.randperm(xtr.shape[0])
            k = step % per_epoch
            idx_b = perm[k * 128:(k + 1) * 128]
            xb, yb = xtr[idx_b], ytr[idx_b]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(xb), yb)
            loss.backward()
            opt.step()
        with torch.no_grad():
            acc = (model(xte).argmax(1) == yte).float().mean().item()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        accs.append(acc)
    print(f"torch {torch.__version__}, {threads} threads: median {statistics.median(times):.3f} s "
          f"(min {min(times):.3f}, {reps} runs), test accuracy {accs} (median "
          f"{statistics.median(accs):.4f}); CPU time of all threads: median "
          f"{statistics.median(cpus):.3f} s")


if __name__ == "__main__":
    main()
