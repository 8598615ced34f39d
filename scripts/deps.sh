#!/usr/bin/env bash
# Installs the Debian 12 packages initscope needs to build, test and run, when any is missing.
# Sourced by scripts/run.sh and scripts/test.sh; safe to run on its own.
set -euo pipefail
packages=(
  build-essential cmake pkg-config
  qt6-base-dev qt6-charts-dev libqt6opengl6-dev qt6-svg-dev libqt6svg6 qt6-qpa-plugins
  libeigen3-dev libtbb-dev libopenblas-dev nlohmann-json3-dev libgtest-dev
  zlib1g-dev dataset-fashion-mnist
  fonts-dejavu-core fontconfig
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "initscope: installing missing Debian packages: ${missing[*]}" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "initscope: run as root, or install: apt-get install ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
