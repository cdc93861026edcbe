# cmake/start-marker.cmake -- start markers for the programs CTest runs.
#
# In the Windows cross build CTest starts every program through Wine by way
# of scripts/wine-run.sh. Wine rarely exits before the program's own code
# ran; the launcher tells that apart from a result by a start marker: with
# MMAPIO_WINE_EXPECT_MARKER=1 it passes the program the name of a file in
# MMAPIO_TEST_START_MARKER, starts Wine again only while that file was not
# created, and never reruns a program that started.
#
# The tier tests create the marker through tests/common/test.h. Every other
# program CTest runs is given tests/common/start_marker.c here:
#
#   mmapio_start_marker(<target>...)         links the marker into programs
#   mmapio_expect_start_marker(<test>...)    sets MMAPIO_WINE_EXPECT_MARKER=1
#                                            (and the marker's directory)
#
# Only programs that exist to be run by the tests get the marker (examples,
# the benchmark smoke test, the README snippets, a test copy of the tool):
# the library and the installed programs never carry it, so a user's
# `cmake --install` gets no test code. Both functions do nothing without
# MMAPIO_BUILD_TESTS. Native builds link the marker too (it does nothing
# while the variable is unset), so tests/launcher checks these very
# programs natively.

if(MMAPIO_BUILD_TESTS AND NOT TARGET mmapio_start_marker)
  add_library(mmapio_start_marker OBJECT "${PROJECT_SOURCE_DIR}/tests/common/start_marker.c")
  target_compile_options(mmapio_start_marker PRIVATE ${MMAPIO_WARNINGS})
endif()
# The launcher creates the marker next to the tests' files
# (MMAPIO_TEST_TMPDIR of tests/CMakeLists.txt).
set(MMAPIO_START_MARKER_DIR "${PROJECT_BINARY_DIR}/tests/tmp")

function(mmapio_start_marker)
  if(NOT MMAPIO_BUILD_TESTS)
    return()
  endif()
  foreach(_t IN LISTS ARGN)
    target_link_libraries(${_t} PRIVATE mmapio_start_marker)
  endforeach()
endfunction()

function(mmapio_expect_start_marker)
  file(MAKE_DIRECTORY "${MMAPIO_START_MARKER_DIR}")
  foreach(_t IN LISTS ARGN)
    set_property(TEST ${_t} APPEND PROPERTY ENVIRONMENT
      "MMAPIO_TEST_TMPDIR=${MMAPIO_START_MARKER_DIR}" "MMAPIO_WINE_EXPECT_MARKER=1")
  endforeach()
endfunction()
