# Installs the build into WORK/prefix, moves the tree to WORK/moved, then
# compiles and runs a consumer with `pkg-config --cflags --libs mmapio`.
if(NOT PKG_CONFIG)
  message("SKIPPED: pkg-config is not installed")
  return()
endif()
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

function(run_ok what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(OUT "${out}" PARENT_SCOPE)
endfunction()

run_ok("cmake --install" ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${WORK}/prefix")
# Nothing in the installed tree may depend on where it was installed.
file(RENAME "${WORK}/prefix" "${WORK}/moved")
set(P "${WORK}/moved")

foreach(f "${LIBDIR}/pkgconfig/mmapio.pc" "include/mmapio.h" "${LIBDIR}/cmake/mmapio/mmapioConfig.cmake"
          "${MANDIR}/man1/mmapio.1" "${MANDIR}/man3/mmapio.3" "${BINDIR}/mmapio")
  if(NOT EXISTS "${P}/${f}")
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()

set(ENV{PKG_CONFIG_PATH} "${P}/${LIBDIR}/pkgconfig")
run_ok("pkg-config" ${PKG_CONFIG} --cflags --libs mmapio)
string(STRIP "${OUT}" flags)
message(STATUS "pkg-config --cflags --libs mmapio: ${flags}")
string(FIND "${flags}" "-I${P}/" at)
if(at EQUAL -1)
  message(FATAL_ERROR "pkg-config does not point into the moved prefix: ${flags}")
endif()
separate_arguments(flag_list UNIX_COMMAND "${flags}")
# A sanitizer build's library needs the sanitizer runtime in the consumer.
set(san_flags "")
if(SANITIZE)
  set(san_flags "-fsanitize=${SANITIZE}")
endif()
# The build's own C flags too (-m32 in a 32-bit build of a 64-bit system).
separate_arguments(cflag_list UNIX_COMMAND "${CFLAGS}")
run_ok("compiling the consumer" ${CC} -std=c11 ${cflag_list} ${san_flags} -o "${WORK}/consumer" "${SOURCE}" ${flag_list} -lpthread)
# A shared build is found at run time through the library path; a static
# one needs nothing.
set(ENV{LD_LIBRARY_PATH} "${P}/${LIBDIR}")
run_ok("the consumer" "${WORK}/consumer" "${WORK}/consumer.bin")
message(STATUS "${OUT}")
unset(ENV{LD_LIBRARY_PATH})
# The installed tool runs without LD_LIBRARY_PATH (relative RPATH).
run_ok("the installed tool" "${P}/${BINDIR}/mmapio" --version)
message(STATUS "installed tool: ${OUT}")
file(REMOVE_RECURSE "${WORK}")
