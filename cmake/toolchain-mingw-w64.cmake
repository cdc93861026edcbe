# Cross-compile mmapio for 64-bit Windows with MinGW-w64 and run the tests
# under Wine:
#
#   cmake -S . -B build-win -G Ninja \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-mingw-w64.cmake
#   ninja -C build-win && ctest --test-dir build-win
#
# scripts/test-wine.sh does all of that (and prepares the Wine prefix).
# MINGW_TRIPLE selects another target (i686-w64-mingw32 for 32-bit).

set(CMAKE_SYSTEM_NAME Windows)
set(MINGW_TRIPLE "x86_64-w64-mingw32" CACHE STRING "MinGW-w64 target triple")
if(MINGW_TRIPLE MATCHES "^i[3-6]86")
  set(CMAKE_SYSTEM_PROCESSOR x86)
else()
  set(CMAKE_SYSTEM_PROCESSOR x86_64)
endif()

find_program(CMAKE_C_COMPILER NAMES ${MINGW_TRIPLE}-gcc ${MINGW_TRIPLE}-gcc-win32 ${MINGW_TRIPLE}-gcc-posix REQUIRED)
# C++ only for the C++ header's tests and example (mmapio.hpp); optional.
find_program(CMAKE_CXX_COMPILER NAMES ${MINGW_TRIPLE}-g++ ${MINGW_TRIPLE}-g++-win32 ${MINGW_TRIPLE}-g++-posix)
find_program(CMAKE_RC_COMPILER NAMES ${MINGW_TRIPLE}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The printf family of msvcrt.dll does not know %zu (and older versions not
# %llu); MinGW's own C99 implementation does, and GCC then checks formats
# against it. The library's detail messages rely on both.
set(CMAKE_C_FLAGS_INIT "-D__USE_MINGW_ANSI_STDIO=1")
set(CMAKE_CXX_FLAGS_INIT "-D__USE_MINGW_ANSI_STDIO=1")

# Link libgcc and winpthread statically: the .exe files then need no MinGW
# DLL next to them, under Wine or when copied to a Windows machine.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -static-libgcc")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc")

# CTest runs every test executable through Wine, by way of
# scripts/wine-run.sh: it checks that the program really started (a start
# marker, which every program CTest runs creates: tests/common/test.h or
# cmake/start-marker.cmake), so a rare Wine start-up failure (Wine exits in
# a few milliseconds, silently, before the program ran) is reported as such
# and started again instead of counting as a test failure; a program that
# started is never run twice. The tool's test scripts (tests/cli/*.cmake)
# run the tool through the same command. WINEDEBUG=-all keeps Wine's "fixme"
# chatter out of the test output; the prefix lives in the build directory
# (or $WINEPREFIX at configure time) so tests never touch ~/.wine.
if(NOT DEFINED MMAPIO_WINE)
  if(CMAKE_SYSTEM_PROCESSOR STREQUAL "x86")
    find_program(MMAPIO_WINE NAMES wine /usr/lib/wine/wine)
  else()
    find_program(MMAPIO_WINE NAMES wine64 /usr/lib/wine/wine64 /usr/lib64/wine/wine64 wine
                 PATHS /usr/lib/wine /usr/lib64/wine /opt/wine-stable/bin)
  endif()
endif()
if(MMAPIO_WINE)
  if(DEFINED ENV{WINEPREFIX} AND NOT "$ENV{WINEPREFIX}" STREQUAL "")
    set(MMAPIO_WINEPREFIX "$ENV{WINEPREFIX}" CACHE PATH "Wine prefix used by CTest")
  else()
    set(MMAPIO_WINEPREFIX "${CMAKE_BINARY_DIR}/wineprefix" CACHE PATH "Wine prefix used by CTest")
  endif()
  get_filename_component(_mmapio_wine_run "${CMAKE_CURRENT_LIST_DIR}/../scripts/wine-run.sh" ABSOLUTE)
  set(CMAKE_CROSSCOMPILING_EMULATOR
      /usr/bin/env WINEDEBUG=-all WINEPREFIX=${MMAPIO_WINEPREFIX}
      /bin/sh ${_mmapio_wine_run} ${MMAPIO_WINE})
endif()
