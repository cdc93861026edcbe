/*
 * example_util.h -- the two helpers every example needs and that have
 * nothing to do with mmapio: a unique temporary file name, and a way to
 * report a failed call. Kept apart so that the examples show only the
 * library's API.
 */
#ifndef MMAPIO_EXAMPLE_UTIL_H
#define MMAPIO_EXAMPLE_UTIL_H

#include "mmapio.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef _WIN32
#  include <process.h>
#  define example_getpid() ((unsigned long)_getpid())
#else
#  include <unistd.h>
#  define example_getpid() ((unsigned long)getpid())
#endif

/* Exit code that CTest treats as "skipped": used when a feature the
 * example needs is compiled out of this build of the library. */
#define EXAMPLE_SKIP 77

#if defined(__GNUC__) || defined(__clang__)
#  define EXAMPLE_UNUSED __attribute__((unused))
#else
#  define EXAMPLE_UNUSED
#endif

/* Writes "<temp dir>/mmapio-example-<pid>-<name>" into buf. */
EXAMPLE_UNUSED static void example_temp_path(char *buf, size_t n, const char *name)
{
  const char *dir = getenv("TMPDIR");
#ifdef _WIN32
  if (dir == NULL || dir[0] == '\0')
    dir = getenv("TEMP");
  if (dir == NULL || dir[0] == '\0')
    dir = ".";
#else
  if (dir == NULL || dir[0] == '\0')
    dir = "/tmp";
#endif
  snprintf(buf, n, "%s/mmapio-example-%lu-%s", dir, example_getpid(), name);
}

/* Prints what failed with the library's detail message, e.g.
 * "mmapio_open_rw: open(/tmp/x): No such file or directory". */
EXAMPLE_UNUSED static int example_fail(const char *what, int status)
{
  fprintf(stderr, "%s failed: %s (%s)\n", what, mmapio_strerror(status), mmapio_last_error());
  return 1;
}

#endif /* MMAPIO_EXAMPLE_UTIL_H */
