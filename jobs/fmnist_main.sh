#!/usr/bin/env bash
# The main job on one machine: import Fashion-MNIST (Debian's dataset-fashion-mnist) and
# train the 784x500 PCD-1 RBM of configs/fmnist_pcd1.ini on 2 MPI ranks.
# Usage: jobs/fmnist_main.sh [extra zeta train options, e.g. --epochs 1]
# Environment: ZETA (the executable, default build/src/cli/zeta), RANKS (default 2),
# FMNIST_DIR (default /usr/share/datasets/fashion-mnist).
set -euo pipefail
cd "$(dirname "$0")/.."
zeta=${ZETA:-build/src/cli/zeta}
ranks=${RANKS:-2}
src=${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# Open MPI 4's mpirun can misreport a rank that exited 0 right after MPI_Finalize as
# "exiting improperly" (a race in its daemon, open-mpi/ompi#7833); let exit codes decide.
export OMPI_MCA_orte_allowed_exit_without_sync=1
if [ "$ranks" -gt "$(nproc)" ]; then
  export OMPI_MCA_rmaps_base_oversubscribe=1
fi

if [ ! -f data/fashion-mnist.h5 ]; then
  "$zeta" data import \
    --train-images "$src/train-images-idx3-ubyte.gz" --train-labels "$src/train-labels-idx1-ubyte.gz" \
    --test-images "$src/t10k-images-idx3-ubyte.gz" --test-labels "$src/t10k-labels-idx1-ubyte.gz" \
    --out data/fashion-mnist.h5
fi
# --resume: a second call continues the run instead of refusing to overwrite it.
mpirun -n "$ranks" "$zeta" train --config configs/fmnist_pcd1.ini --resume "$@"
echo "model: runs/fmnist_pcd1/model.h5 (metrics: runs/fmnist_pcd1/metrics.csv)"
