/*
 * test_sticky_paths.c -- a write-back failure that the application did not
 * see itself must stay reported until it acknowledges it
 * (include/mmapio.h, "Sticky write-back errors"): failures of the
 * background flusher (EVERY_MILLIS), of an async flush, of flush_range, of
 * a mut-view release's policy flush and of a DURABLE_NONE flush are all
 * returned by the next mmapio_flush and by mmapio_close, with
 * mmapio_flush_error telling the status and mmapio_pending_bytes never 0.
 * The failures are injected into the OS flush call (platform.h "Test hooks").
 */
#include "internal.h"
#include "test.h"

#ifdef _WIN32
#  define FLUSH_CALL "FlushViewOfFile"
#  define NONE_CALL "FlushViewOfFile"
#  define IO_ERR 1117 /* ERROR_IO_DEVICE */
#  define IO_ERR2 112 /* ERROR_DISK_FULL */
#else
#  include <errno.h>
#  define FLUSH_CALL "msync"
#  define NONE_CALL NULL /* msync(MS_ASYNC) or sync_file_range: whichever comes first */
#  define IO_ERR EIO
#  define IO_ERR2 ENOSPC
#endif

static size_t ps;

static mmapio_map *open_map(const char *p, mmapio_flush_kind kind, uint64_t every,
                            mmapio_durability d)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE;
  o.size = 4 * ps;
  o.flush_policy.kind = kind;
  o.flush_policy.every = every;
  o.durability = d;
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open(&m, p, &o));
  return m;
}

/* The map holds an unacknowledged failure with status `st`: every flush
 * path reports it although the OS calls succeed now, close too. */
static void check_sticky(mmapio_map *m, int st, const char *what)
{
  if (st == MMAPIO_OK) TEST_FAIL_("%s: the failure was not recorded", what);
  ASSERT_STATUS(mmapio_flush_error(m, NULL, NULL), st);
  ASSERT(mmapio_pending_bytes(m) != 0);
  ASSERT_STATUS(mmapio_flush(m), st);
  ASSERT_STATUS(mmapio_flush(m), st); /* still, until acknowledged */
  ASSERT_STATUS(mmapio_flush_range(m, 0, 1), st);
  ASSERT(mmapio_pending_bytes(m) != 0);
  ASSERT_STATUS(mmapio_close(m), st);
}

static void run_background(void)
{
  char *p = test_tmp_path("sticky-bg");
  mmapio_map *m = open_map(p, MMAPIO_FLUSH_EVERY_MILLIS, 1, MMAPIO_DURABLE_DATA);
  mmapio__sys_reset();
  mmapio__sys_fail_nth(FLUSH_CALL, 1, IO_ERR);
  ASSERT_OK(mmapio_write(m, ps, "abc", 3));
  /* The flusher runs by itself; wait (no timing decides the result) until
   * it has met the failure. */
  uint64_t t0 = now_ms();
  int st = MMAPIO_OK;
  while ((st = mmapio_flush_error(m, NULL, NULL)) == MMAPIO_OK && now_ms() - t0 < POLL_DEADLINE_MS)
    sleep_ms(1);
  mmapio__sys_reset();
  check_sticky(m, st, "background flusher");
  test_unlink(p);
  free(p);
}

static void run_async(void)
{
  if (!mmapio_has_feature(MMAPIO_FEATURE_ASYNC)) return;
  char *p = test_tmp_path("sticky-async");
  mmapio_map *m = open_map(p, MMAPIO_FLUSH_MANUAL, 0, MMAPIO_DURABLE_DATA);
  ASSERT_OK(mmapio_write(m, ps, "abc", 3));
  mmapio__sys_reset();
  mmapio__sys_fail_nth(FLUSH_CALL, 1, IO_ERR);
  mmapio_task *t = NULL;
  ASSERT_OK(mmapio_flush_async(&t, m));
  int st = mmapio_task_wait(t, -1);
  mmapio_task_free(t);
  mmapio__sys_reset();
  ASSERT(st != MMAPIO_OK);
  check_sticky(m, st, "mmapio_flush_async");
  test_unlink(p);
  free(p);
}

static void run_range(void)
{
  char *p = test_tmp_path("sticky-range");
  mmapio_map *m = open_map(p, MMAPIO_FLUSH_MANUAL, 0, MMAPIO_DURABLE_DATA);
  ASSERT_OK(mmapio_write(m, 2 * ps, "abc", 3));
  mmapio__sys_reset();
  mmapio__sys_fail_nth(FLUSH_CALL, 1, IO_ERR);
  int st = mmapio_flush_range(m, 2 * ps, 3);
  mmapio__sys_reset();
  ASSERT(st != MMAPIO_OK);
  uint64_t off = 0, len = 0;
  ASSERT_STATUS(mmapio_flush_error(m, &off, &len), st);
  ASSERT(off <= 2 * ps && off + len >= 2 * ps + 3); /* the failed range covers the write */
  char first[512];
  snprintf(first, sizeof first, "%s", mmapio_last_error());
  /* A second failure, of another range and with another error, before the
   * first was acknowledged: the status and message stay the first's, the
   * range grows to cover both. */
  mmapio__sys_fail_nth(FLUSH_CALL, 1, IO_ERR2);
  ASSERT_STATUS(mmapio_flush_range(m, 0, 1), st);
  mmapio__sys_reset();
  ASSERT(strstr(mmapio_last_error(), first) != NULL);
  ASSERT_EQ(mmapio_last_os_error(), IO_ERR);
  uint64_t off2 = 1, len2 = 0;
  ASSERT_STATUS(mmapio_flush_error(m, &off2, &len2), st);
  ASSERT_U64_EQ(off2, 0);
  ASSERT_U64_EQ(off2 + len2, off + len);
  mmapio__sys_fail_nth(FLUSH_CALL, 1, IO_ERR2);
  ASSERT_STATUS(mmapio_flush_range(m, 3 * ps, ps), st);
  mmapio__sys_reset();
  ASSERT_STATUS(mmapio_flush_error(m, &off2, &len2), st);
  ASSERT_U64_EQ(off2, 0);
  ASSERT_U64_EQ(len2, 4 * ps);
  check_sticky(m, st, "mmapio_flush_range");
  test_unlink(p);
  free(p);
}

static void run_view_release(void)
{
  char *p = test_tmp_path("sticky-view");
  mmapio_map *m = open_map(p, MMAPIO_FLUSH_ALWAYS, 0, MMAPIO_DURABLE_DATA);
  mmapio_view_mut v;
  ASSERT_OK(mmapio_view_get_mut(&v, m, ps, 8));
  memcpy(v.data, "12345678", 8);
  mmapio__sys_reset();
  mmapio__sys_fail_nth(FLUSH_CALL, 1, IO_ERR);
  int st = mmapio_view_mut_release(&v);
  mmapio__sys_reset();
  ASSERT(st != MMAPIO_OK);
  /* The bytes are in the map all the same. */
  uint8_t b[8];
  ASSERT_OK(mmapio_read(m, ps, b, 8));
  ASSERT_MEMEQ(b, "12345678", 8);
  check_sticky(m, st, "mmapio_view_mut_release");
  test_unlink(p);
  free(p);
}

static void run_none(void)
{
  char *p = test_tmp_path("sticky-none");
  mmapio_map *m = open_map(p, MMAPIO_FLUSH_MANUAL, 0, MMAPIO_DURABLE_NONE);
  ASSERT_OK(mmapio_write(m, ps, "abc", 3));
  mmapio__sys_reset();
  mmapio__sys_fail_nth(NONE_CALL, 1, IO_ERR);
  int st = mmapio_flush(m);
  unsigned calls = mmapio__sys_count(NONE_CALL);
  mmapio__sys_reset();
  if (calls == 0) { /* this build's DURABLE_NONE flush makes no OS call */
    ASSERT_OK(st);
    ASSERT_OK(mmapio_close(m));
  } else {
    ASSERT(st != MMAPIO_OK);
    check_sticky(m, st, "DURABLE_NONE flush");
  }
  test_unlink(p);
  free(p);
}

int main(void)
{
  ps = mmapio_page_size();
  /* Without hooks nothing can be injected. */
  char *p = test_tmp_path("sticky-probe");
  mmapio_map *m = open_map(p, MMAPIO_FLUSH_MANUAL, 0, MMAPIO_DURABLE_DATA);
  mmapio__sys_reset();
  ASSERT_OK(mmapio_flush(m));
  unsigned n = mmapio__sys_count(NULL);
  ASSERT_OK(mmapio_close(m));
  test_unlink(p);
  free(p);
  if (n == 0) TEST_SKIP("the backend routes no OS call through the test hooks");

  run_range();
  run_view_release();
  run_async();
  run_none();
  run_background();
  printf("ok\n");
  return 0;
}
