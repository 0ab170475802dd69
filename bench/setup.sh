#!/usr/bin/env bash
# Installs what bench/run.sh needs beyond ./setup.sh (which brings Google Benchmark): the two
# peers for Debian's /usr/bin/python3 (scikit-learn, PyTorch), GNU time for peak memory and
# perf for profiles.
set -euo pipefail

packages=(python3-sklearn python3-torch python3-h5py python3-numpy time linux-perf)
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
"${sudo[@]}" apt-get update -q -o DPkg::Lock::Timeout=300
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q -o DPkg::Lock::Timeout=300 \
  "${packages[@]}"
