/*
 * test_copy_fail.c -- mmapio_copy_file when the OS calls of the copy fail
 * (POSIX backend, injected through the syscall table):
 *   - the status is that of the OS error and the detail names the failing
 *     call and the file it failed on (the source for read, else the
 *     destination), e.g. "write(<dst>): No space left on device";
 *   - the source is never changed;
 *   - a destination this call created is removed again: a failed copy
 *     leaves no partial file behind;
 *   - a failure before the destination is truncated (its fstat or
 *     ftruncate) leaves an existing destination unchanged;
 *   - copy_file_range refused (EXDEV, ENOSYS, ...) falls back to read/write
 *     and the copy is exact.
 */
#include "test.h"

#if !defined(MMAPIO_TEST_HOOKS) || defined(_WIN32)
int main(void) { TEST_SKIP("needs the POSIX backend's syscall table (MMAPIO_TEST_HOOKS)"); }
#else

#include <errno.h>

static char *src, *dst;
static file_snap src_snap;
#define SRC_LEN (300u * 1024u + 17u) /* more than one read/write buffer */

static void expect_fail(const char *call, int err, const char *epath)
{
  int rc = mmapio_copy_file(src, dst);
  unsigned hits = mmapio__sys_count(call);
  mmapio__sys_reset();
  if (hits == 0) TEST_FAIL_("the copy made no %s call", call);
  ASSERT_STATUS(rc, mmapio__os_status(err));
  char want[1024];
  snprintf(want, sizeof want, "%s(%s)", call, epath);
  if (strstr(mmapio_last_error(), want) == NULL)
    TEST_FAIL_("detail \"%s\" lacks \"%s\"", mmapio_last_error(), want);
  ASSERT_EQ(mmapio_last_os_error(), err);
  ASSERT_SNAP_SAME(src, src_snap);
}

int main(void)
{
  src = mk_file("copyf-src", SRC_LEN, 21);
  dst = test_tmp_path("copyf-dst");
  src_snap = snap_take(src);

  /* The probe: does this build route the copy through the table? */
  mmapio__sys_reset();
  ASSERT_OK(mmapio_copy_file(src, dst));
  unsigned calls = mmapio__sys_count(NULL);
  mmapio__sys_reset();
  ASSERT(file_has_pattern(dst, SRC_LEN, 21));
  test_unlink(dst);
  if (calls == 0) TEST_SKIP("the backend routes no OS call through the test hooks");
  int has_cfr = 0;
  mmapio__sys_reset();
  ASSERT_OK(mmapio_copy_file(src, dst));
  has_cfr = mmapio__sys_count("copy_file_range") > 0;
  mmapio__sys_reset();
  test_unlink(dst);

  /* copy_file_range refused: the read/write loop copies exactly. */
  static const int refusals[] = {EXDEV, ENOSYS, EOPNOTSUPP, EINVAL};
  for (size_t i = 0; has_cfr && i < sizeof refusals / sizeof refusals[0]; i++) {
    mmapio__sys_fail_nth("copy_file_range", 1, refusals[i]);
    ASSERT_OK(mmapio_copy_file(src, dst));
    ASSERT(mmapio__sys_count("read") > 0);
    mmapio__sys_reset();
    ASSERT(file_has_pattern(dst, SRC_LEN, 21));
    test_unlink(dst);
  }

  /* New destination: every failure removes it again. */
  if (has_cfr) {
    mmapio__sys_fail_nth("copy_file_range", 1, ENOSPC);
    expect_fail("copy_file_range", ENOSPC, dst);
    ASSERT(!file_exists(dst));
    /* The second chunk fails, after bytes were copied. */
    mmapio__sys_fail_nth("copy_file_range", 2, EIO);
    expect_fail("copy_file_range", EIO, dst);
    ASSERT(!file_exists(dst));
  }
  if (has_cfr) mmapio__sys_fail_nth("copy_file_range", 1, EXDEV);
  mmapio__sys_fail_nth("write", 2, ENOSPC); /* after one buffer was written */
  expect_fail("write", ENOSPC, dst);
  ASSERT(!file_exists(dst));
  if (has_cfr) mmapio__sys_fail_nth("copy_file_range", 1, EXDEV);
  mmapio__sys_fail_nth("read", 2, EIO);
  expect_fail("read", EIO, src);
  ASSERT(!file_exists(dst));
  mmapio__sys_fail_nth("close", 2, EIO); /* the destination's close: a delayed write error */
  expect_fail("close", EIO, dst);
  ASSERT(!file_exists(dst));
  /* An interrupted write is retried, not reported. */
  if (has_cfr) mmapio__sys_fail_nth("copy_file_range", 1, EXDEV);
  mmapio__sys_fail_nth("write", 1, EINTR);
  ASSERT_OK(mmapio_copy_file(src, dst));
  mmapio__sys_reset();
  ASSERT(file_has_pattern(dst, SRC_LEN, 21));
  test_unlink(dst);

  /* Existing destination: a failure before it is truncated changes nothing. */
  uint8_t old[1000];
  pat_fill(old, sizeof old, 0, 22);
  ASSERT_EQ(test_write_file(dst, old, sizeof old), 0);
  file_snap dst_snap = snap_take(dst);
  mmapio__sys_fail_nth("fstat", 2, EIO); /* the destination's fstat */
  expect_fail("fstat", EIO, dst);
  ASSERT_SNAP_SAME(dst, dst_snap);
  mmapio__sys_fail_nth("ftruncate", 1, EIO);
  expect_fail("ftruncate", EIO, dst);
  ASSERT_SNAP_SAME(dst, dst_snap);
  /* A failure while copying is reported and the destination stays (it is
   * the caller's file). */
  if (has_cfr) mmapio__sys_fail_nth("copy_file_range", 1, EXDEV);
  mmapio__sys_fail_nth("write", 2, ENOSPC);
  expect_fail("write", ENOSPC, dst);
  ASSERT(file_exists(dst));
  /* And the copy works once the OS does. */
  ASSERT_OK(mmapio_copy_file(src, dst));
  ASSERT(file_has_pattern(dst, SRC_LEN, 21));
  snap_free(&dst_snap);

  snap_free(&src_snap);
  test_unlink(src);
  test_unlink(dst);
  free(src);
  free(dst);
  printf("ok\n");
  return 0;
}
#endif
