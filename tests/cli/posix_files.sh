#!/bin/sh
# POSIX-only behaviour of the page-cache commands: lock as a daemon with a
# pid file, residency the OS cannot report (a file the caller may not
# write), evict on tmpfs.
# usage: posix_files.sh <mmapio tool> <scratch dir>
set -u
tool=$1
# Cross builds run the tool through their emulator (qemu-user for the ARM
# builds: MMAPIO_TEST_EMULATOR, set by cli/CMakeLists.txt); empty natively.
emu=${MMAPIO_TEST_EMULATOR:-}
dir=$2
rm -rf "$dir" && mkdir -p "$dir" || exit 1
fail() { echo "FAIL: $*"; for f in "$dir"/out "$dir"/err; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done; exit 1; }
f=$dir/data.bin
head -c 65536 /dev/zero > "$f" || exit 1

# ---- -0 -b: a NUL-separated list (find -print0), also from standard input
echo one > "$dir/a b.txt"
echo two > "$dir/c.txt"
printf '%s\0%s\0' "$dir/a b.txt" "$dir/c.txt" > "$dir/list0"
$emu "$tool" touch -0 -b "$dir/list0" > "$dir/out" 2> "$dir/err" || fail "touch -0 -b: exit status $?"
grep -q "files: 2, directories: 0" "$dir/out" || fail "touch -0 -b: summary"
grep -q "a b.txt: 1 of 1 pages" "$dir/out" || fail "touch -0 -b: a name with a blank"
printf '%s\0' "$dir/c.txt" | $emu "$tool" touch -0 -b - > "$dir/out" 2> "$dir/err" || fail "touch -0 -b -: exit status $?"
grep -q "files: 1, directories: 0" "$dir/out" || fail "touch -0 -b -: summary"

# ---- a file over 2 GiB (sparse): a 32-bit build must stat it with a 64-bit
# off_t (else stat fails with EOVERFLOW, "Value too large for defined data type")
big=$dir/big.bin
if truncate -s 3G "$big" 2>/dev/null; then
  $emu "$tool" touch -m 1K "$big" > "$dir/out" 2> "$dir/err" || fail "touch -m 1K of a 3 GiB file: exit status $?"
  grep -q "skipped: 1" "$dir/out" || fail "touch -m 1K of a 3 GiB file: not skipped by its size"
  rm -f "$big"
else
  echo "note: cannot create a sparse 3 GiB file in $dir; large-file stat not tested"
fi

# ---- lock -d -P: returns once locked, holds until SIGTERM
if $emu "$tool" info "$f" | grep -q "features:.* locking"; then
  $emu "$tool" lock -d -P "$dir/pid" --range 0:8K "$f" > "$dir/out" 2> "$dir/err"
  rc=$?
  if [ $rc -ne 0 ] && grep -q "RLIMIT_MEMLOCK\|Cannot allocate\|not permitted" "$dir/err"; then
    echo "note: locking is not allowed here; daemon mode not tested"
  else
    [ $rc -eq 0 ] || fail "lock -d: exit status $rc"
    grep -q "daemon process [0-9]* holds it until SIGTERM" "$dir/out" || fail "lock -d: no daemon line"
    [ -s "$dir/pid" ] || fail "lock -d: no pid file"
    pid=$(cat "$dir/pid")
    kill -0 "$pid" 2>/dev/null || fail "lock -d: process $pid is not running"
    case "${MMAPIO_TEST_SANITIZE:-}" in *address*) ;; *)
    grep -q "^VmLck:.* 8 kB" "/proc/$pid/status" 2>/dev/null || [ ! -r "/proc/$pid/status" ] ||
      fail "lock -d: the daemon does not hold 8 kB locked: $(grep VmLck /proc/$pid/status)"
    esac
    kill -TERM "$pid"
    # The daemon removes its pid file on release; wait for that (no timing
    # assumption: up to a minute).
    i=0
    while [ -e "$dir/pid" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
    [ ! -e "$dir/pid" ] || fail "lock -d: the pid file is still there after SIGTERM"
  fi
fi
# -d cannot be combined with --seconds
$emu "$tool" lock -d --seconds 1 "$f" > "$dir/out" 2> "$dir/err"
[ $? -eq 2 ] || fail "lock -d --seconds: expected a usage error"

# ---- unknown residency: another user's file that the caller may not write
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null 2>&1; then
  chmod 0644 "$f"
  chmod 0755 "$dir"
  if setpriv --reuid=65534 --regid=65534 --clear-groups $emu "$tool" info "$f" > "$dir/out" 2> "$dir/err"; then
    grep -q "resident: *unknown (the OS reports every page as resident" "$dir/out" ||
      fail "info as another user: residency not reported as unknown"
    setpriv --reuid=65534 --regid=65534 --clear-groups $emu "$tool" touch "$f" "$dir" > "$dir/out" 2> "$dir/err"
    grep -q "data.bin: residency unknown" "$dir/out" || fail "touch as another user: no unknown line"
    grep -q "residency unknown for [0-9]* files (not counted above)" "$dir/out" || fail "touch as another user: summary"
  else
    echo "note: cannot run the tool as user 65534 ($(cat "$dir/err")); unknown residency not tested"
  fi
fi

# ---- messages name no internals: a counter in a directory the user may not
# write (the library creates under a temporary name first)
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null 2>&1; then
  mkdir -p "$dir/ro" && chmod 0755 "$dir/ro"
  setpriv --reuid=65534 --regid=65534 --clear-groups $emu "$tool" counter "$dir/ro/c.bin" > "$dir/out" 2> "$dir/err"
  [ $? -eq 1 ] || fail "counter in a read-only directory: expected exit status 1"
  if grep -q "\.tmp\|open(\|renameat2\|link(" "$dir/err"; then fail "the message names internals"; fi
  grep -q "^mmapio counter: $dir/ro/c.bin: Permission denied" "$dir/err" || fail "counter: message"
fi

# ---- evict on tmpfs
for t in /dev/shm /run/shm; do
  if [ -d "$t" ] && [ -w "$t" ] && [ "$(stat -f -c %T "$t" 2>/dev/null)" = tmpfs ]; then
    g=$t/mmapio-test-$$.bin
    head -c 8192 /dev/zero > "$g"
    $emu "$tool" evict "$g" > "$dir/out" 2> "$dir/err"
    rc=$?
    rm -f "$g"
    [ $rc -eq 1 ] || fail "evict on tmpfs: exit status $rc, expected 1"
    grep -q "is on a memory file system (tmpfs or ramfs)" "$dir/err" || fail "evict on tmpfs: no message"
    break
  fi
done
# ---- cat and dump of a pseudo-file that reports size 0 (Linux /proc)
if [ -r /proc/self/status ] && [ "$(stat -c %s /proc/self/status)" = 0 ]; then
  $emu "$tool" cat /proc/self/status > "$dir/out" 2> "$dir/err" || fail "cat /proc/self/status: exit status $?"
  grep -q "^Name:" "$dir/out" || fail "cat /proc/self/status: no content"
  $emu "$tool" dump /proc/self/status --length 16 > "$dir/out" 2> "$dir/err" || fail "dump /proc/self/status: exit status $?"
  grep -q "^00000000  4e 61 6d 65 3a" "$dir/out" || fail "dump /proc/self/status: not the content"
  grep -q "^00000010$" "$dir/out" || fail "dump /proc/self/status: end offset"
  $emu "$tool" cat /proc/self/status --offset 1M > "$dir/out" 2> "$dir/err"
  [ $? -eq 1 ] || fail "cat of a pseudo-file past its end: expected exit status 1"
  grep -q "range out of bounds" "$dir/err" || fail "cat past the end of a pseudo-file: message"
  # offset + length beyond 2^64: out of bounds, nothing written (the end
  # must not wrap around to a small number).
  $emu "$tool" cat /proc/self/status --offset 10 --length 18446744073709551615 > "$dir/out" 2> "$dir/err"
  [ $? -eq 1 ] || fail "cat of a pseudo-file with offset+length past 2^64: expected exit status 1"
  grep -q "range out of bounds: offset=10, len=18446744073709551615" "$dir/err" ||
    fail "cat of a pseudo-file with offset+length past 2^64: message"
  [ -s "$dir/out" ] && fail "cat of a pseudo-file with offset+length past 2^64: wrote output"
fi
echo "ok"
