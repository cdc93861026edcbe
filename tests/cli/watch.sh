#!/bin/sh
# `mmapio watch FILE --count 1` prints a change event and exits once the file
# changes. The file is appended to repeatedly until the watcher exits, so the
# test does not depend on when the watch thread starts; --seconds bounds it.
# usage: watch.sh <mmapio tool> <scratch dir>
set -u
tool=$1
# Cross builds run the tool through their emulator (qemu-user for the ARM
# builds: MMAPIO_TEST_EMULATOR, set by cli/CMakeLists.txt); empty natively.
emu=${MMAPIO_TEST_EMULATOR:-}
dir=$2
rm -rf "$dir" && mkdir -p "$dir" || exit 1
f=$dir/watched.txt
echo start > "$f"

# The feature may be compiled out: that is a skip, not a failure.
if ! $emu "$tool" info "$f" | grep -q "features:.* watch"; then
  echo "SKIPPED: this build has no file watching (MMAPIO_WITH_WATCH=OFF)"
  exit 0
fi

$emu "$tool" watch "$f" --count 1 --seconds 60 > "$dir/out" 2> "$dir/err" &
pid=$!
n=0
while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 600 ]; do
  echo "change $n" >> "$f"
  n=$((n + 1))
  sleep 0.1
done
wait "$pid"
rc=$?
if [ "$rc" -ne 0 ]; then
  echo "mmapio watch exited with $rc"; cat "$dir/err"; exit 1
fi
if ! grep -Eq '^(modified|metadata)' "$dir/out"; then
  echo "no change event printed:"; cat "$dir/out" "$dir/err"; exit 1
fi
echo "event: $(head -n 1 "$dir/out")"
rm -rf "$dir"
exit 0
