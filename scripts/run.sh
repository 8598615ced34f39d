#!/usr/bin/env bash
# Builds initscope (release) and starts it. Extra arguments go to the application.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"
if [ -x build/release/app/initscope ]; then
  exec build/release/app/initscope "$@"
else
  # the GUI is not part of this build: show the CLI on a bundled example instead
  exec build/release/app/initscope-cli run --preset he-relu "$@"
fi
