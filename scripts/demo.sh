#!/usr/bin/env bash
# demo.sh -- build mmapio and run the `mmapio demo` tour (the README's main job).
# On a fresh Debian machine it installs what is missing (cmake, ninja, gcc).
set -eu -o pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v ninja >/dev/null 2>&1 || missing+=(ninja-build)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
if [ ${#missing[@]} -gt 0 ]; then
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_ apt-get update -q && $sudo_ apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
build="${MMAPIO_DEMO_BUILD:-$repo/build-demo}"
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMMAPIO_BUILD_TESTS=OFF >/dev/null
ninja -C "$build" mmapio_cli >/dev/null
exec "$build/cli/mmapio" demo "$@"
