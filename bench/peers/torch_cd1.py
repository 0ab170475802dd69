#!/usr/bin/python3
"""A plain CD-1 loop in PyTorch on the CPU (float32, batch 100, momentum SGD, the five
products of a CD-1 step) over epochs of a Zeta data file, each timed; prints one JSON line.
Run with Debian's /usr/bin/python3 (python3-torch)."""
import os
import time

import common


def main():
    args = common.parse_args(__doc__, "intra-op threads")
    common.limit_threads(args.threads)
    # PyTorch's OpenMP pool and OpenBLAS's threads share the cores: with OpenMP's default
    # spinning waits, 2 threads ran 5 times slower than 1 on 2 cores; passive waits fix it.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    data = torch.from_numpy(common.load_visible(args.data))
    rows, nv = data.shape
    nh = args.hidden
    w = torch.randn(nv, nh) * 0.01
    b = torch.zeros(nv)
    c = torch.zeros(nh)
    dw, db, dc = torch.zeros_like(w), torch.zeros_like(b), torch.zeros_like(c)
    lr, momentum = 0.01, 0.5
    steps = rows // args.batch
    with torch.no_grad():
        torch.mm(data[:args.batch], w)  # start the thread pool before the clock
        seconds = []
        for _ in range(args.epochs):
            start = time.perf_counter()
            for s in range(steps):
                v0 = data[s * args.batch:(s + 1) * args.batch]
                p0 = torch.sigmoid(torch.addmm(c, v0, w))
                h0 = torch.bernoulli(p0)
                v1 = torch.bernoulli(torch.sigmoid(torch.addmm(b, h0, w.t())))
                p1 = torch.sigmoid(torch.addmm(c, v1, w))
                grad = torch.addmm(torch.mm(v0.t(), p0), v1.t(), p1, alpha=-1.0)
                dw.mul_(momentum).add_(grad, alpha=lr / args.batch)
                db.mul_(momentum).add_((v0 - v1).sum(0), alpha=lr / args.batch)
                dc.mul_(momentum).add_((p0 - p1).sum(0), alpha=lr / args.batch)
                w += dw
                b += db
                c += dc
            seconds.append(time.perf_counter() - start)
    common.report("torch", "cd", args.threads, steps * args.batch, seconds)


if __name__ == "__main__":
    main()
