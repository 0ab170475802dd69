#!/usr/bin/env bash
# Installs what bench/run.sh needs beyond Zeta's build: the two peers (Debian's scikit-learn
# and PyTorch for /usr/bin/python3), GNU time for peak memory, and perf for profiles.
set -euo pipefail

packages=(python3-sklearn python3-torch python3-h5py python3-numpy time linux-perf)
sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
"${sudo[@]}" apt-get -y -o DPkg::Lock::Timeout=300 install --no-install-recommends "${packages[@]}"
