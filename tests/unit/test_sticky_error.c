/*
 * test_sticky_error.c -- sticky write-back errors with injected failures of
 * the OS flush calls, on every platform (POSIX: msync / fsync; Windows:
 * FlushViewOfFile / FlushFileBuffers). The FUSE tests (tests/fuse/) show
 * the same against a file system that really fails; this one also runs
 * under Wine.
 *   - the first failure is returned as the OS call's failure;
 *   - later flushes, flush_range and policy flushes return it again although
 *     the OS call now succeeds, with the range and the original message;
 *   - mmapio_flush_error / mmapio_pending_bytes tell the truth;
 *   - mmapio_clear_error acknowledges it; argument checks.
 */
#include "internal.h"
#include "test.h"

#ifdef _WIN32
#  define FLUSH_CALL "FlushViewOfFile"
#  define SYNC_CALL "FlushFileBuffers"
#  define IO_ERR 1117 /* ERROR_IO_DEVICE */
#else
#  include <errno.h>
#  define FLUSH_CALL "msync"
#  define SYNC_CALL "fsync"
#  define IO_ERR EIO
#endif

static void run(const char *call, mmapio_durability d, mmapio_flush_kind kind)
{
  char *p = test_tmp_path("sticky");
  size_t ps = mmapio_page_size();
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE;
  o.size = 4 * ps;
  o.durability = d;
  o.flush_policy.kind = kind;
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_OK(mmapio_flush_error(m, NULL, NULL));
  ASSERT_OK(mmapio_write(m, ps, "abc", 3));
  mmapio__sys_reset();
  mmapio__sys_fail_nth(call, 1, IO_ERR);
  int rc = kind == MMAPIO_FLUSH_ALWAYS ? mmapio_write(m, ps, "abd", 3) : mmapio_flush(m);
  ASSERT(rc != MMAPIO_OK);
  ASSERT_EQ(mmapio_last_os_error(), IO_ERR);
  char first[512];
  snprintf(first, sizeof first, "%s", mmapio_last_error());
  uint64_t off = 1, len = 1;
  ASSERT_STATUS(mmapio_flush_error(m, &off, &len), rc);
  ASSERT_U64_EQ(off, 0);
  ASSERT_U64_EQ(len, 4 * ps);
  ASSERT(mmapio_pending_bytes(m) != 0);
  /* The OS calls succeed now; the failure is still reported. */
  ASSERT_STATUS(mmapio_flush(m), rc);
  ASSERT_EQ(mmapio_last_os_error(), IO_ERR);
  ASSERT(strstr(mmapio_last_error(), first) != NULL);
  ASSERT(strstr(mmapio_last_error(), "[0, ") != NULL);
  ASSERT_STATUS(mmapio_flush_range(m, 0, 1), rc);
  ASSERT_STATUS(mmapio_flush_range(m, 0, 0), MMAPIO_OK); /* zero-length: no-op */
  ASSERT_STATUS(mmapio_flush_range(m, 4 * ps, 1), MMAPIO_EBOUNDS);
  if (kind != MMAPIO_FLUSH_MANUAL) ASSERT_STATUS(mmapio_write(m, 0, "z", 1), rc);
  ASSERT(mmapio__sys_count(call) >= 2); /* the retries reached the OS */
  ASSERT_OK(mmapio_clear_error(m));
  ASSERT_OK(mmapio_flush_error(m, &off, &len));
  ASSERT_OK(mmapio_flush(m));
  if (kind == MMAPIO_FLUSH_MANUAL) ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
  ASSERT_OK(mmapio_close(m));
  mmapio__sys_reset();

  /* Unacknowledged at close: close returns it (MANUAL policy too). */
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_OK(mmapio_write(m, 0, "q", 1));
  mmapio__sys_fail_nth(call, 1, IO_ERR);
  rc = kind == MMAPIO_FLUSH_ALWAYS ? mmapio_write(m, 0, "r", 1) : mmapio_flush(m);
  ASSERT(rc != MMAPIO_OK);
  ASSERT_STATUS(mmapio_close(m), rc);
  mmapio__sys_reset();
  test_unlink(p);
  free(p);
}

int main(void)
{
  ASSERT_STATUS(mmapio_clear_error(NULL), MMAPIO_EINVAL);
  ASSERT_OK(mmapio_flush_error(NULL, NULL, NULL));
  run(FLUSH_CALL, MMAPIO_DURABLE_DATA, MMAPIO_FLUSH_MANUAL);
  run(FLUSH_CALL, MMAPIO_DURABLE_DATA, MMAPIO_FLUSH_ALWAYS);
#ifdef _WIN32
  run(SYNC_CALL, MMAPIO_DURABLE_DATA, MMAPIO_FLUSH_MANUAL);
#else
  run(SYNC_CALL, MMAPIO_DURABLE_FULL, MMAPIO_FLUSH_MANUAL);
#endif
  /* Anonymous and read-only maps have nothing to write back. */
  mmapio_map *a = NULL;
  ASSERT_OK(mmapio_anon(&a, 4096, 0));
  ASSERT_OK(mmapio_flush(a));
  ASSERT_OK(mmapio_flush_error(a, NULL, NULL));
  ASSERT_OK(mmapio_clear_error(a));
  ASSERT_OK(mmapio_close(a));
  printf("ok\n");
  return 0;
}
