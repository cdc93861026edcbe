# Cross-compile mmapio for 64-bit or 32-bit ARM Linux with Debian's cross
# compilers and run the tests under qemu-user:
#
#   cmake -S . -B build-arm64 -G Ninja \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-linux-arm.cmake \
#         -DMMAPIO_ARM_TRIPLE=aarch64-linux-gnu      # or arm-linux-gnueabihf
#   ninja -C build-arm64 && ctest --test-dir build-arm64
#
# Needs gcc-aarch64-linux-gnu or gcc-arm-linux-gnueabihf (with their libc6
# cross packages) and qemu-user. scripts/run-tests.sh --stage aarch64 (or
# armhf) does all of that. The C tests only: no C++ compiler, and no
# SQLite or libfuse, which are installed for the host's architecture.
#
# CTest runs every test program through qemu-aarch64 / qemu-arm
# (CMAKE_CROSSCOMPILING_EMULATOR) with the cross C library as its root
# (-L). binfmt_misc is not needed, and not assumed: a test program that
# starts another ARM program by its path (or re-executes /proc/self/exe,
# which under qemu-user is qemu itself) cannot work: the tests' build gets
# MMAPIO_TEST_EMULATED (the emulator's name, tests/CMakeLists.txt), and
# tests/common/test.h's TEST_SKIP_IF_EMULATED makes those tests skip, with
# their reason, in this build only. The tool's shell-script tests start the
# tool through the emulator ($MMAPIO_TEST_EMULATOR, cli/CMakeLists.txt).
#
# qemu-user on an x86 host runs the ARM code with the host's (strong, TSO)
# memory ordering: this checks the ARM ABIs (alignment of uint64_t, size of
# long, unsigned char, 64-bit atomics on armv7), not ARM's weak ordering.

set(CMAKE_SYSTEM_NAME Linux)
set(MMAPIO_ARM_TRIPLE "aarch64-linux-gnu" CACHE STRING "ARM Linux target triple (aarch64-linux-gnu or arm-linux-gnueabihf)")
if(MMAPIO_ARM_TRIPLE MATCHES "^aarch64")
  set(CMAKE_SYSTEM_PROCESSOR aarch64)
  set(_mmapio_qemu qemu-aarch64)
else()
  set(CMAKE_SYSTEM_PROCESSOR arm)
  set(_mmapio_qemu qemu-arm)
endif()

find_program(CMAKE_C_COMPILER NAMES ${MMAPIO_ARM_TRIPLE}-gcc REQUIRED)

set(CMAKE_FIND_ROOT_PATH /usr/${MMAPIO_ARM_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

if(NOT DEFINED MMAPIO_QEMU)
  find_program(MMAPIO_QEMU NAMES ${_mmapio_qemu} ${_mmapio_qemu}-static)
endif()
if(MMAPIO_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${MMAPIO_QEMU} -L /usr/${MMAPIO_ARM_TRIPLE})
  # The emulator's name, for the tests that skip what it cannot do
  # (tests/CMakeLists.txt defines it for tests/common/test.h).
  set(MMAPIO_TEST_EMULATED ${_mmapio_qemu})
endif()
