#!/usr/bin/env bash
# Builds a libFuzzer target with clang (the "fuzz" CMake preset: ASan + UBSan + coverage) and runs
# it for a while on its seed corpus. Usage: scripts/fuzz.sh [TARGET [SECONDS]]   (preset, 60)
# Findings (crash-*, leak-*, timeout-* inputs) land in build/fuzz/artifacts/TARGET/; the grown
# corpus is kept in build/fuzz/corpus/TARGET/ for the next run. Exit status 1 means a finding.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-preset}"
seconds="${2:-60}"

# Seed folders per target: a second target adds its own line here.
case "$target" in
preset) seeds=(tests/cli/bad_presets resources/presets) ;;
options) seeds=(tests/fuzz/options_seeds) ;;
*)
    echo "scripts/fuzz.sh: unknown target '$target' (known: preset, options)" >&2
    exit 2
    ;;
esac

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$(nproc)" --target "fuzz_$target"

corpus="build/fuzz/corpus/$target"
artifacts="build/fuzz/artifacts/$target"
mkdir -p "$corpus" "$artifacts"
for dir in "${seeds[@]}"; do
    cp -n "$dir"/* "$corpus"/
done

# -max_len: presets are small, but the reader's 1 MiB limit must be reachable in principle;
# 64 KiB keeps the run fast and covers deep nesting and long strings.
exec "build/fuzz/tests/fuzz/fuzz_$target" "$corpus" \
    -artifact_prefix="$artifacts/" -max_total_time="$seconds" -max_len=65536 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
