#!/bin/sh
# wine_run.sh -- checks of scripts/wine-run.sh, the launcher of the Windows
# cross build's tests, with a stand-in for Wine (no Wine needed):
#
#   wine_run.sh LAUNCHER TMPDIR [TEST_PROGRAM]
#
# The stand-in treats its "program" argument as a script of what to do:
# "start:N" creates the start marker and exits N (the program ran),
# "nostart:N" exits N without it (Wine failed before the program started),
# "flaky:N" fails to start on its first call and then behaves as start:N.
# With TEST_PROGRAM (a native test program), also checks that a test
# program creates the marker before main() runs.
set -u
launcher=$1
dir=$2
prog=${3:-}
fails=0
calls=$dir/wine-run-calls
fake=$dir/wine-run-fake.sh
mkdir -p "$dir"
cat >"$fake" <<'FAKE'
#!/bin/sh
echo x >>"$WINE_RUN_CALLS"
case "$1" in
  start:*) : >"$MMAPIO_TEST_START_MARKER"; exit "${1#start:}" ;;
  nostart:*) exit "${1#nostart:}" ;;
  flaky:*)
    if [ "$(wc -l <"$WINE_RUN_CALLS")" -gt 1 ]; then
      : >"$MMAPIO_TEST_START_MARKER"
      exit "${1#flaky:}"
    fi
    exit 5 ;;
esac
exit 99
FAKE
chmod +x "$fake"

# check WHAT MODE WANT_STATUS WANT_CALLS [EXPECT_MARKER]
check() {
  rm -f "$calls"
  : >"$calls"
  out=$(WINE_RUN_CALLS=$calls MMAPIO_TEST_TMPDIR=$dir MMAPIO_WINE_EXPECT_MARKER=${5:-1} \
        MMAPIO_WINE_START_TRIES=3 /bin/sh "$launcher" "$fake" "$2" 2>&1)
  st=$?
  n=$(wc -l <"$calls" | tr -d ' ')
  if [ "$st" != "$3" ] || [ "$n" != "$4" ]; then
    echo "FAIL: $1: status $st (want $3), Wine started $n times (want $4)"
    echo "$out" | sed 's/^/  | /'
    fails=$((fails + 1))
  else
    echo "ok: $1"
  fi
}

check "a started test that fails is not retried" start:1 1 1
check "a started test that passes" start:0 0 1
check "a started test that skips" start:77 77 1
check "a started crash status is passed on" start:5 5 1
check "a start-up failure is retried, then the test's own status counts" flaky:77 77 2
check "a start-up failure followed by a real failure is a failure" flaky:1 1 2
check "never started, Wine said 0: a failure, not a pass" nostart:0 125 3
check "never started, Wine said 77: a failure, not a skip" nostart:77 125 3
check "never started, Wine said 53: a failure" nostart:53 125 3
check "programs without a marker run once, status unchanged" nostart:3 3 1 0
left=$(ls "$dir"/mmapio-start.* 2>/dev/null | wc -l | tr -d ' ')
if [ "$left" != 0 ]; then echo "FAIL: $left start marker(s) left in $dir"; fails=$((fails + 1)); fi

if [ -n "$prog" ]; then
  m=$dir/wine-run-marker-$$
  rm -f "$m"
  MMAPIO_TEST_START_MARKER=$m MMAPIO_TEST_TMPDIR=$dir "$prog" >/dev/null 2>&1
  if [ -e "$m" ]; then echo "ok: a test program creates the start marker"
  else echo "FAIL: $prog did not create the start marker $m"; fails=$((fails + 1)); fi
  rm -f "$m"
fi
rm -f "$calls" "$fake"
[ "$fails" = 0 ]
