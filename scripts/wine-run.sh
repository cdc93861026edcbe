#!/bin/sh
# wine-run.sh -- how CTest starts a test program of the Windows cross build
# under Wine (CMAKE_CROSSCOMPILING_EMULATOR, set by
# cmake/toolchain-mingw-w64.cmake):
#
#   wine-run.sh WINE PROGRAM.exe [ARGS...]
#
# Rarely (seen about once in a few hundred to a few thousand starts) Wine
# exits within 10-20 ms, before the program's own code ran, with status 1
# and without a word (WINEDEBUG=-all): CTest then reports a failed test with
# no output at all. Why Wine does that is not known. That is not a test result,
# and a plain retry of failing tests would hide real failures, so the
# launcher asks the program for proof that it started:
#
# * Every program CTest runs under Wine creates the file named by
#   MMAPIO_TEST_START_MARKER before main() runs: the test programs (every
#   tests/<tier>/test_*.c) through tests/common/test.h, all others (the
#   examples, the tests' copy of the mmapio tool, the benchmark smoke test,
#   the README snippets, the C++ tests) through tests/common/start_marker.c,
#   linked by cmake/start-marker.cmake. Their tests set
#   MMAPIO_WINE_EXPECT_MARKER=1. The tool's test scripts (tests/cli/*.cmake)
#   start the tool through this launcher too, with the variable inherited
#   from their test.
# * When the marker exists, the program ran: its exit status is the test's
#   result and is passed on unchanged, whatever it is. Nothing is retried.
# * When it does not exist, the program never started (or the run cannot
#   be trusted): this is reported on stderr with Wine's status and Wine is
#   started again, at most MMAPIO_WINE_START_TRIES times in all (default 3).
#   If the program never starts, the test fails (status 125), even if Wine
#   said 0 or 77: a test without the marker never passes or skips.
# * The launcher's reports are lines on stderr starting "wine-run.sh: ";
#   tests/cli/common.cmake takes them out of the tool's stderr before the
#   scripts compare it (and shows them in the test's output).
#
# Without MMAPIO_WINE_EXPECT_MARKER=1 (a program started by hand, outside
# CTest) Wine is simply run once and its status passed on.
set -u

wine=$1
shift
if [ "${MMAPIO_WINE_EXPECT_MARKER:-0}" != 1 ]; then
  exec "$wine" "$@"
fi

tries=${MMAPIO_WINE_START_TRIES:-3}
# The marker lives where the tests keep their files (a Unix path that Wine
# resolves through its Z: drive, like MMAPIO_TEST_TMPDIR itself).
dir=${MMAPIO_TEST_TMPDIR:-${TMPDIR:-/tmp}}
marker=$(mktemp "$dir/mmapio-start.XXXXXXXX") || {
  echo "wine-run.sh: cannot create a start marker in $dir" >&2
  exit 125
}
trap 'rm -f "$marker"' EXIT
trap 'exit 130' INT TERM

attempt=1
while :; do
  rm -f "$marker"
  MMAPIO_TEST_START_MARKER=$marker "$wine" "$@"
  rc=$?
  if [ -e "$marker" ]; then
    exit "$rc"
  fi
  echo "wine-run.sh: $(basename "$1"): Wine exited with status $rc before the program started" \
       "(no start marker; attempt $attempt of $tries)" >&2
  [ "$attempt" -lt "$tries" ] || break
  attempt=$((attempt + 1))
done
echo "wine-run.sh: $(basename "$1") never started under Wine: reported as a failure" >&2
exit 125
