/*
 * Flush policies and the accumulator (include/mmapio.h section 6): MANUAL, ALWAYS,
 * EVERY_BYTES, EVERY_WRITES, EVERY_MILLIS; what counts (non-empty successful
 * writes and write-view releases); flush_range's saturating debit by the
 * page-expanded length (clamped to the map) and EVERY_WRITES' unchanged
 * count; flush resets; `every == 0` never flushes; the background flusher
 * flushes and is stopped by close.
 */
#include "test.h"

#ifdef __linux__
#  include <dirent.h>
#endif

static size_t PS;
static uint64_t TOTAL;
static uint8_t *BUF;

static mmapio_map *open_with(const char *p, mmapio_flush_kind k, uint64_t every)
{
  mmapio_map *m;
  ASSERT_OK(open_policy(&m, p, k, every));
  ASSERT_EQ(mmapio_flush_policy_of(m).kind, k);
  if (k != MMAPIO_FLUSH_MANUAL) ASSERT_U64_EQ(mmapio_flush_policy_of(m).every, every);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
  return m;
}

static void w(mmapio_map *m, uint64_t off, size_t len) { ASSERT_OK(mmapio_write(m, off, BUF, len)); }

static void check_manual(const char *p)
{
  mmapio_map *m = open_with(p, MMAPIO_FLUSH_MANUAL, 0);
  w(m, 0, 1000);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
  mmapio_view_mut vm;
  ASSERT_OK(mmapio_view_get_mut(&vm, m, 0, 10));
  ASSERT_OK(mmapio_view_mut_release(&vm));
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_close(m));
}

static void check_always(const char *p)
{
  mmapio_map *m = open_with(p, MMAPIO_FLUSH_ALWAYS, 0);
  w(m, 0, 1000);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
  mmapio_view_mut vm;
  ASSERT_OK(mmapio_view_get_mut(&vm, m, 0, 10));
  ASSERT_OK(mmapio_view_mut_release(&vm));
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
  ASSERT_OK(mmapio_close(m));
}

static void check_every_bytes(const char *p)
{
  mmapio_map *m = open_with(p, MMAPIO_FLUSH_EVERY_BYTES, 1000);
  w(m, 0, 300);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 300);
  w(m, 5000, 300);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 600);
  /* Things that do not count: empty writes, failed writes, reads, views. */
  ASSERT_OK(mmapio_write(m, 0, BUF, 0));
  ASSERT_STATUS(mmapio_write(m, TOTAL, BUF, 1), MMAPIO_EBOUNDS);
  ASSERT_OK(mmapio_read(m, 0, BUF, 100));
  mmapio_view v;
  ASSERT_OK(mmapio_view_get(&v, m, 0, 100));
  mmapio_view_release(&v);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 600);
  /* A write view counts its length at release. */
  mmapio_view_mut vm;
  ASSERT_OK(mmapio_view_get_mut(&vm, m, 0, 200));
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 600);
  ASSERT_OK(mmapio_view_mut_release(&vm));
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 800);
  /* Crossing the threshold flushes and resets. */
  w(m, 0, 199);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 999);
  w(m, 0, 1);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
  w(m, 0, 2500); /* one write above the threshold */
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
  /* flush resets. */
  w(m, 0, 10);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 10);
  ASSERT_OK(mmapio_flush(m));
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
  ASSERT_OK(mmapio_close(m));

  /* flush_range debits the page-expanded length, saturating at 0. */
  m = open_with(p, MMAPIO_FLUSH_EVERY_BYTES, UINT64_C(1) << 40);
  w(m, 0, (size_t)TOTAL); /* TOTAL = 3 pages + 123 */
  ASSERT_U64_EQ(mmapio_pending_bytes(m), TOTAL);
  ASSERT_OK(mmapio_flush_range(m, 0, 1)); /* [0, 1) -> one page */
  ASSERT_U64_EQ(mmapio_pending_bytes(m), TOTAL - PS);
  ASSERT_OK(mmapio_flush_range(m, PS + 1, PS)); /* [P+1, 2P+1) -> [P, 3P): two pages */
  ASSERT_U64_EQ(mmapio_pending_bytes(m), TOTAL - 3 * PS);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 123);
  w(m, 0, 1000);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 1123);
  ASSERT_OK(mmapio_flush_range(m, TOTAL - 1, 1)); /* [3P, 3P+123): clamped to the length */
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 1000);
  ASSERT_OK(mmapio_flush_range(m, 10, 1)); /* a page > 1000: saturates */
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
  ASSERT_OK(mmapio_flush_range(m, 10, 1)); /* stays at 0 */
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
  w(m, 0, 50);
  ASSERT_OK(mmapio_flush_range(m, 10, 0)); /* zero length: no-op */
  ASSERT_STATUS(mmapio_flush_range(m, TOTAL, 1), MMAPIO_EBOUNDS);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 50);
  ASSERT_OK(mmapio_close(m));

  /* every == 0: never flushes by policy; the bytes stay pending. */
  m = open_with(p, MMAPIO_FLUSH_EVERY_BYTES, 0);
  w(m, 0, (size_t)TOTAL);
  w(m, 0, (size_t)TOTAL);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 2 * TOTAL);
  ASSERT_OK(mmapio_flush(m));
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
  ASSERT_OK(mmapio_close(m));
}

static void check_every_writes(const char *p)
{
  mmapio_map *m = open_with(p, MMAPIO_FLUSH_EVERY_WRITES, 3);
  w(m, 0, 1000);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 1);
  mmapio_view_mut vm;
  ASSERT_OK(mmapio_view_get_mut(&vm, m, 0, 500));
  ASSERT_OK(mmapio_view_mut_release(&vm));
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 2);
  /* Empty and failed writes do not count. */
  ASSERT_OK(mmapio_write(m, 0, BUF, 0));
  ASSERT_STATUS(mmapio_write(m, TOTAL, BUF, 1), MMAPIO_EBOUNDS);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 2);
  /* flush_range leaves the count unchanged. */
  ASSERT_OK(mmapio_flush_range(m, 0, TOTAL));
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 2);
  w(m, 0, 1); /* the third write flushes */
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
  w(m, 0, 1);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 1);
  ASSERT_OK(mmapio_flush(m));
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
  ASSERT_OK(mmapio_close(m));

  m = open_with(p, MMAPIO_FLUSH_EVERY_WRITES, 0);
  for (int i = 0; i < 10; i++) w(m, 0, 1);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 10);
  ASSERT_OK(mmapio_close(m));

  m = open_with(p, MMAPIO_FLUSH_EVERY_WRITES, 1);
  w(m, 0, 1);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
  ASSERT_OK(mmapio_close(m));
}

#ifdef __linux__
static int thread_count(void)
{
  DIR *d = opendir("/proc/self/task");
  if (d == NULL) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}
#endif

/* Poll until pending_bytes(m) is 0; fails only after a generous deadline. */
static void wait_flushed(mmapio_map *m, const char *what)
{
  uint64_t deadline = now_ms() + POLL_DEADLINE_MS;
  while (mmapio_pending_bytes(m) != 0) {
    if (now_ms() > deadline)
      TEST_FAIL_("%s: background flusher did not flush within %u ms (pending %llu)", what,
                 POLL_DEADLINE_MS, (unsigned long long)mmapio_pending_bytes(m));
    sleep_ms(5);
  }
}

static void check_every_millis(const char *p, const char *p2)
{
#ifdef __linux__
  int threads_before = thread_count();
#endif
  mmapio_map *a = open_with(p, MMAPIO_FLUSH_EVERY_MILLIS, 20);
  mmapio_map *b = open_with(p2, MMAPIO_FLUSH_EVERY_MILLIS, 35);
  for (int round = 0; round < 3; round++) {
    w(a, 0, 700);
    w(b, 100, 300);
    wait_flushed(a, "map a");
    wait_flushed(b, "map b");
  }
  /* A write view's bytes are flushed in the background too. */
  mmapio_view_mut vm;
  ASSERT_OK(mmapio_view_get_mut(&vm, a, 0, 64));
  ASSERT_OK(mmapio_view_mut_release(&vm));
  wait_flushed(a, "map a (view)");
#ifdef __linux__
  /* One flusher thread serves every map of the process. */
  if (threads_before > 0) {
    int during = thread_count();
    if (during > threads_before + 1)
      TEST_FAIL_("%d threads with two EVERY_MILLIS maps, %d before: more than one flusher", during,
                 threads_before);
  }
#endif
  /* flush_range debits like the byte-counting policies (saturating). */
  w(a, 0, 10);
  ASSERT_OK(mmapio_flush_range(a, 0, 1));
  ASSERT_U64_EQ(mmapio_pending_bytes(a), 0);

  /* Close right after a write: the final flush runs, the flusher lets go of
   * the map (ASan/TSan would see a flush of a freed map). */
  w(a, 0, 100);
  ASSERT_OK(mmapio_close(a));
  w(b, 0, 100);
  ASSERT_OK(mmapio_close(b));
  /* Many short-lived EVERY_MILLIS maps. */
  for (int i = 0; i < 50; i++) {
    mmapio_map *m = open_with(p, MMAPIO_FLUSH_EVERY_MILLIS, 1);
    w(m, 0, 10);
    ASSERT_OK(mmapio_close(m));
  }
#ifdef __linux__
  /* The flusher stops when no map needs it (one background thread serves every map: include/mmapio.h section 6). */
  if (threads_before > 0) {
    uint64_t deadline = now_ms() + POLL_DEADLINE_MS;
    while (thread_count() > threads_before) {
      if (now_ms() > deadline)
        TEST_FAIL_("flusher thread still running %u ms after the last EVERY_MILLIS map closed (%d threads, %d before)",
                   POLL_DEADLINE_MS, thread_count(), threads_before);
      sleep_ms(5);
    }
  }
#endif
  /* every == 0: never flushed in the background. */
  mmapio_map *m = open_with(p, MMAPIO_FLUSH_EVERY_MILLIS, 0);
  w(m, 0, 10);
  sleep_ms(50);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 10);
  ASSERT_OK(mmapio_close(m));
}

/* The policy of RO and COW maps is MANUAL; their writes count nothing. */
static void check_forced_manual(const char *p)
{
  mmapio_options o = opts(MMAPIO_MODE_READ_ONLY, 0, 0);
  o.flush_policy.kind = MMAPIO_FLUSH_EVERY_MILLIS;
  o.flush_policy.every = 1;
  mmapio_map *m;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_EQ(mmapio_flush_policy_of(m).kind, MMAPIO_FLUSH_MANUAL);
  ASSERT_OK(mmapio_close(m));
  if (has_cow()) {
    o.mode = MMAPIO_MODE_COPY_ON_WRITE;
    o.flush_policy.kind = MMAPIO_FLUSH_EVERY_BYTES;
    o.flush_policy.every = 1000;
    ASSERT_OK(mmapio_open(&m, p, &o));
    ASSERT_EQ(mmapio_flush_policy_of(m).kind, MMAPIO_FLUSH_MANUAL);
    w(m, 0, 100);
    ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
    ASSERT_OK(mmapio_close(m));
  }
  /* Anonymous maps: flush is a no-op but a policy-less map stays MANUAL. */
  ASSERT_OK(mmapio_anon(&m, 4096, 0));
  ASSERT_EQ(mmapio_flush_policy_of(m).kind, MMAPIO_FLUSH_MANUAL);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);
  ASSERT_OK(mmapio_close(m));
}

int main(void)
{
  PS = mmapio_page_size();
  TOTAL = 3 * PS + 123;
  BUF = (uint8_t *)malloc((size_t)TOTAL);
  ASSERT(BUF != NULL);
  pat_fill(BUF, (size_t)TOTAL, 0, 81);
  char *p = mk_file("policy", (size_t)TOTAL, 80);
  char *p2 = mk_file("policy2", (size_t)TOTAL, 80);

  ASSERT_STATUS(mmapio_flush(NULL), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_flush_range(NULL, 0, 0), MMAPIO_EINVAL);
  check_manual(p);
  check_always(p);
  check_every_bytes(p);
  check_every_writes(p);
  check_every_millis(p, p2);
  check_forced_manual(p);
  /* Everything written reached the file. */
  ASSERT(file_len(p) == (int64_t)TOTAL);

  test_unlink(p);
  test_unlink(p2);
  free(p);
  free(p2);
  free(BUF);
  return 0;
}
