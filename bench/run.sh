#!/usr/bin/env bash
# The benchmarks of docs/performance.md in one run: GEMM rates of the shapes of a CD step,
# Zeta's training throughput on 1 and 2 ranks against the GEMM bound and against two peers
# (scikit-learn's BernoulliRBM and a PyTorch CD-1 loop) at the same thread counts, AIS and
# exact log Z, and peak memory; prints one table of ratios. Builds nothing.
#
# Usage: bench/run.sh [BUILD_DIR [WORK_DIR]]
#   BUILD_DIR  a configured and built Zeta build folder (default: build/ next to bench/)
#   WORK_DIR   scratch folder for data, runs and results (default: BUILD_DIR/bench-run)
# Environment: ZETA_FASHION_MNIST_DIR (default /usr/share/datasets/fashion-mnist),
#   ZETA_BENCH_SKIP=peers,logz to leave parts out. Setup: bench/setup.sh (see README).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${1:-$here/../build}" 2>/dev/null && pwd) || {
  echo "bench/run.sh: build folder '${1:-$here/../build}' not found; build Zeta first (README)" >&2
  exit 2
}
work=${2:-$build/bench-run}
fmnist=${ZETA_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
skip=${ZETA_BENCH_SKIP:-}
python=/usr/bin/python3  # Debian's interpreter, which sees python3-sklearn and python3-torch
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree
zeta=$build/src/cli/zeta
gemm=$build/bench/zeta_gemm_bench
gemm_eigen=$build/bench/zeta_gemm_bench_eigen
collectives=$build/bench/zeta_collectives_bench

for tool in "$zeta" "$gemm" "$gemm_eigen" "$collectives"; do
  [[ -x $tool ]] || {
    echo "bench/run.sh: $tool is missing; build Zeta with Google Benchmark installed" \
         "(bench/setup.sh, then cmake --build $build)" >&2
    exit 2
  }
done
[[ -x /usr/bin/time ]] || {
  echo "bench/run.sh: /usr/bin/time is missing (bench/setup.sh)" >&2
  exit 2
}
[[ -f $fmnist/train-images-idx3-ubyte.gz ]] || {
  echo "bench/run.sh: no Fashion-MNIST in $fmnist (Debian: dataset-fashion-mnist)" >&2
  exit 2
}

# At most 2 ranks, one per core: no oversubscription.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_orte_allowed_exit_without_sync=1  # see tests/CMakeLists.txt
unset OMPI_MCA_rmaps_base_oversubscribe
mkdir -p "$work"
results=$work/results
rm -rf "$results"
mkdir -p "$results"
note() { echo "bench: $*" >&2; }
# Machine time at start and end, to tell how much of it other processes took meanwhile.
clock() { echo "$(date +%s.%N) $(getconf CLK_TCK) $(nproc) $(head -1 /proc/stat)"; }
clock >"$results/clock.start"
skipped() { [[ ",$skip," == *",$1,"* ]]; }

# Peak resident memory of one process: /usr/bin/time -v around it, into $1.
measured() {
  local out=$1
  shift
  /usr/bin/time -v -o "$out" "$@"
}

# Binarized Fashion-MNIST (threshold 0.5), the data of every run.
data=$work/fmnist.h5
if [[ ! -f $data ]]; then
  note "importing Fashion-MNIST"
  "$zeta" data import --train-images "$fmnist/train-images-idx3-ubyte.gz" \
    --train-labels "$fmnist/train-labels-idx1-ubyte.gz" \
    --test-images "$fmnist/t10k-images-idx3-ubyte.gz" \
    --test-labels "$fmnist/t10k-labels-idx1-ubyte.gz" --out "$data"
fi

# Three repetitions each; the report takes the best, the rate the machine can give.
note "GEMM rates (OpenBLAS through Eigen, and Eigen's own kernel)"
"$gemm" --benchmark_repetitions=3 --benchmark_out="$results/gemm.json" \
  --benchmark_out_format=json >/dev/null
"$gemm_eigen" --benchmark_repetitions=3 --benchmark_out="$results/gemm_eigen.json" \
  --benchmark_out_format=json >/dev/null

# Two epochs of 784 × 500, batch 100 (600 steps each; the report takes the faster, as for
# the peers). Every BLAS and OpenMP pool gets `threads`
# threads per rank (--threads sets Zeta's own); a threaded rank must not be bound to one
# core, as mpirun does by default for up to 2 ranks.
train() {  # train NAME RANKS THREADS METHOD [more options]
  local name=$1 ranks=$2 threads=$3 method=$4
  shift 4
  local dir=$work/runs/$name
  rm -rf "$dir"
  note "zeta train $method on $ranks rank(s), $threads thread(s)"
  OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads \
    mpirun -n "$ranks" --bind-to "$([[ $threads -gt 1 ]] && echo none || echo core)" bash -c \
    '/usr/bin/time -v -o "$0.$OMPI_COMM_WORLD_RANK" "$@"' "$results/$name.time" \
    "$zeta" train --data "$data" --run_dir "$dir" --epochs 2 --hidden 500 --batch 100 \
    --method "$method" --k 1 --threads "$threads" --monitor_samples 200 --verbosity warn "$@"
  cp "$dir/metrics.csv" "$results/$name.metrics.csv"
}
train cd-r1 1 1 cd
train cd-r2 2 1 cd
train pcd-r1 1 1 pcd
train pcd-r2 2 1 pcd
train pcd-r1-t2 1 2 pcd

# The ceiling of 2 ranks over 1 on this machine: two independent 1-rank PCD-1 runs at once,
# one per core, that share nothing but the hardware (caches, memory, the host's cycles).
pair_run() {  # pair_run CORE
  local dir=$work/runs/pcd-pair$1
  rm -rf "$dir"
  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 taskset -c "$1" "$zeta" train --data "$data" \
    --run_dir "$dir" --epochs 2 --hidden 500 --batch 100 --method pcd --k 1 --threads 1 \
    --monitor_samples 200 --verbosity warn
  cp "$dir/metrics.csv" "$results/pcd-pair$1.metrics.csv"
}
note "two independent 1-rank PCD-1 runs at once, one per core"
pair_run 0 &
pair=$!
pair_run 1
wait "$pair"

# The exchange of one step on 2 ranks: the trainer's allreduce against a reduce-scatter
# plus allgather (the sharded update).
note "the exchange of a step: allreduce, reduce-scatter + allgather"
mpirun -n 2 --bind-to core "$collectives" >"$results/collectives.json"

if ! skipped peers; then
  for threads in 1 2; do
    note "scikit-learn BernoulliRBM, $threads thread(s)"
    measured "$results/sklearn-t$threads.time" \
      "$python" "$here/peers/sklearn_rbm.py" --data "$data" --threads "$threads" \
      >"$results/sklearn-t$threads.json"
    note "PyTorch CD-1, $threads thread(s)"
    measured "$results/torch-t$threads.time" \
      "$python" "$here/peers/torch_cd1.py" --data "$data" --threads "$threads" \
      >"$results/torch-t$threads.json"
  done
fi

if ! skipped logz; then
  # Rates on 1 and 2 ranks over 3,000 evenly spaced temperatures (the time is linear in
  # them), then the classic ladder on 2 ranks.
  model=$work/runs/pcd-r1/model.h5
  ais() {  # ais NAME RANKS BETAS
    note "zeta logz AIS, 100 chains, $2 rank(s), --betas $3"
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 mpirun -n "$2" "$zeta" logz --model "$model" \
      --data "$data" --method ais --chains 100 --betas "$3" --out "$work/logz-$1.h5" --json \
      --verbosity warn >"$results/$1.json"
  }
  ais ais-r1 1 3000
  ais ais-r2 2 3000
  ais ais-classic-r2 2 0
  # Exact log Z needs a small hidden layer; one epoch on 6,000 rows gives such models.
  small=$work/fmnist6k.h5
  [[ -f $small ]] || "$zeta" data import --train-images "$fmnist/train-images-idx3-ubyte.gz" \
    --limit 6000 --out "$small"
  for hidden in 20 24; do
    rm -rf "$work/runs/h$hidden"
    "$zeta" train --data "$small" --run_dir "$work/runs/h$hidden" --epochs 1 --hidden "$hidden" \
      --monitor_samples 100 --verbosity warn
    note "zeta logz exact, 784 x $hidden, 2 ranks"
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 mpirun -n 2 "$zeta" logz \
      --model "$work/runs/h$hidden/model.h5" --method exact --out "$work/logz-exact-h$hidden.h5" \
      --json --verbosity warn >"$results/exact-h$hidden.json"
  done
fi

clock >"$results/clock.end"
times >"$results/times"  # CPU time of this script's children: every measured process
"$python" "$here/report.py" "$results"
