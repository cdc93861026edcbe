#!/bin/sh
# cli_vs_vmtouch.sh -- the page-cache commands of the mmapio tool against
# vmtouch, timed with hyperfine. Run it on a quiet machine.
#
#   residency of a directory tree   mmapio info -q DIR     vs  vmtouch DIR      (target <= 1.2x)
#   evict a 1 GiB file              mmapio evict -q FILE   vs  vmtouch -e FILE  (target <= 1.5x)
#   touch a 1 GiB file (warm)       mmapio touch -q FILE   vs  vmtouch -t FILE  (for comparison)
#
# usage: bench/cli_vs_vmtouch.sh MMAPIO_TOOL WORKDIR [TREE]
#   WORKDIR  a directory on a real disk (not tmpfs: tmpfs pages cannot be
#            evicted); a 1 GiB file is created there and removed at the end
#   TREE     the directory tree for the residency test (default: a tree of
#            5,000 small files created in WORKDIR)
# Environment: RUNS (hyperfine --runs, default 20), JSON (export directory).
set -eu
tool=${1:?usage: $0 MMAPIO_TOOL WORKDIR [TREE]}
work=${2:?usage: $0 MMAPIO_TOOL WORKDIR [TREE]}
tree=${3:-}
runs=${RUNS:-20}
for p in hyperfine vmtouch; do
  command -v "$p" > /dev/null 2>&1 || { echo "$0: $p is not installed" >&2; exit 1; }
done
[ -x "$tool" ] || { echo "$0: $tool is not an executable" >&2; exit 1; }
mkdir -p "$work"
case "$(stat -f -c %T "$work" 2>/dev/null)" in
  tmpfs|ramfs) echo "$0: $work is on a memory file system; use a disk" >&2; exit 1 ;;
esac
big=$work/cli-vs-vmtouch-1g.bin
made_tree=
cleanup() { rm -f "$big"; [ -n "$made_tree" ] && rm -rf "$made_tree"; return 0; }
trap cleanup EXIT

if [ -z "$tree" ]; then
  tree=$work/cli-vs-vmtouch-tree
  made_tree=$tree
  rm -rf "$tree"
  i=0
  while [ $i -lt 50 ]; do
    mkdir -p "$tree/d$i"
    j=0
    while [ $j -lt 100 ]; do
      head -c $(( (i * 100 + j) % 61 * 1024 + 100 )) /dev/zero > "$tree/d$i/f$j"
      j=$((j + 1))
    done
    i=$((i + 1))
  done
fi
echo "creating the 1 GiB file ..."
head -c 1073741824 /dev/urandom > "$big"
sync

export_opt() { [ -n "${JSON:-}" ] && echo "--export-json $JSON/$1.json" || true; }

echo
echo "== residency of $tree (target: mmapio <= 1.2x vmtouch)"
# shellcheck disable=SC2046
hyperfine --warmup 3 --runs "$runs" -N $(export_opt residency) \
  "vmtouch -q $tree" "$tool info -q $tree"

echo
echo "== evict a 1 GiB file (target: mmapio <= 1.5x vmtouch -e); each run starts resident"
# shellcheck disable=SC2046
hyperfine --warmup 1 --runs "$runs" --prepare "vmtouch -qt $big" $(export_opt evict) \
  "vmtouch -qe $big" "$tool evict -q $big"

echo
echo "== touch a warm 1 GiB file (for comparison)"
# shellcheck disable=SC2046
hyperfine --warmup 2 --runs "$runs" -N $(export_opt touch) \
  "vmtouch -qt $big" "$tool touch -q $big"
