#!/usr/bin/env bash
# demo.sh -- build mmapio and run the `mmapio demo` tour (the README's main job).
# On a fresh Debian machine it installs what is missing (cmake, ninja, gcc).
# The build is quiet when it works; when it fails, its full output is shown.
set -eu -o pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v ninja >/dev/null 2>&1 || missing+=(ninja-build)
command -v gcc >/dev/null 2>&1 || command -v cc >/dev/null 2>&1 || missing+=(gcc)
if [ ${#missing[@]} -gt 0 ]; then
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  export DEBIAN_FRONTEND=noninteractive
  echo "demo.sh: installing ${missing[*]}"
  $sudo_ apt-get update -q && $sudo_ apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
build="${MMAPIO_DEMO_BUILD:-$repo/build-demo}"
log="$(mktemp "${TMPDIR:-/tmp}/mmapio-demo-build.XXXXXX")"
trap 'rm -f "$log"' EXIT

# Runs a build step; on failure prints its output and the step, and stops.
step() {
  local what=$1; shift
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo >&2
    echo "demo.sh: $what failed (command: $*)." >&2
    echo "demo.sh: the output above says why; fix it and run scripts/demo.sh again." >&2
    exit 1
  fi
}
echo "demo.sh: building the mmapio tool in $build ..."
step "configuring" cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMMAPIO_BUILD_TESTS=OFF
step "building" ninja -C "$build" mmapio_cli
echo

rc=0
"$build/cli/mmapio" demo "$@" || rc=$?
cat <<NEXT

Where to go next:
  the tool        $build/cli/mmapio --help   (man page: man -l $repo/man/mmapio.1)
                  touch, evict, lock and info work like vmtouch; also cat, dump, counter, watch, bench
  the library     $repo/README.md (quick start, linking with CMake or pkg-config)
  the guide       $repo/docs/guide.md (modes, flush policies, durability, growth, threads)
  the reference   $repo/include/mmapio.h (every function, status and guarantee)
  examples        $repo/examples/ (one small program per use case)
NEXT
exit $rc
