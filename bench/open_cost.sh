#!/bin/sh
# open_cost.sh -- user-space instructions of mmapio_open_ro + mmapio_close of
# a 1 MiB file, next to raw open + fstat + mmap + munmap + close, counted by
# valgrind --tool=callgrind (stable, unlike timings on a busy machine).
#
# Usage: bench/open_cost.sh [BUILD_DIR]   (default: build; needs valgrind)
# Each side runs 100 and 300 rounds (after two warm-up rounds); the figure is
# the difference of the two totals divided by 200, so process start-up and
# exit cancel out. LD_BIND_NOW keeps lazy symbol binding out of the counts.
# For a per-function profile of the library side:
#   LD_BIND_NOW=1 valgrind --tool=callgrind --callgrind-out-file=cg.out \
#     BUILD_DIR/bench/mmapio-open-cost FILE 300
#   callgrind_annotate --inclusive=yes cg.out
set -eu
build=${1:-build}
prog=$build/bench/mmapio-open-cost
[ -x "$prog" ] || { echo "open_cost.sh: $prog not built" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "open_cost.sh: valgrind not found" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
file=$dir/open1m.bin
dd if=/dev/zero of="$file" bs=1048576 count=1 2>/dev/null

irs() { # irs N [--raw]: total instructions of one run
  n=$1; shift
  LD_BIND_NOW=1 valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" \
    "$prog" "$@" "$file" "$n" 2>&1 | sed -n 's/.*Collected : *//p' | tr -d ,
}
for side in mmapio raw; do
  flag=
  [ "$side" = raw ] && flag=--raw
  a=$(irs 100 $flag)
  b=$(irs 300 $flag)
  echo "$side: $(( (b - a) / 200 )) instructions per open + close"
done
