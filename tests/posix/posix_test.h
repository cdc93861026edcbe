/*
 * posix_test.h -- helpers shared by the white-box tests of the POSIX backend
 * (tests/posix/test_*.c). They call the mmapio__os_* contract directly and
 * use the syscall hooks of platform.h.
 */
#ifndef MMAPIO_POSIX_TEST_H
#define MMAPIO_POSIX_TEST_H

#include "test.h"
#include "internal.h"
#include "posix/posix_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ASSERT_MSG_HAS(needle)                                                  \
  do {                                                                          \
    if (strstr(mmapio_last_error(), (needle)) == NULL)                          \
      TEST_FAIL_("last error does not contain \"%s\"", (needle));               \
  } while (0)

/* 1 when the library has the syscall hooks (MMAPIO_TEST_HOOKS); otherwise
 * prints that `what` is not tested and returns 0, and the caller returns. */
static inline int have_hooks(const char *what)
{
#if MMAPIO__HOOKS
  (void)what;
  return 1;
#else
  printf("note: built without MMAPIO_TEST_HOOKS, %s not tested\n", what);
  return 0;
#endif
}

static inline uint64_t fd_size(int fd)
{
  struct stat st;
  if (fstat(fd, &st) != 0) TEST_FAIL_("fstat: %s", strerror(errno));
  return (uint64_t)st.st_size;
}

static inline uint64_t fd_blocks_bytes(int fd)
{
  struct stat st;
  if (fstat(fd, &st) != 0) TEST_FAIL_("fstat: %s", strerror(errno));
  return (uint64_t)st.st_blocks * 512u;
}

static inline uint64_t pg(void) { return (uint64_t)mmapio__os_page_size(); }

/* 1 when every byte of [p, p+n) is zero. */
static inline int all_zero(const uint8_t *p, uint64_t n)
{
  for (uint64_t i = 0; i < n; i++)
    if (p[i] != 0) return 0;
  return 1;
}

/* A deterministic byte pattern that differs from zero everywhere. */
static inline uint8_t pat(uint64_t i) { return (uint8_t)(1u + (i * 7u + (i >> 9)) % 251u); }

static inline void fill_pat(uint8_t *p, uint64_t n)
{
  for (uint64_t i = 0; i < n; i++) p[i] = pat(i);
}

static inline int check_pat(const uint8_t *p, uint64_t n)
{
  for (uint64_t i = 0; i < n; i++)
    if (p[i] != pat(i)) return 0;
  return 1;
}

#endif
