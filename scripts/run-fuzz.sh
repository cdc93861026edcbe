#!/usr/bin/env bash
# run-fuzz.sh [seconds-per-target] -- build the libFuzzer targets with clang
# (AddressSanitizer + UndefinedBehaviorSanitizer) and run each one for a
# bounded time, starting from the seed corpus in fuzz/corpus/<target>/.
#
# Default: 40 s per target (80 s in all). The repository's corpus is not
# modified: new inputs go to a scratch copy in the build directory. A crash
# stops the script with a non-zero status and leaves the reproducer
# (crash-*, leak-*, timeout-*) in $BUILD/fuzz-artifacts/.
#
# Environment: MMAPIO_FUZZ_BUILD (build directory, default build-fuzz),
# MMAPIO_FUZZ_JOBS (ninja -j, default 2).
set -euo pipefail

secs="${1:-40}"
case "$secs" in
  ''|*[!0-9]*) echo "usage: $0 [seconds-per-target]" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${MMAPIO_FUZZ_BUILD:-$root/build-fuzz}"
jobs="${MMAPIO_FUZZ_JOBS:-2}"

# A fresh Debian machine may lack clang or ninja: install them.
need=()
command -v clang >/dev/null 2>&1 || need+=(clang)
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v ninja >/dev/null 2>&1 || need+=(ninja-build)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "run-fuzz: installing ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "run-fuzz: missing ${need[*]} (install them, or run as root on Debian)" >&2
    exit 1
  fi
fi

cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_C_COMPILER=clang \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMMAPIO_BUILD_FUZZERS=ON \
  -DMMAPIO_BUILD_TESTS=OFF \
  -DMMAPIO_BUILD_TOOLS=OFF \
  -DMMAPIO_SANITIZE=address,undefined >/dev/null
cmake --build "$build" -j "$jobs" --target fuzz_bounds fuzz_api_seq

art="$build/fuzz-artifacts"
mkdir -p "$art"
export TMPDIR="${TMPDIR:-/tmp}"
status=0
for t in fuzz_bounds fuzz_api_seq; do
  work="$build/fuzz-corpus/$t"
  rm -rf "$work"
  mkdir -p "$work"
  cp "$root/fuzz/corpus/$t/"* "$work/" 2>/dev/null || true
  echo "run-fuzz: $t for ${secs}s ($(ls "$work" | wc -l) seeds)"
  if ! "$build/fuzz/$t" -max_total_time="$secs" -max_len=512 -timeout=30 \
       -print_final_stats=1 -artifact_prefix="$art/$t-" "$work" \
       >"$build/$t.log" 2>&1; then
    echo "run-fuzz: $t FAILED; log: $build/$t.log; reproducer in $art/" >&2
    tail -40 "$build/$t.log" >&2
    status=1
  else
    grep -E "^stat::number_of_executed_units|^Done" "$build/$t.log" || true
  fi
done
exit "$status"
