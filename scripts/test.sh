#!/usr/bin/env bash
# Builds initscope (release) and runs the whole test suite: engine, CLI and GUI (offscreen).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"
export QT_QPA_PLATFORM=offscreen
ctest --preset release -j"$(nproc)" "$@"
