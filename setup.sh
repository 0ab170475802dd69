#!/usr/bin/env bash
# Installs Zeta's dependencies from Debian packages and builds it (Release, warnings as
# errors). Usage: ./setup.sh [build-folder]   (default: build)
set -euo pipefail
cd "$(dirname "$0")"
build=${1:-build}

packages=(
  build-essential cmake git pkg-config
  libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools
  libeigen3-dev libopenblas-dev libboost-program-options-dev libgtest-dev
  librandom123-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libpng-dev zlib1g-dev
  libbenchmark-dev
  python3-h5py python3-numpy
  dataset-fashion-mnist
  slurm-wlm munge
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -q -o DPkg::Lock::Timeout=300
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q -o DPkg::Lock::Timeout=300 \
    "${missing[@]}"
fi

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DZETA_WARNINGS_AS_ERRORS=ON
cmake --build "$build" -j "$(nproc)"
echo "setup: built $build/src/cli/zeta"
