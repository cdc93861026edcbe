/*
 * start_marker.h -- proof that a program started, for scripts/wine-run.sh.
 *
 * When MMAPIO_TEST_START_MARKER names a file, a constructor creates it
 * (empty) before main() runs; when the variable is unset or empty it does
 * nothing. The launcher, which starts the Windows cross build's programs
 * under Wine, uses the file to tell "Wine exited before the program
 * started" (started again) from the program's own exit status (passed on
 * as is). The program's behaviour is unchanged: no output, errno as it
 * was, and a marker that cannot be created is simply missing (the launcher
 * then treats the run as never started).
 *
 * Included by tests/common/test.h (every test program) and compiled alone
 * as tests/common/start_marker.c for the other programs CTest runs
 * (cmake/start-marker.cmake).
 */
#ifndef MMAPIO_TEST_START_MARKER_H
#define MMAPIO_TEST_START_MARKER_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(__GNUC__) || defined(__clang__)
__attribute__((constructor, used)) static void mmapio_test_start_marker_(void)
{
  int saved = errno;
  const char *f = getenv("MMAPIO_TEST_START_MARKER");
  if (f != NULL && *f != '\0') {
    FILE *fp = fopen(f, "w");
    if (fp != NULL) fclose(fp);
  }
  errno = saved;
}
#endif

#endif /* MMAPIO_TEST_START_MARKER_H */
