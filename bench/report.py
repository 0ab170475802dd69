#!/usr/bin/python3
"""Reads the results folder of bench/run.sh and prints its table of ratios (and writes
summary.json next to the results). Run with Debian's /usr/bin/python3; stdlib only."""
import csv
import json
import math
import pathlib
import re
import sys

BATCH, VISIBLE, HIDDEN, ROWS = 100, 784, 500, 60000
STEPS = ROWS // BATCH
PRODUCT_FLOPS = 2.0 * BATCH * VISIBLE * HIDDEN
# Products of one step by shape: the hidden conditional v W, the visible one h Wᵀ, and the
# weight statistics vᵀ q. PCD-1 adds the hidden conditional at the persistent chains.
PRODUCTS = {"cd": {"hidden": 2, "visible": 1, "weights": 2},
            "pcd": {"hidden": 3, "visible": 1, "weights": 2}}
AIS_PRODUCTS = {"hidden": 1, "visible": 1}  # per temperature: x = c + v W, then h Wᵀ
TARGETS = {"bound": 1.15, "speedup": 1.85, "ais": 1.2, "exact24": 60.0}


def gemm_rates(path):
    """{(kind, shape, batch, threads): FLOP/s} from a Google Benchmark JSON file, the best
    of the repetitions."""
    rates = {}
    if not path.exists():
        return rates
    for bench in json.loads(path.read_text())["benchmarks"]:
        match = re.match(r"(Dense|Sparse)(Hidden|Visible|Weights)/batch:(\d+)/.*threads:(\d+)",
                         bench["name"])
        if match and "FLOPS" in bench and bench.get("run_type", "iteration") == "iteration":
            kind, shape, batch, threads = match.groups()
            key = (kind.lower(), shape.lower(), int(batch), int(threads))
            rates[key] = max(rates.get(key, 0.0), bench["FLOPS"])
    return rates


def epoch(path):
    """(seconds, samples/s) of the fastest epoch in a metrics.csv (row 0 is the start)."""
    with open(path) as f:
        rows = [r for r in csv.DictReader(f) if int(r["epoch"]) >= 1]
    if not rows:
        raise SystemExit(f"{path}: no epoch rows")
    best = min(rows, key=lambda r: float(r["seconds"]))
    return float(best["seconds"]), float(best["samples_per_second"])


def peak_kib(pattern, folder):
    """Largest 'Maximum resident set size' over the /usr/bin/time -v files matching."""
    peak = None
    for path in folder.glob(pattern):
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", path.read_text())
        if match:
            peak = max(peak or 0, int(match.group(1)))
    return peak


def load_json(path):
    return json.loads(path.read_text()) if path.exists() and path.stat().st_size else None


def bound_seconds(rates, products, threads, steps):
    """Seconds of `steps` steps if every product ran at the measured dense GEMM rate."""
    per_step = sum(count * PRODUCT_FLOPS / rates[("dense", shape, BATCH, threads)]
                   for shape, count in products.items())
    return per_step * steps


class Table:
    def __init__(self):
        self.rows = []

    def section(self, title):
        self.rows.append((title,))

    def add(self, what, measured, reference, ratio, target="", met=None):
        self.rows.append((what, measured, reference, ratio, target,
                          "" if met is None else ("yes" if met else "NO")))

    def print(self):
        head = ("", "measured", "against", "ratio", "target", "met")
        widths = [max(len(str(r[i])) for r in self.rows + [head] if len(r) > 1)
                  for i in range(len(head))]
        line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in
                         enumerate(zip(head, widths)))
        print(line)
        print("-" * len(line))
        for row in self.rows:
            if len(row) == 1:
                print(row[0])
                continue
            print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                            for i, (c, w) in enumerate(zip(row, widths))))


def main():
    results = pathlib.Path(sys.argv[1])
    blas = gemm_rates(results / "gemm.json")
    eigen = gemm_rates(results / "gemm_eigen.json")
    summary = {"gemm": {f"{k[0]} {k[1]} batch {k[2]} threads {k[3]}": v for k, v in blas.items()}}
    t = Table()

    t.section("GEMM rate of the shapes of a CD step (784 x 500, batch 100), GFLOP/s")
    # Each rival rate against the dense OpenBLAS rate of the same shape and threads.
    for label, rates, kind in (("Eigen's kernel / OpenBLAS", eigen, "dense"),
                               ("Zeta's 0/1 kernel / dense GEMM", blas, "sparse")):
        for threads in (1, 2):
            for shape in ("hidden", "visible", "weights"):
                dense = blas.get(("dense", shape, BATCH, threads))
                rival = rates.get((kind, shape, BATCH, threads))
                if dense and rival:
                    t.add(f"  {shape:8s} {threads} thread(s): {label}", f"{rival / 1e9:.1f}",
                          f"{dense / 1e9:.1f}", f"{rival / dense:.2f}")

    t.section("Training on binarized Fashion-MNIST: seconds of the faster of 2 epochs (600 steps)")
    zeta = {}
    for method in ("cd", "pcd"):
        for ranks in (1, 2):
            seconds, rate = epoch(results / f"{method}-r{ranks}.metrics.csv")
            zeta[(method, ranks)] = seconds
            bound = bound_seconds(blas, PRODUCTS[method], ranks, STEPS)
            ratio = seconds / bound
            t.add(f"  Zeta {method.upper()}-1, {ranks} rank(s) / GEMM bound ({ranks} thread(s))",
                  f"{seconds:.2f}", f"{bound:.2f}", f"{ratio:.2f}", f"<= {TARGETS['bound']}",
                  ratio <= TARGETS["bound"])
            summary[f"zeta {method} ranks {ranks}"] = {"seconds": seconds,
                                                       "samples_per_second": rate,
                                                       "bound_seconds": bound}
        speedup = zeta[(method, 1)] / zeta[(method, 2)]
        t.add(f"  Zeta {method.upper()}-1: 2 ranks over 1 (speedup)", f"{zeta[(method, 2)]:.2f}",
              f"{zeta[(method, 1)]:.2f}", f"{speedup:.2f}", f">= {TARGETS['speedup']}",
              speedup >= TARGETS["speedup"])
    pair = [epoch(results / f"pcd-pair{core}.metrics.csv")[0] for core in (0, 1)]
    at_once = sum(pair) / len(pair)
    ceiling = 2 * zeta[("pcd", 1)] / at_once
    t.add("  PCD-1, two 1-rank runs at once: ceiling of 2 ranks over 1", f"{at_once:.2f}",
          f"{zeta[('pcd', 1)]:.2f}", f"{ceiling:.2f}")
    summary["pcd two 1-rank runs at once"] = {"seconds": pair, "ceiling": ceiling}
    exchange = load_json(results / "collectives.json")
    if exchange:
        step_us = zeta[("pcd", 2)] / STEPS * 1e6
        t.add("  shared-memory sum of a step's statistics, us / 2-rank PCD-1 step",
              f"{exchange['shared_sum_us']:.0f}", f"{step_us:.0f}",
              f"{exchange['shared_sum_us'] / step_us:.2f}")
        t.add("  shared-memory sum (the trainer's) / allreduce, us",
              f"{exchange['shared_sum_us']:.0f}", f"{exchange['allreduce_us']:.0f}",
              f"{exchange['shared_sum_us'] / exchange['allreduce_us']:.2f}")
        t.add("  reduce-scatter + allgather (sharded update) / allreduce, us",
              f"{exchange['reduce_scatter_allgather_us']:.0f}", f"{exchange['allreduce_us']:.0f}",
              f"{exchange['reduce_scatter_allgather_us'] / exchange['allreduce_us']:.2f}")
        summary["exchange"] = exchange
    threaded, _ = epoch(results / "pcd-r1-t2.metrics.csv")
    t.add("  Zeta PCD-1, 1 rank x 2 threads: speedup over 1 thread", f"{threaded:.2f}",
          f"{zeta[('pcd', 1)]:.2f}", f"{zeta[('pcd', 1)] / threaded:.2f}")

    peers = {}
    for peer, method in (("sklearn", "pcd"), ("torch", "cd")):
        for threads in (1, 2):
            result = load_json(results / f"{peer}-t{threads}.json")
            if result:
                peers[(peer, threads)] = result["seconds"]
    if peers:
        t.section("Peers, same data and shapes, faster of 2 epochs (ratio > 1: Zeta is faster)")
        for (peer, threads), seconds in sorted(peers.items()):
            method = "pcd" if peer == "sklearn" else "cd"
            name = "scikit-learn BernoulliRBM (PCD-1)" if peer == "sklearn" else "PyTorch CD-1 loop"
            mine = zeta[(method, threads)]
            t.add(f"  {name}, {threads} thread(s) / Zeta {threads} rank(s)", f"{seconds:.2f}",
                  f"{mine:.2f}", f"{seconds / mine:.2f}", "> 1", seconds > mine)
            bound = bound_seconds(blas, PRODUCTS[method], threads, STEPS)
            t.add(f"  {name}, {threads} thread(s) / GEMM bound", f"{seconds:.2f}", f"{bound:.2f}",
                  f"{seconds / bound:.2f}")
            summary[f"{peer} threads {threads}"] = {"seconds": seconds}

    runs = {name: load_json(results / f"{name}.json")
            for name in ("ais-r1", "ais-r2", "ais-classic-r2")}
    if any(runs.values()):
        t.section("AIS, 784 x 500 model, 100 chains: seconds (classic: 14,500 temperatures)")
        rates = {}
        for name, ranks in (("ais-r1", 1), ("ais-r2", 2), ("ais-classic-r2", 2)):
            result = runs[name]
            if not result:
                continue
            run = result["ais"]
            rate = run["chains"] * run["steps"] / run["seconds"]
            per_step = sum(count * 2.0 * run["chains"] * VISIBLE * HIDDEN /
                           blas[("dense", shape, BATCH, ranks)]
                           for shape, count in AIS_PRODUCTS.items())
            bound = per_step * run["steps"]
            ladder = "classic ladder" if "classic" in name else f"{run['steps']} temperatures"
            if "classic" not in name:
                rates[ranks] = rate
                t.add(f"  {ranks} rank(s), {ladder}: chains x temperatures per second",
                      f"{rate:.0f}", "", "")
            t.add(f"  {ranks} rank(s), {ladder}: seconds / GEMM bound", f"{run['seconds']:.1f}",
                  f"{bound:.1f}", f"{run['seconds'] / bound:.2f}", f"<= {TARGETS['ais']}",
                  run["seconds"] / bound <= TARGETS["ais"])
            summary[name] = {"seconds": run["seconds"], "steps": run["steps"],
                             "bound_seconds": bound, "rate": rate}
        if 1 in rates and 2 in rates:
            t.add("  2 ranks over 1 (speedup)", f"{rates[2]:.0f}", f"{rates[1]:.0f}",
                  f"{rates[2] / rates[1]:.2f}")
    exact = {h: load_json(results / f"exact-h{h}.json") for h in (20, 24)}
    if any(exact.values()):
        t.section("Exact log Z, 2 ranks: seconds")
        for hidden, result in exact.items():
            if result:
                seconds = result["exact"]["seconds"]
                target = f"<= {TARGETS['exact24']:.0f}" if hidden == 24 else ""
                met = seconds <= TARGETS["exact24"] if hidden == 24 else None
                t.add(f"  784 x {hidden}", f"{seconds:.1f}", "", "", target, met)
                summary[f"exact 784x{hidden}"] = {"seconds": seconds}

    t.section("Peak resident memory, MiB per process")
    for name, pattern in (("Zeta PCD-1, 1 rank", "pcd-r1.time.*"),
                          ("Zeta PCD-1, 2 ranks (largest rank)", "pcd-r2.time.*"),
                          ("scikit-learn, 1 thread", "sklearn-t1.time"),
                          ("PyTorch, 1 thread", "torch-t1.time")):
        peak = peak_kib(pattern, results)
        if peak:
            t.add(f"  {name}", f"{peak / 1024:.0f}", "", "")
            summary[f"peak MiB {name}"] = peak / 1024
    t.print()
    shares = other_share(results)
    if shares is not None:
        others, steal = shares
        print(f"other processes took {100 * others:.0f} % of the machine's CPU time during the "
              f"run, the hypervisor {100 * steal:.0f} % (steal); figures are comparable only "
              "when both are near 0")
        summary["other_cpu_share"] = others
        summary["steal_share"] = steal
    (results / "summary.json").write_text(json.dumps(summary, indent=1))


def seconds(text):
    """'1m2.5s' -> 62.5."""
    minutes, rest = text.rstrip("s").split("m")
    return 60 * float(minutes) + float(rest)


def other_share(results):
    """Shares of all cores' time that processes other than the benchmark's used, and that
    the hypervisor gave to other machines (steal)."""
    try:
        start = (results / "clock.start").read_text().split()
        end = (results / "clock.end").read_text().split()
        children = (results / "times").read_text().split()[2:4]
    except (OSError, IndexError):
        return None
    tick, cores = float(start[1]), int(start[2])

    def busy(fields):  # user nice system (idle iowait) irq softirq steal
        ticks = [int(x) for x in fields[4:12]]
        return sum(ticks) - ticks[3] - ticks[4]

    elapsed = float(end[0]) - float(start[0])
    mine = sum(seconds(x) for x in children)
    steal = (int(end[11]) - int(start[11])) / tick
    total = (busy(end) - busy(start)) / tick - steal
    return max(0.0, (total - mine) / (elapsed * cores)), steal / (elapsed * cores)


if __name__ == "__main__":
    main()
