#!/usr/bin/env bash
# run-tests.sh -- THE mmapio test command (the README and .ci/run call it).
#
# On a fresh Debian machine it installs what is missing, then builds and runs
# the CTest suite in several configurations ("stages"), in this order:
#
#   normal    GCC, default options
#   portable  GCC, -DMMAPIO_PORTABLE_POSIX=ON (the fallbacks macOS/BSD use)
#   asan      Clang, AddressSanitizer + UndefinedBehaviorSanitizer, full suite
#   tsan      Clang, ThreadSanitizer: every tier with threads (concurrency, stress,
#             ext, fault, modules, bench)
#   windows   MinGW-w64 cross build run under Wine (scripts/test-wine.sh), if present
#   windows32 the same for 32-bit Windows (i686-w64-mingw32, Wine's wine32)
#   minimal   the `minimal` preset (features off: their functions return ENOTSUP)
#   musl      GCC against musl libc (musl-gcc, as on Alpine Linux): C tests only;
#             SQLite, FUSE and the valgrind test need libraries built for glibc
#   x86_32    GCC -m32: the 32-bit x86 ABI (4-byte aligned uint64_t, 32-bit
#             size_t, 2 GiB MMAPIO_MAX_SIZE); C tests only, no SQLite or FUSE
#   aarch64   64-bit ARM Linux: cross-compiled (gcc-aarch64-linux-gnu,
#             cmake/toolchain-linux-arm.cmake), C tests run under qemu-aarch64
#   armhf     32-bit ARM Linux (arm-linux-gnueabihf, armv7-a: 8-byte aligned
#             uint64_t, 32-bit size_t and long, 64-bit atomics), C tests
#             under qemu-arm, with the portable POSIX backend (qemu-arm 7.2's
#             mremap damages the mapping after one that shrinks); then an
#             armv6 build (no 64-bit atomic instructions: libatomic) and
#             its modules tests
#             Both ARM stages check ABI, alignment, char signedness (char is
#             unsigned on ARM) and logic, NOT memory ordering: qemu-user on
#             an x86 host runs ARM code with x86's strong ordering, so a
#             missing barrier that real ARM hardware would expose stays
#             hidden. A test that needs what qemu-user cannot do (exec an
#             ARM program without binfmt_misc, ...) skips with its reason.
#   filesystems  the normal build's whole suite again with its temporary
#             directory (tests/tmp) on tmpfs, tmpfs with huge=always (files
#             in 2 MiB pages), ext4 and XFS with 1 KiB blocks (smaller than
#             a page), XFS, btrfs and overlayfs (loop
#             images in a private mount namespace; needs root, and mkfs.xfs /
#             mkfs.btrfs for those two, else that file system is skipped with
#             the reason); ext4, the machine's own, is the normal stage
#   fuzz      libFuzzer targets for 35 s each (scripts/run-fuzz.sh)
#
# It stops at the first failing stage with a non-zero exit status, prints each
# stage's CTest summary line, and ends with one line
#   TOTAL: N passed, M failed, K skipped
# summed over the stages that ran.
#
# Usage: scripts/run-tests.sh [--quick] [--stage NAME]... [--build-root DIR]
#   --quick        the normal stage only
#   --stage NAME   run only the named stage(s); may be repeated
#   --build-root   where the build trees go (default: <repo>/build-ci)
# Environment: JOBS (build and test parallelism, default: number of CPUs).
set -u -o pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_root="${MMAPIO_BUILD_ROOT:-$repo/build-ci}"
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
all_stages=(normal portable asan tsan windows windows32 minimal musl x86_32 aarch64 armhf filesystems fuzz)
stages=()

usage() { sed -n '2,51p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) stages=(normal) ;;
    --stage) shift; [ $# -gt 0 ] || { usage >&2; exit 2; }; stages+=("$1") ;;
    --stage=*) stages+=("${1#--stage=}") ;;
    --build-root) shift; build_root="$1" ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run-tests.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
[ ${#stages[@]} -gt 0 ] || stages=("${all_stages[@]}")
for s in "${stages[@]}"; do
  case " ${all_stages[*]} " in
    *" $s "*) ;;
    *) echo "run-tests.sh: unknown stage '$s' (stages: ${all_stages[*]})" >&2; exit 2 ;;
  esac
done

want_stage() { case " ${stages[*]} " in *" $1 "*) return 0 ;; esac; return 1; }

# ---- tools ----------------------------------------------------------------
# Only what is missing is installed, so a prepared machine needs no network.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need cmake cmake
need ninja ninja-build
need gcc gcc
need g++ g++
if want_stage asan || want_stage tsan; then need clang clang; fi
if want_stage musl; then need musl-gcc musl-tools; fi
# The 32-bit libgcc and C library come with gcc-N-multilib. Not the
# gcc-multilib package: all it adds is /usr/include/asm (the stage makes
# that link itself), and it conflicts with the ARM cross compilers.
if want_stage x86_32 && [ ! -e /usr/lib32/libc.so ] && [ ! -e /usr/lib/i386-linux-gnu/libc.so ]; then
  missing+=("gcc-$(gcc -dumpversion 2>/dev/null | cut -d. -f1)-multilib")
fi
# The ARM cross compilers, their C libraries (only recommended by the
# compiler packages) and qemu-user.
if want_stage aarch64; then
  need aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
  [ -e /usr/aarch64-linux-gnu/include/stdio.h ] || missing+=(libc6-dev-arm64-cross)
  need qemu-aarch64 qemu-user
fi
if want_stage armhf; then
  need arm-linux-gnueabihf-gcc gcc-arm-linux-gnueabihf
  [ -e /usr/arm-linux-gnueabihf/include/stdio.h ] || missing+=(libc6-dev-armhf-cross)
  command -v qemu-arm >/dev/null 2>&1 || case " ${missing[*]-} " in *" qemu-user "*) ;; *) missing+=(qemu-user) ;; esac
fi
if want_stage windows && [ -x "$repo/scripts/test-wine.sh" ]; then
  need x86_64-w64-mingw32-gcc mingw-w64
  need wine wine
  # Debian's wine64 package provides the 64-bit loader.
  if [ ! -e /usr/lib/wine/wine64 ] && ! command -v wine64 >/dev/null 2>&1; then missing+=(wine64); fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q || exit 1
  as_root apt-get install -y -q --no-install-recommends "${missing[@]}" || exit 1
fi

# ---- bookkeeping ----------------------------------------------------------
tot_pass=0 tot_fail=0 tot_skip=0
summaries=()

print_total() {
  echo
  echo "== stage summaries"
  local l
  for l in "${summaries[@]+"${summaries[@]}"}"; do echo "$l"; done
  echo "TOTAL: $tot_pass passed, $tot_fail failed, $tot_skip skipped"
}

# Count one ctest log: each test prints one status line
#   " 3/40 Test  #3: unit_test_open ....   Passed    0.01 sec"
# with Passed, ***Skipped, ***Failed, ***Timeout, ***Exception: ..., or
# "***Not Run". Skipped tests are also reported as passed by CTest's own
# percentage line, so the per-test lines are what we sum.
count_log() { # $1 = stage name, $2 = log file
  local p f k line
  p=$(grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: ' "$2" | grep -cE ' +Passed +[0-9.]+ sec' || true)
  k=$(grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: ' "$2" | grep -cE '\*\*\*Skipped|Not Run .*Disabled' || true)
  f=$(grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: ' "$2" | grep -vE ' +Passed +[0-9.]+ sec|\*\*\*Skipped|Not Run .*Disabled' | grep -c . || true)
  tot_pass=$((tot_pass + p)); tot_fail=$((tot_fail + f)); tot_skip=$((tot_skip + k))
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$2" | tail -n 1)
  [ -n "$line" ] || line="(no CTest summary)"
  summaries+=("[$1] $line  ($p passed, $f failed, $k skipped)")
  echo "[$1] $line"
}

fail_stage() { # $1 = stage, $2 = reason
  echo "== stage $1 FAILED: $2" >&2
  summaries+=("[$1] FAILED: $2")
  print_total
  exit 1
}

# configure_build NAME BDIR CMAKE_ARGS...: configure and build one tree.
configure_build() {
  local name="$1" bdir="$2"; shift 2
  mkdir -p "$build_root"
  echo
  echo "== stage $name: configure ($bdir)"
  cmake -S "$repo" -B "$bdir" -G Ninja "$@" >"$build_root/$name.configure.log" 2>&1 \
    || { cat "$build_root/$name.configure.log"; fail_stage "$name" "configure"; }
  echo "== stage $name: build"
  cmake --build "$bdir" -j "$jobs" || fail_stage "$name" "build"
}

# tests_done NAME LOG RC: count a CTest log and stop unless every test passed.
tests_done() {
  count_log "$1" "$2"
  if [ "$3" -ne 0 ] || ! grep -qE 'tests passed, 0 tests failed' "$2"; then
    fail_stage "$1" "tests failed"
  fi
}

# run_stage NAME CTEST_ARGS -- CMAKE_ARGS...
run_stage() {
  local name="$1"; shift
  local ctest_args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do ctest_args+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  local bdir="$build_root/$name" log="$build_root/$name.ctest.log"
  configure_build "$name" "$bdir" "$@"
  echo "== stage $name: test"
  local rc=0
  (cd "$bdir" && ctest --output-on-failure -j "$jobs" "${ctest_args[@]+"${ctest_args[@]}"}") 2>&1 | tee "$log" || rc=$?
  tests_done "$name" "$log" "$rc"
}

# kernel_headers DIR: DIR gets the kernel's headers (linux/, asm/,
# asm-generic/) alone, for a compiler that is not given /usr/include.
kernel_headers() {
  local arch
  arch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
  mkdir -p "$1"
  ln -sfn /usr/include/linux "$1/linux"
  ln -sfn "/usr/include/$arch/asm" "$1/asm"
  ln -sfn /usr/include/asm-generic "$1/asm-generic"
}

# The builds against another C library or ABI than the system's (musl,
# x86_32): C only, and none of the system's libraries found through
# pkg-config (libfuse) or CMake (SQLite), which are built for glibc on x86-64.
# The normal stage's configuration (the filesystems stage reuses its tree).
normal_opts=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc)

c_only=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=false
        -DCMAKE_DISABLE_FIND_PACKAGE_SQLite3=ON -DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON)

# run_wine_stage NAME TRIPLE: scripts/test-wine.sh for one MinGW-w64 target.
run_wine_stage() {
  local name="$1" triple="$2" log="$build_root/$1.ctest.log" rc=0
  if [ ! -x "$repo/scripts/test-wine.sh" ]; then
    echo "== stage $name: scripts/test-wine.sh not present, skipped"
    return 0
  fi
  echo
  echo "== stage $name: MMAPIO_WIN_TRIPLE=$triple scripts/test-wine.sh"
  mkdir -p "$build_root"
  MMAPIO_WIN_TRIPLE="$triple" MMAPIO_WIN_BUILD="$build_root/$name" MMAPIO_JOBS="$jobs" \
    "$repo/scripts/test-wine.sh" 2>&1 | tee "$log" || rc=$?
  count_log "$name" "$log"
  [ $rc -eq 0 ] || fail_stage "$name" "scripts/test-wine.sh exited with $rc"
}

# run_fs_stage: the normal configuration's suite with tests/tmp mounted on
# each other file system in turn, in a private mount namespace (unshare -m)
# so that nothing stays mounted. Uses the normal stage's build when it is
# there.
run_fs_stage() {
  if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null 2>&1; then
    echo "== stage filesystems: skipped (needs root and unshare to mount file systems)"
    summaries+=("[filesystems] skipped: needs root and unshare")
    return 0
  fi
  local bdir="$build_root/normal"
  if [ ! -f "$bdir/CTestTestfile.cmake" ]; then
    bdir="$build_root/filesystems"
    configure_build filesystems "$bdir" "${normal_opts[@]}"
  fi
  local tmp="$bdir/tests/tmp" fs img log mnt rc
  for fs in tmpfs tmpfs-huge ext4-1k xfs xfs-1k btrfs overlay; do
    img="$build_root/fs-$fs.img" log="$build_root/filesystems-$fs.ctest.log"
    case "$fs" in
      tmpfs) mnt="mount -t tmpfs -o size=4g tmpfs '$tmp'" ;;
      # Files in 2 MiB pages (transparent huge pages of shmem): flushes,
      # resizes, truncations and faults that split them.
      tmpfs-huge) mnt="mount -t tmpfs -o size=4g,huge=always tmpfs '$tmp'" ;;
      overlay)
        rm -rf "$build_root/fs-overlay" && mkdir -p "$build_root/fs-overlay/lower" \
          "$build_root/fs-overlay/upper" "$build_root/fs-overlay/work"
        mnt="mount -t overlay overlay -o lowerdir='$build_root/fs-overlay/lower',upperdir='$build_root/fs-overlay/upper',workdir='$build_root/fs-overlay/work' '$tmp'" ;;
      *)
        # ext4-1k and xfs-1k: blocks of 1 KiB, smaller than a page (EOF
        # zeroing, reservations and holes inside a page).
        local type="${fs%-1k}" opts="-q -f"
        [ "$type" = ext4 ] && opts="-q -F"
        if [ "$fs" != "$type" ]; then
          if [ "$type" = ext4 ]; then opts="$opts -b 1024"; else opts="$opts -b size=1024"; fi
        fi
        if ! command -v "mkfs.$type" >/dev/null 2>&1; then
          echo "== stage filesystems: $fs skipped (mkfs.$type not installed)"
          summaries+=("[filesystems-$fs] skipped: mkfs.$type not installed")
          continue
        fi
        # shellcheck disable=SC2086 # $opts is a list of options
        rm -f "$img" && truncate -s 4G "$img" && "mkfs.$type" $opts "$img" >/dev/null 2>&1 \
          || fail_stage "filesystems-$fs" "mkfs.$type $opts"
        mnt="mount -t $type -o loop '$img' '$tmp'" ;;
    esac
    echo
    echo "== stage filesystems: the suite with tests/tmp on $fs"
    rc=0
    (cd "$bdir" && unshare -m sh -c "mount --make-rprivate / && $mnt || exit 90
      ctest --output-on-failure -j $jobs; r=\$?; umount '$tmp'; exit \$r") 2>&1 | tee "$log" || rc=$?
    rm -rf "$img" "$build_root/fs-overlay"
    if [ $rc -eq 90 ]; then
      echo "== stage filesystems: $fs skipped (cannot mount it here)"
      summaries+=("[filesystems-$fs] skipped: cannot mount $fs here")
      continue
    fi
    tests_done "filesystems-$fs" "$log" "$rc"
  done
}

start=$(date +%s)
for s in "${all_stages[@]}"; do
  want_stage "$s" || continue
  case "$s" in
    normal)
      run_stage normal -- "${normal_opts[@]}" ;;
    portable)
      run_stage portable -- "${normal_opts[@]}" -DMMAPIO_PORTABLE_POSIX=ON ;;
    asan)
      # halt_on_error keeps a report from scrolling past as a "pass".
      export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
      export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
      run_stage asan -- -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
        -DCMAKE_CXX_COMPILER=clang++ -DMMAPIO_SANITIZE=address,undefined ;;
    tsan)
      export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
      run_stage tsan -L 'concurrency|stress|ext|fault|modules|bench' -- -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
        -DCMAKE_CXX_COMPILER=clang++ -DMMAPIO_SANITIZE=thread ;;
    windows)
      run_wine_stage windows x86_64-w64-mingw32 ;;
    windows32)
      # scripts/test-wine.sh installs wine32 (adding the i386 architecture)
      # when it is missing.
      run_wine_stage windows32 i686-w64-mingw32 ;;
    minimal)
      # The preset's feature switches, in our own build tree.
      run_stage minimal -- --preset minimal -DCMAKE_C_COMPILER=gcc ;;
    musl)
      # Debian's musl-gcc leaves out /usr/include, and with it the kernel's
      # headers (linux/, asm/), which an Alpine system has in its own
      # include directory: give the compiler just those. No C++ compiler
      # and no pkg-config or SQLite from the glibc system.
      kh="$build_root/musl-kernel-headers"
      kernel_headers "$kh"
      run_stage musl -- "${c_only[@]}" -DCMAKE_C_COMPILER=musl-gcc "-DCMAKE_C_FLAGS=-isystem $kh" ;;
    x86_32)
      # The 64-bit system's SQLite and libfuse cannot be linked into a
      # 32-bit program: their tests are left out as in the musl stage.
      # The kernel's asm/ headers for -m32 are the x86-64 ones (they serve
      # both): Debian's gcc-multilib would only link /usr/include/asm to
      # them, and it cannot be installed next to the ARM cross compilers,
      # so the stage is given them as the musl stage is.
      kh32="$build_root/x86_32-kernel-headers"
      kernel_headers "$kh32"
      run_stage x86_32 -- "${c_only[@]}" -DCMAKE_C_COMPILER=gcc "-DCMAKE_C_FLAGS=-m32 -isystem $kh32" ;;
    aarch64)
      # C only, as x86_32: the system's SQLite and libfuse are x86-64.
      run_stage aarch64 -- "${c_only[@]}" -DCMAKE_TOOLCHAIN_FILE="$repo/cmake/toolchain-linux-arm.cmake" \
        -DMMAPIO_ARM_TRIPLE=aarch64-linux-gnu ;;
    armhf)
      # The portable backend: no mremap, which qemu-arm 7.2 gets wrong for
      # 32-bit guests (a shrink in place re-reserves the pages after the
      # old end, unmapping whatever lies there). The Linux paths run on ARM
      # in the aarch64 stage.
      run_stage armhf -- "${c_only[@]}" -DCMAKE_TOOLCHAIN_FILE="$repo/cmake/toolchain-linux-arm.cmake" \
        -DMMAPIO_ARM_TRIPLE=arm-linux-gnueabihf -DMMAPIO_PORTABLE_POSIX=ON
      # armv6 (the 32-bit ABI of Raspberry Pi OS) has no 64-bit atomic
      # instructions: the library and its users link libatomic there. Its
      # build, and the modules tests (atomics) under qemu-arm.
      run_stage armhf-armv6 -L modules -- "${c_only[@]}" \
        -DCMAKE_TOOLCHAIN_FILE="$repo/cmake/toolchain-linux-arm.cmake" \
        -DMMAPIO_ARM_TRIPLE=arm-linux-gnueabihf -DMMAPIO_PORTABLE_POSIX=ON \
        "-DCMAKE_C_FLAGS=-march=armv6+fp -marm" ;;
    filesystems)
      run_fs_stage ;;
    fuzz)
      # libFuzzer targets (bounds rule, random API sequences against a
      # model), 35 s each from the seed corpus: bounded, never timed.
      echo
      echo "== stage fuzz: scripts/run-fuzz.sh ${MMAPIO_FUZZ_SECONDS:-35}"
      MMAPIO_FUZZ_BUILD="$build_root/fuzz" MMAPIO_FUZZ_JOBS="$jobs" \
        "$repo/scripts/run-fuzz.sh" "${MMAPIO_FUZZ_SECONDS:-35}" \
        || fail_stage fuzz "a fuzz target found a failure (see $build_root/fuzz/fuzz-artifacts)"
      summaries+=("[fuzz] fuzz_bounds and fuzz_api_seq ran ${MMAPIO_FUZZ_SECONDS:-35} s each without a failure") ;;
  esac
done

echo
echo "== all stages passed in $(( $(date +%s) - start )) s"
print_total
exit 0
