/*
 * test_sticky.c -- write-back errors are sticky, on a file system that
 * really fails (tests/fuse/faultfs.c).
 *
 * On Linux a failed write-back marks the pages clean and reports the error
 * once; a retried msync then succeeds although the bytes never reached the
 * file. For every path that writes back -- mmapio_flush, mmapio_flush_range,
 * the ALWAYS / EVERY_BYTES / EVERY_WRITES policies, the EVERY_MILLIS
 * background flusher, an async flush and the final flush of close -- this
 * checks that once the file server refused a write:
 *   - every later flush / flush_range / close returns the failure (status,
 *     the failed range, the original OS message), even after the server
 *     works again, until mmapio_clear_error;
 *   - mmapio_flush_error and mmapio_pending_bytes say so;
 *   - recovery: the pages of the failed range that were still in memory
 *     were dirtied again, so the retried flush really delivered them (the
 *     server holds the new bytes), while still reporting the failure;
 *   - after the final flush of close failed, the server holds the old bytes
 *     (nothing was claimed durable), and after clear_error + rewrite +
 *     flush it holds the new ones.
 */
#if !defined(__linux__)
#include "test.h"
int main(void) { TEST_SKIP("FUSE tests need Linux"); }
#else
#include "fusetest.h"

static size_t ps;
static uint8_t *pat_a, *pat_b;
static unsigned round_no;

/* A fresh 4-page file on the FUSE mount holding pattern A, flushed, and a
 * map of it with the given policy. */
static mmapio_map *open_fresh(const char *name, mmapio_flush_kind kind, uint64_t every)
{
  char *p = fusetest_path(name);
  char *bp = fusetest_backing(name);
  ASSERT_EQ(test_write_file(bp, pat_a, 4 * ps), 0);
  mmapio_options o;
  mmapio_options_init(&o);
  o.flush_policy.kind = kind;
  o.flush_policy.every = every;
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT(fusetest_backing_has(name, 0, pat_a, 4 * ps));
  free(p);
  free(bp);
  return m;
}

/* After the first failure: sticky until cleared, even with the server fine. */
static void check_sticky(mmapio_map *m, const char *name, int want)
{
  fusetest_ctl("clear");
  uint64_t off = 99, len = 99;
  ASSERT_STATUS(mmapio_flush_error(m, &off, &len), want);
  ASSERT(len > 0 && off % ps == 0 && len % ps == 0);
  ASSERT(off <= ps && off + len >= 2 * ps); /* covers page 1, where B was written */
  ASSERT(mmapio_pending_bytes(m) != 0);
  /* The plain retry: the server now works and msync would say OK. */
  ASSERT_STATUS(mmapio_flush(m), want);
  ASSERT(strstr(mmapio_last_error(), "earlier write-back failed") != NULL);
  ASSERT(strstr(mmapio_last_error(), "Input/output error") != NULL ||
         strstr(mmapio_last_error(), "No space left") != NULL);
  ASSERT_EQ(mmapio_last_os_error() != 0, 1);
  ASSERT_STATUS(mmapio_flush_range(m, ps, 1), want);
  ASSERT_STATUS(mmapio_flush_range(m, 0, 4 * ps), want);
  ASSERT(mmapio_pending_bytes(m) != 0);
  /* Recovery: the failing flush re-dirtied the pages that were still in
   * memory, so the retried flushes above really wrote them -- the server
   * holds B now -- yet they keep reporting the failure until it is
   * acknowledged. */
  ASSERT(fusetest_backing_has(name, ps, pat_b + ps, ps));
  ASSERT(fusetest_backing_has(name, 0, pat_a, ps));
  /* Acknowledge, rewrite, flush: the bytes are (still) there. */
  ASSERT_OK(mmapio_clear_error(m));
  ASSERT_OK(mmapio_flush_error(m, NULL, NULL));
  ASSERT_OK(mmapio_write(m, ps, pat_b + ps, ps));
  ASSERT_OK(mmapio_flush(m));
  ASSERT(fusetest_backing_has(name, ps, pat_b + ps, ps));
  ASSERT(fusetest_backing_has(name, 0, pat_a, ps));
  ASSERT_OK(mmapio_close(m));
  round_no++;
}

static void case_flush(void)
{
  mmapio_map *m = open_fresh("flush", MMAPIO_FLUSH_MANUAL, 0);
  ASSERT_OK(mmapio_write(m, ps, pat_b + ps, ps));
  fusetest_ctl("write 5");
  int rc = mmapio_flush(m);
  ASSERT(rc == MMAPIO_EIO || rc == MMAPIO_ENOSPC);
  ASSERT(strstr(mmapio_last_error(), "msync(") != NULL);
  check_sticky(m, "flush", rc);
}

static void case_flush_enospc(void)
{
  mmapio_map *m = open_fresh("enospc", MMAPIO_FLUSH_MANUAL, 0);
  ASSERT_OK(mmapio_write(m, ps, pat_b + ps, ps));
  fusetest_ctl("write 28");
  int rc = mmapio_flush(m);
  /* The kernel reports a FUSE write-back failure as EIO or ENOSPC. */
  ASSERT(rc == MMAPIO_EIO || rc == MMAPIO_ENOSPC);
  check_sticky(m, "enospc", rc);
}

static void case_flush_range(void)
{
  mmapio_map *m = open_fresh("range", MMAPIO_FLUSH_MANUAL, 0);
  ASSERT_OK(mmapio_write(m, ps, pat_b + ps, ps));
  fusetest_ctl("write 5");
  int rc = mmapio_flush_range(m, ps, ps);
  ASSERT(rc == MMAPIO_EIO || rc == MMAPIO_ENOSPC);
  uint64_t off = 0, len = 0;
  ASSERT_STATUS(mmapio_flush_error(m, &off, &len), rc);
  ASSERT_U64_EQ(off, ps);
  ASSERT_U64_EQ(len, ps);
  check_sticky(m, "range", rc);
}

static void case_policy(const char *name, mmapio_flush_kind kind, uint64_t every)
{
  mmapio_map *m = open_fresh(name, kind, every);
  fusetest_ctl("write 5");
  /* The policy flush fails after the data was copied. */
  int rc = mmapio_write(m, ps, pat_b + ps, ps);
  ASSERT(rc == MMAPIO_EIO || rc == MMAPIO_ENOSPC);
  fusetest_ctl("clear");
  /* A later write's policy flush reports it again. */
  ASSERT_STATUS(mmapio_write(m, 2 * ps, pat_a + 2 * ps, ps), rc);
  check_sticky(m, name, rc);
}

static void case_millis(void)
{
  mmapio_map *m = open_fresh("millis", MMAPIO_FLUSH_EVERY_MILLIS, 5);
  fusetest_ctl("write 5");
  ASSERT_OK(mmapio_write(m, ps, pat_b + ps, ps)); /* the write path does not flush */
  /* Wait (bounded, generous) until the background flusher has tried. */
  int rc = MMAPIO_OK;
  for (int i = 0; i < 6000 && rc == MMAPIO_OK; i++) {
    rc = mmapio_flush_error(m, NULL, NULL);
    if (rc == MMAPIO_OK) fusetest_sleep_ms(5);
  }
  ASSERT(rc == MMAPIO_EIO || rc == MMAPIO_ENOSPC);
  ASSERT(fusetest_counter("write_fail") > 0);
  check_sticky(m, "millis", rc);
}

static void case_async(void)
{
#if MMAPIO_WITH_ASYNC
  mmapio_map *m = open_fresh("async", MMAPIO_FLUSH_MANUAL, 0);
  ASSERT_OK(mmapio_write(m, ps, pat_b + ps, ps));
  fusetest_ctl("write 5");
  mmapio_task *t = NULL;
  ASSERT_OK(mmapio_flush_async(&t, m));
  int rc = mmapio_task_wait(t, -1);
  mmapio_task_free(t);
  ASSERT(rc == MMAPIO_EIO || rc == MMAPIO_ENOSPC);
  check_sticky(m, "async", rc);
#endif
}

/* The final flush of close fails: close says so, and a MANUAL map whose
 * earlier flush failed also reports it at close. */
static void case_close(void)
{
  mmapio_map *m = open_fresh("close", MMAPIO_FLUSH_EVERY_BYTES, 1u << 30);
  ASSERT_OK(mmapio_write(m, ps, pat_b + ps, ps));
  fusetest_ctl("write 5");
  int rc = mmapio_close(m);
  ASSERT(rc == MMAPIO_EIO || rc == MMAPIO_ENOSPC);
  fusetest_ctl("clear");
  ASSERT(fusetest_backing_has("close", ps, pat_a + ps, ps));

  m = open_fresh("close2", MMAPIO_FLUSH_MANUAL, 0);
  ASSERT_OK(mmapio_write(m, ps, pat_b + ps, ps));
  fusetest_ctl("write 5");
  rc = mmapio_flush(m);
  ASSERT(rc == MMAPIO_EIO || rc == MMAPIO_ENOSPC);
  fusetest_ctl("clear");
  ASSERT_STATUS(mmapio_close(m), rc);
  ASSERT(strstr(mmapio_last_error(), "mmapio_close(") != NULL);
  /* The re-dirtied page may reach the server when the kernel writes it
   * back at unmap (the server works again); nothing else may. */
  ASSERT(fusetest_backing_has("close2", ps, pat_a + ps, ps) ||
         fusetest_backing_has("close2", ps, pat_b + ps, ps));
  ASSERT(fusetest_backing_has("close2", 0, pat_a, ps));
  ASSERT(fusetest_backing_has("close2", 2 * ps, pat_a + 2 * ps, 2 * ps));
}

/* fsync failing (durability FULL): the same sticky path. */
static void case_fsync(void)
{
  char *p = fusetest_path("fsync");
  char *bp = fusetest_backing("fsync");
  ASSERT_EQ(test_write_file(bp, pat_a, 4 * ps), 0);
  mmapio_options o;
  mmapio_options_init(&o);
  o.durability = MMAPIO_DURABLE_FULL;
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_OK(mmapio_write(m, ps, pat_b + ps, ps));
  fusetest_ctl("fsync 5");
  ASSERT_STATUS(mmapio_flush(m), MMAPIO_EIO);
  fusetest_ctl("clear");
  ASSERT_STATUS(mmapio_flush(m), MMAPIO_EIO);
  ASSERT_OK(mmapio_clear_error(m));
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_close(m));
  free(p);
  free(bp);
}

int main(void)
{
  fusetest_mount();
  ps = mmapio_page_size();
  pat_a = (uint8_t *)malloc(4 * ps);
  pat_b = (uint8_t *)malloc(4 * ps);
  ASSERT(pat_a != NULL && pat_b != NULL);
  for (size_t i = 0; i < 4 * ps; i++) {
    pat_a[i] = (uint8_t)(i * 7u + 1u);
    pat_b[i] = (uint8_t)(i * 13u + 5u);
  }
  case_flush();
  case_flush_enospc();
  case_flush_range();
  case_policy("always", MMAPIO_FLUSH_ALWAYS, 0);
  case_policy("bytes", MMAPIO_FLUSH_EVERY_BYTES, 1);
  case_policy("writes", MMAPIO_FLUSH_EVERY_WRITES, 1);
  case_millis();
  case_async();
  case_close();
  case_fsync();
  printf("ok: %u sticky rounds\n", round_no);
  return 0;
}

#endif /* __linux__ */
