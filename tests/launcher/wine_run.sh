#!/bin/sh
# wine_run.sh -- checks of scripts/wine-run.sh, the launcher of the Windows
# cross build's tests, with a stand-in for Wine (no Wine needed):
#
#   wine_run.sh LAUNCHER TMPDIR [TEST_PROGRAM [EXAMPLE TOOL INSTALLED_TOOL CMAKE CLI_SCRIPTS]]
#
# The stand-in treats its "program" argument as a script of what to do:
# "start:N" creates the start marker and exits N (the program ran),
# "nostart:N" exits N without it (Wine failed before the program started),
# "flaky:N" fails to start on its first call and then behaves as start:N.
# With TEST_PROGRAM (a native test program), also checks that a test
# program creates the marker before main() runs.
#
# The other arguments (each may be empty: that part is left out) check the
# programs that do without tests/common/test.h, run natively through the
# launcher by a second stand-in that starts the real program (exec): with
# WINE_RUN_FAKE=flaky every odd start fails as Wine does (status 1, the
# program never ran). EXAMPLE is an example program, TOOL the tests' copy of
# the mmapio tool (cmake/start-marker.cmake), INSTALLED_TOOL the tool that
# is installed (it must carry no marker), CMAKE and CLI_SCRIPTS run one of
# the tool's test scripts (tests/cli/*.cmake) with the launcher as the
# emulator: its stderr comparisons must not see the launcher's reports.
set -u
launcher=$1
dir=$2
prog=${3:-}
example=${4:-}
tool=${5:-}
installed=${6:-}
cmake=${7:-}
cli_scripts=${8:-}
# A cross build's programs run under its emulator (qemu-user for the ARM
# builds: MMAPIO_TEST_EMULATOR, set by tests/launcher/CMakeLists.txt); empty
# natively.
host_emu=${MMAPIO_TEST_EMULATOR:-}
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
  MMAPIO_TEST_START_MARKER=$m MMAPIO_TEST_TMPDIR=$dir $host_emu "$prog" >/dev/null 2>&1
  if [ -e "$m" ]; then echo "ok: a test program creates the start marker"
  else echo "FAIL: $prog did not create the start marker $m"; fails=$((fails + 1)); fi
  rm -f "$m"
fi
# ---- real programs without test.h, through a stand-in that runs them -------
pass=$dir/wine-run-pass.sh
cat >"$pass" <<'PASS'
#!/bin/sh
n=$(($(wc -l <"$WINE_RUN_CALLS") + 1))
echo x >>"$WINE_RUN_CALLS"
if [ "${WINE_RUN_FAKE:-}" = flaky ] && [ $((n % 2)) = 1 ]; then exit 1; fi
exec ${MMAPIO_TEST_EMULATOR:-} "$@"
PASS
chmod +x "$pass"

# run FAKE_MODE PROGRAM ARGS...: the launcher starts PROGRAM through the
# stand-in; sets st (status), n (Wine starts), out (stdout), err (stderr).
run() {
  mode=$1
  shift
  rm -f "$calls"
  : >"$calls"
  WINE_RUN_CALLS=$calls WINE_RUN_FAKE=$mode MMAPIO_TEST_TMPDIR=$dir MMAPIO_WINE_EXPECT_MARKER=1 \
    MMAPIO_WINE_START_TRIES=3 /bin/sh "$launcher" "$pass" "$@" >"$dir/wine-run-out" 2>"$dir/wine-run-err"
  st=$?
  n=$(wc -l <"$calls" | tr -d ' ')
  out=$(cat "$dir/wine-run-out")
  err=$(cat "$dir/wine-run-err")
}
# expect WHAT WANT_STATUS WANT_CALLS
expect() {
  if [ "$st" != "$2" ] || [ "$n" != "$3" ]; then
    echo "FAIL: $1: status $st (want $2), Wine started $n times (want $3)"
    { echo "$out"; echo "$err"; } | sed 's/^/  | /'
    fails=$((fails + 1))
  else
    echo "ok: $1"
  fi
}

if [ -n "$example" ]; then
  (cd "$dir" && $host_emu "$example" >/dev/null 2>&1)
  want=$?
  run flaky "$example"
  expect "an example that failed to start is started again (status $want as run directly)" "$want" 2
  run "" "$example"
  expect "an example that started is run once" "$want" 1
fi
if [ -n "$tool" ]; then
  direct=$($host_emu "$tool" --version 2>&1)
  run flaky "$tool" --version
  expect "the tool's test copy that failed to start is started again" 0 2
  if [ "$out" != "$direct" ]; then
    echo "FAIL: the marker changed the tool's output: [$out], run directly: [$direct]"
    fails=$((fails + 1))
  fi
  case "$err" in
    *"wine-run.sh: mmapio: Wine exited with status 1 before the program started"*) ;;
    *) echo "FAIL: no retry report on stderr: [$err]"; fails=$((fails + 1)) ;;
  esac
  run flaky "$tool" no-such-command
  expect "the tool that started and failed (after one start-up failure) is not run again" 2 2
  run "" "$tool" no-such-command
  expect "the tool that started and failed is not retried" 2 1
  case "$err" in
    *wine-run.sh*) echo "FAIL: a report for a run that started: [$err]"; fails=$((fails + 1)) ;;
  esac
fi
if [ -n "$installed" ]; then
  # The installed tool has no test code: through the launcher it never
  # proves a start, so it is tried three times and fails (status 125).
  run "" "$installed" --version
  expect "the installed tool carries no start marker" 125 3
fi
if [ -n "$tool" ] && [ -n "$cmake" ] && [ -n "$cli_scripts" ]; then
  # tests/cli/multi.cmake compares whole stderr texts (expect_equal). Run it
  # with the launcher as the emulator, once with every start succeeding
  # (R tool runs) and once with every first start failing: it must pass and
  # start Wine exactly 2R times (no run that started is repeated).
  script=$cli_scripts/multi.cmake
  emu="/bin/sh|$launcher|$pass"
  for mode in "" flaky; do
    rm -f "$calls"
    : >"$calls"
    WINE_RUN_CALLS=$calls WINE_RUN_FAKE=$mode MMAPIO_TEST_TMPDIR=$dir MMAPIO_WINE_EXPECT_MARKER=1 \
      MMAPIO_WINE_START_TRIES=3 "$cmake" "-DMMAPIO=$tool" "-DEMULATOR=$emu" \
      "-DWORK=$dir/wine-run-cli" -P "$script" >"$dir/wine-run-out" 2>&1
    st=$?
    n=$(wc -l <"$calls" | tr -d ' ')
    out=$(cat "$dir/wine-run-out")
    err=
    if [ -z "$mode" ]; then
      runs=$n
      expect "a tool script through the launcher passes" 0 "$runs"
    else
      expect "a tool script passes when every tool start fails once ($runs runs)" 0 $((2 * runs))
      case "$out" in
        *"the launcher reported:
wine-run.sh: mmapio: Wine exited with status 1 before the program started (no start marker; attempt 1 of 3)
"*) ;;
        *) echo "FAIL: the script does not show the launcher's reports line by line"
           echo "$out" | sed 's/^/  | /'
           fails=$((fails + 1)) ;;
      esac
    fi
  done
  if [ "${runs:-0}" -lt 2 ]; then echo "FAIL: the tool script ran the tool ${runs:-0} times"; fails=$((fails + 1)); fi
  rm -rf "$dir/wine-run-cli"
fi
left=$(ls "$dir"/mmapio-start.* 2>/dev/null | wc -l | tr -d ' ')
if [ "$left" != 0 ]; then echo "FAIL: $left start marker(s) left in $dir"; fails=$((fails + 1)); fi

rm -f "$calls" "$fake" "$pass" "$dir/wine-run-out" "$dir/wine-run-err"
[ "$fails" = 0 ]
