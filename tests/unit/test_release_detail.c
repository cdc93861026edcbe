/*
 * test_release_detail.c -- a release that cannot fail (segment, byte
 * buffer, task, watch) and drops the map's last reference destroys the map;
 * that destruction's final flush is not reported (include/mmapio.h,
 * mmapio_close), so it must not replace the calling thread's detail
 * message or OS error either (mmapio_last_error: the text of the thread's
 * last failing call). The final flush's failure is injected into the OS
 * flush call (platform.h "Test hooks").
 */
#include "internal.h"
#include "test.h"

#ifdef _WIN32
#  define FLUSH_CALL "FlushViewOfFile"
#  define IO_ERR 1117 /* ERROR_IO_DEVICE */
#else
#  include <errno.h>
#  define FLUSH_CALL "msync"
#  define IO_ERR EIO
#endif

static size_t ps;

/* A map whose close flushes (policy not MANUAL), with unflushed bytes. */
static mmapio_map *open_dirty(const char *p)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE;
  o.size = 4 * ps;
  o.flush_policy.kind = MMAPIO_FLUSH_EVERY_BYTES;
  o.flush_policy.every = 1u << 30;
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_OK(mmapio_write(m, ps, "abc", 3));
  return m;
}

/* A failing call whose detail message and OS error are known. */
static void known_failure(const char *missing, char *msg, size_t n, int *os)
{
  mmapio_map *x = NULL;
  ASSERT_STATUS(mmapio_open_ro(&x, missing), MMAPIO_ENOENT);
  snprintf(msg, n, "%s", mmapio_last_error());
  *os = mmapio_last_os_error();
  ASSERT(msg[0] != '\0');
  ASSERT(*os != 0);
}

int main(void)
{
  ps = mmapio_page_size();
  char *p = test_tmp_path("reldetail");
  char *missing = test_tmp_path("reldetail-missing");
  char msg[512];
  int os = 0;

  /* Segment release drops the last reference. */
  mmapio_map *m = open_dirty(p);
  mmapio_segment seg;
  ASSERT_OK(mmapio_segment_init(&seg, m, 0, 16));
  ASSERT_OK(mmapio_close(m)); /* the segment's reference remains */
  known_failure(missing, msg, sizeof msg, &os);
  mmapio__sys_reset();
  mmapio__sys_fail_nth(FLUSH_CALL, 1, IO_ERR);
  mmapio_segment_release(&seg);
  unsigned flushes = mmapio__sys_count(FLUSH_CALL);
  mmapio__sys_reset();
  if (flushes == 0) TEST_SKIP("the backend routes no flush through the test hooks");
  ASSERT_STREQ(mmapio_last_error(), msg);
  ASSERT_EQ(mmapio_last_os_error(), os);

#if MMAPIO_WITH_ASYNC
  /* A finished task's free, likewise (the task retains the map). */
  m = open_dirty(p);
  mmapio_task *t = NULL;
  ASSERT_OK(mmapio_flush_async(&t, m));
  ASSERT_OK(mmapio_task_wait(t, -1));
  ASSERT_OK(mmapio_write(m, ps, "def", 3));
  ASSERT_OK(mmapio_close(m));
  known_failure(missing, msg, sizeof msg, &os);
  mmapio__sys_reset();
  mmapio__sys_fail_nth(FLUSH_CALL, 1, IO_ERR);
  mmapio_task_free(t);
  flushes = mmapio__sys_count(FLUSH_CALL);
  mmapio__sys_reset();
  ASSERT(flushes > 0);
  ASSERT_STREQ(mmapio_last_error(), msg);
  ASSERT_EQ(mmapio_last_os_error(), os);
#endif

  test_unlink(p);
  free(p);
  free(missing);
  printf("release_detail: OK\n");
  return 0;
}
