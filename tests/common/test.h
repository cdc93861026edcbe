/*
 * test.h -- the tiny in-repo test harness. Each test file is one program and
 * one CTest entry; exit 0 = pass, 77 = skipped (SKIP_RETURN_CODE), anything
 * else = fail. Assertions print file:line, the expression and, for mmapio
 * statuses, mmapio_last_error().
 */
#ifndef MMAPIO_TEST_H
#define MMAPIO_TEST_H

#include "mmapio.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_SKIP_CODE 77

#define TEST_FAIL_(...)                                                      \
  do {                                                                       \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                          \
    fprintf(stderr, __VA_ARGS__);                                            \
    fprintf(stderr, "\n  last_error: \"%s\" (os %d)\n", mmapio_last_error(), \
            mmapio_last_os_error());                                         \
    exit(1);                                                                 \
  } while (0)

#define ASSERT(cond)                                                         \
  do { if (!(cond)) TEST_FAIL_("assertion failed: %s", #cond); } while (0)

#define ASSERT_EQ(a, b)                                                      \
  do {                                                                       \
    long long a_ = (long long)(a), b_ = (long long)(b);                     \
    if (a_ != b_) TEST_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);      \
  } while (0)

#define ASSERT_NE(a, b)                                                      \
  do {                                                                       \
    long long a_ = (long long)(a), b_ = (long long)(b);                     \
    if (a_ == b_) TEST_FAIL_("%s != %s: both %lld", #a, #b, a_);             \
  } while (0)

#define ASSERT_U64_EQ(a, b)                                                  \
  do {                                                                       \
    uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                         \
    if (a_ != b_) TEST_FAIL_("%s == %s: %" PRIu64 " != %" PRIu64, #a, #b, a_, b_); \
  } while (0)

/* Status checks: print the status name and the detail message. */
#define ASSERT_OK(expr)                                                      \
  do {                                                                       \
    int s_ = (expr);                                                         \
    if (s_ != MMAPIO_OK) TEST_FAIL_("%s returned %d (%s)", #expr, s_, mmapio_strerror(s_)); \
  } while (0)

#define ASSERT_STATUS(expr, want)                                            \
  do {                                                                       \
    int s_ = (expr), w_ = (want);                                            \
    if (s_ != w_) TEST_FAIL_("%s returned %d (%s), want %d (%s)", #expr, s_, \
                             mmapio_strerror(s_), w_, mmapio_strerror(w_));  \
  } while (0)

#define ASSERT_STREQ(a, b)                                                   \
  do {                                                                       \
    const char *a_ = (a), *b_ = (b);                                         \
    if (strcmp(a_, b_) != 0) TEST_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, a_, b_); \
  } while (0)

#define ASSERT_MEMEQ(a, b, n)                                                \
  do { if (memcmp((a), (b), (n)) != 0) TEST_FAIL_("memory differs: %s vs %s (%zu bytes)", #a, #b, (size_t)(n)); } while (0)

#define TEST_SKIP(...)                                                       \
  do { printf("SKIP: "); printf(__VA_ARGS__); printf("\n"); exit(TEST_SKIP_CODE); } while (0)

/* A unique temporary path under $TMPDIR (or the build dir): "<dir>/mmapio-<tag>-<pid>-<n>".
 * The file is not created. Free with free(). */
char *test_tmp_path(const char *tag);
/* Write `len` bytes of `data` as a new file (for fixtures). Returns 0 on success. */
int test_write_file(const char *path, const void *data, size_t len);
/* Read a whole file; *len receives its size. NULL on error. Free with free(). */
void *test_read_file(const char *path, size_t *len);
/* Remove a file, ignoring errors. */
void test_unlink(const char *path);

#endif
