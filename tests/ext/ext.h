/*
 * ext.h -- helpers shared by the tests of the byte buffers, reader, async
 * tasks and watches (tests/ext). Header-only: each test is one program.
 */
#ifndef MMAPIO_TEST_EXT_H
#define MMAPIO_TEST_EXT_H

#include "test.h"

#include <stdint.h>

/* Byte i of the pattern `seed` at absolute offset `off + i`. */
static inline uint8_t ext_pat(uint64_t pos, unsigned seed)
{
  return (uint8_t)((pos * 131u + seed * 7u + (pos >> 8)) & 0xffu);
}

static inline void ext_fill(uint8_t *p, size_t n, uint64_t off, unsigned seed)
{
  for (size_t i = 0; i < n; i++) p[i] = ext_pat(off + i, seed);
}

static inline int ext_check(const uint8_t *p, size_t n, uint64_t off, unsigned seed)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != ext_pat(off + i, seed)) return 0;
  return 1;
}

/* A new file of `n` pattern bytes; returns its path (free() it). */
static inline char *ext_make_file(const char *tag, size_t n, unsigned seed)
{
  char *path = test_tmp_path(tag);
  uint8_t *buf = (uint8_t *)malloc(n > 0 ? n : 1);
  ASSERT(buf != NULL);
  ext_fill(buf, n, 0, seed);
  ASSERT_EQ(test_write_file(path, buf, n), 0);
  free(buf);
  return path;
}

/* The exact EBOUNDS detail of include/mmapio.h section 2. */
#define EXT_ASSERT_BOUNDS(expr, off, len, total)                                        \
  do {                                                                                  \
    char want_[160];                                                                    \
    ASSERT_STATUS((expr), MMAPIO_EBOUNDS);                                              \
    snprintf(want_, sizeof want_, "range out of bounds: offset=%llu, len=%llu, total=%llu", \
             (unsigned long long)(off), (unsigned long long)(len),                      \
             (unsigned long long)(total));                                              \
    ASSERT_STREQ(mmapio_last_error(), want_);                                           \
  } while (0)

#endif
