#!/usr/bin/python3
"""Epochs of scikit-learn's BernoulliRBM (PCD-1 on persistent hidden samples, batch 100)
on a Zeta data file, each timed around fit(); prints one JSON line. Run with Debian's
/usr/bin/python3 (python3-sklearn)."""
import time

import common


def main():
    args = common.parse_args(__doc__, "BLAS threads")
    common.limit_threads(args.threads)

    from sklearn.neural_network import BernoulliRBM
    from threadpoolctl import threadpool_limits

    v = common.load_visible(args.data)
    seconds = []
    with threadpool_limits(limits=args.threads):
        for epoch in range(args.epochs):
            # fit() runs n_iter epochs from a fresh start; one per call times each alone.
            rbm = BernoulliRBM(n_components=args.hidden, batch_size=args.batch, n_iter=1,
                               learning_rate=0.01, random_state=1 + epoch, verbose=0)
            start = time.perf_counter()
            rbm.fit(v)  # float32 input stays float32
            seconds.append(time.perf_counter() - start)
    common.report("sklearn", "pcd", args.threads, v.shape[0], seconds)


if __name__ == "__main__":
    main()
