/*
 * start_marker.c -- the start marker (tests/common/start_marker.h) for the
 * programs CTest runs that do not include tests/common/test.h: the
 * examples, the test copy of the mmapio tool, the benchmark smoke test, the
 * README snippets, the C++ tests. cmake/start-marker.cmake links this file
 * into them; it is never part of the library or of an installed program.
 */
#include "start_marker.h"

/* ISO C wants a declaration in every translation unit. */
typedef int mmapio_start_marker_unit_;
