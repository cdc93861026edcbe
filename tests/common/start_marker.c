/*
 * start_marker.c -- proof that a program started, for the programs CTest
 * runs that do not include tests/common/test.h (the examples, the test copy
 * of the mmapio tool, the benchmark smoke test, the README snippets, the C++
 * tests). cmake/start-marker.cmake links this file into them; it is never
 * part of the library or of an installed program.
 *
 * When MMAPIO_TEST_START_MARKER names a file, a constructor creates it
 * (empty) before main() runs; when the variable is unset or empty it does
 * nothing. scripts/wine-run.sh, which starts the Windows cross build's
 * programs under Wine, uses the file to tell "Wine exited before the program
 * started" (retried) from the program's own exit status (passed on as is).
 * The program's behaviour is unchanged: no output, errno as it was, and a
 * marker that cannot be created is simply missing (the launcher then treats
 * the run as never started).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(__GNUC__) || defined(__clang__)
__attribute__((constructor, used)) static void mmapio_start_marker_(void)
{
  int saved = errno;
  const char *f = getenv("MMAPIO_TEST_START_MARKER");
  if (f != NULL && *f != '\0') {
    FILE *fp = fopen(f, "w");
    if (fp != NULL) fclose(fp);
  }
  errno = saved;
}
#else
/* No constructor without GCC or Clang; ISO C wants a declaration. */
typedef int mmapio_start_marker_unused_;
#endif
