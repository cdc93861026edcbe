#!/bin/sh
# test-wine.sh -- cross-build mmapio for Windows with MinGW-w64 and run the
# whole CTest suite under Wine.
#
#   scripts/test-wine.sh [extra ctest arguments, e.g. -L unit or -R win_]
#
# Environment:
#   MMAPIO_WIN_BUILD   build directory (default: <repo>/build-win)
#   WINEPREFIX         Wine prefix (default: <build>/wineprefix, created quietly)
#   MMAPIO_JOBS        parallel build and test jobs (default: 2)
#   MMAPIO_WIN_TRIPLE  MinGW-w64 target: x86_64-w64-mingw32 (default) or
#                      i686-w64-mingw32 for 32-bit Windows, which needs
#                      Debian's wine32 (i386) package: installed with the
#                      i386 architecture added when missing
#
# Needs cmake, ninja (or make), the MinGW-w64 cross compiler and Wine; on a
# Debian machine, as root, missing packages are installed with apt-get.
# No display is needed. Exit status: 0 when the build succeeded and every
# test passed or skipped.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${MMAPIO_WIN_BUILD:-$repo/build-win}
jobs=${MMAPIO_JOBS:-2}
triple=${MMAPIO_WIN_TRIPLE:-x86_64-w64-mingw32}
case "$triple" in
  i[3-6]86-*) bits=32 ;;
  *) bits=64 ;;
esac

have() { command -v "$1" >/dev/null 2>&1; }

find_wine() {
  # 32-bit programs need the 32-bit loader (Debian: /usr/lib/wine/wine
  # from wine32); a 64-bit prefix runs them (WoW64).
  if [ "$bits" = 32 ]; then
    for w in /usr/lib/wine/wine /usr/lib/i386-linux-gnu/wine/wine; do
      if [ -x "$w" ]; then echo "$w"; return 0; fi
    done
    return 1
  fi
  for w in wine64 /usr/lib/wine/wine64 /usr/lib64/wine/wine64 /opt/wine-stable/bin/wine64 wine; do
    if have "$w" || [ -x "$w" ]; then echo "$w"; return 0; fi
  done
  return 1
}

# ---- tools -------------------------------------------------------------------
missing=""
have "$triple-gcc" || missing="$missing mingw-w64"
if ! find_wine >/dev/null; then
  if [ "$bits" = 32 ]; then missing="$missing wine wine32:i386"; else missing="$missing wine wine64"; fi
fi
have cmake || missing="$missing cmake"
have ninja || have make || missing="$missing ninja-build"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && have apt-get; then
    echo "test-wine.sh: installing$missing" >&2
    case "$missing" in
      *:i386*)
        if ! dpkg --print-foreign-architectures | grep -qx i386; then
          dpkg --add-architecture i386 && apt-get update -q >&2
        fi ;;
    esac
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >&2 ||
      { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >&2; }
  else
    echo "test-wine.sh: missing$missing (install them, e.g. apt-get install$missing)" >&2
    exit 2
  fi
fi
wine=$(find_wine)
case "$wine" in
  */*) wineserver=$(dirname "$wine")/wineserver ;;
  *) wineserver=wineserver ;;
esac
[ -x "$wineserver" ] || have "$wineserver" || wineserver=wineserver

# ---- Wine prefix -------------------------------------------------------------
mkdir -p "$build"
export WINEPREFIX="${WINEPREFIX:-$build/wineprefix}"
export WINEDEBUG=-all
export WINEARCH=win64
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  echo "test-wine.sh: creating the Wine prefix $WINEPREFIX"
  # No Mono or Gecko: the tests need neither, and their installers would
  # ask questions.
  WINEDLLOVERRIDES="mscoree,mshtml=" "$wine" wineboot -i >/dev/null 2>&1 || true
  "$wineserver" -w 2>/dev/null || true
  if [ ! -f "$WINEPREFIX/system.reg" ]; then
    echo "test-wine.sh: wineboot did not create $WINEPREFIX" >&2
    exit 2
  fi
fi

# ---- build -------------------------------------------------------------------
gen=""
if have ninja; then gen="-G Ninja"; fi
# shellcheck disable=SC2086
cmake -S "$repo" -B "$build" $gen \
  -DCMAKE_TOOLCHAIN_FILE="$repo/cmake/toolchain-mingw-w64.cmake" -DMINGW_TRIPLE="$triple" \
  -DMMAPIO_WINE="$wine" -DMMAPIO_WINEPREFIX="$WINEPREFIX" >/dev/null
build_status=0
if have ninja && [ -n "$gen" ]; then
  # Keep going past failures so every test that can be built is run.
  cmake --build "$build" -j "$jobs" -- -k 0 || build_status=$?
else
  cmake --build "$build" -j "$jobs" -- -k || build_status=$?
fi
if [ "$build_status" != 0 ]; then
  echo "test-wine.sh: the build FAILED (status $build_status); running the tests that were built" >&2
fi

# ---- tests -------------------------------------------------------------------
# One wineserver for the whole run instead of one per test program. The
# first Wine program of a session also starts Wine's background services
# (services.exe, explorer.exe, ...), which inherit its stdout and stderr;
# CTest would then wait for those pipes to close until the test times out.
# So start the services here, with their output going nowhere.
"$wineserver" -p 2>/dev/null || true
"$wine" wineboot >/dev/null 2>&1 </dev/null || true
# Wine reuses small process ids from run to run, and the tests name their
# files after the pid: files a crashed earlier run left behind would collide.
rm -rf "$build"/tests/tmp/mmapio-* 2>/dev/null || true
test_status=0
ctest --test-dir "$build" --output-on-failure -j "$jobs" "$@" || test_status=$?
"$wineserver" -k 2>/dev/null || true

if [ "$build_status" != 0 ]; then exit "$build_status"; fi
exit "$test_status"
