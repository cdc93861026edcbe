#!/bin/sh
# The tool never crashes on a file that another process truncates while the
# tool reads it: touch, cat and dump report "FILE was truncated at offset N"
# and exit 1. Deterministic: the test build of the tool runs the truncating
# command ($MMAPIO_CLI_TEST_AFTER_OPEN, a second process) after the file is
# mapped and before its pages are read.
# usage: truncated.sh <hooked mmapio tool> <scratch dir>
set -u
tool=$1
# Cross builds run the tool through their emulator (qemu-user for the ARM
# builds: MMAPIO_TEST_EMULATOR, set by cli/CMakeLists.txt); empty natively.
emu=${MMAPIO_TEST_EMULATOR:-}
dir=$2
rm -rf "$dir" && mkdir -p "$dir" || exit 1
fail() { echo "FAIL: $*"; for f in "$dir"/out "$dir"/err; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done; exit 1; }

f=$dir/data.bin
mkfile() { head -c 1048576 /dev/zero | tr '\0' 'x' > "$f" || exit 1; }
if ! $emu "$tool" info "$f" 2>/dev/null | grep -q "features:.* fault_safe"; then
  mkfile
  if ! $emu "$tool" info "$f" | grep -q "features:.* fault_safe"; then
    echo "SKIPPED: this build has no fault-safe maps (MMAPIO_WITH_FAULT_SAFE=OFF)"
    exit 0
  fi
fi

# qemu-arm (32-bit ARM guests) reports a SIGBUS one page past the address
# that faulted, so no guarded access can recover (tests/common/test.h).
if [ "${MMAPIO_TEST_EMULATED:-}" = qemu-arm ]; then
  echo "SKIPPED: under qemu-arm SIGBUS reports the fault address one page too high"
  exit 0
fi

for cmd in touch cat dump; do
  mkfile
  MMAPIO_CLI_TEST_AFTER_OPEN="truncate -s 4096 '$f'" $emu "$tool" $cmd "$f" > "$dir/out" 2> "$dir/err"
  rc=$?
  [ $rc -eq 1 ] || fail "$cmd of a truncated file: exit status $rc, expected 1 (>= 128 is a crash)"
  grep -q "mmapio $cmd: $f was truncated at offset 4096" "$dir/err" || fail "$cmd: no truncation message"
done

# Several files: the truncated one is reported, the others are still done.
mkfile
echo other > "$dir/other.txt"
MMAPIO_CLI_TEST_AFTER_OPEN="truncate -s 0 '$f'" $emu "$tool" touch "$f" "$dir/other.txt" > "$dir/out" 2> "$dir/err"
rc=$?
[ $rc -eq 1 ] || fail "touch of two files, one truncated: exit status $rc"
grep -q "was truncated at offset 0" "$dir/err" || fail "truncation to 0 not reported"
grep -q "other.txt: 1 of 1 pages resident after touch" "$dir/out" || fail "the other file was not touched"
echo "ok"
