/*
 * The background flusher under load: threads open, write, flush_range and
 * close EVERY_MILLIS maps of their own while all of them also write one
 * shared EVERY_MILLIS map and other threads retain/close and take segments
 * of it. Every call succeeds, the data reaches the files, and no flush of a
 * closed map happens (ASan/TSan watch for that).
 */
#include "test.h"

#define NTHREADS 4
#define ROUNDS 40
#define WRITES 25

static mmapio_map *SHARED;
static size_t PS;

typedef struct targ { int id; char *path; } targ;

static void *worker(void *p)
{
  targ *a = (targ *)p;
  uint8_t buf[256];
  for (int round = 0; round < ROUNDS; round++) {
    mmapio_map *m;
    THREAD_CHECK(open_policy(&m, a->path, MMAPIO_FLUSH_EVERY_MILLIS, 1) == MMAPIO_OK);
    for (int i = 0; i < WRITES; i++) {
      memset(buf, (uint8_t)(round + i), sizeof buf);
      THREAD_CHECK(mmapio_write(m, (uint64_t)i * sizeof buf, buf, sizeof buf) == MMAPIO_OK);
      /* Slot `id` of the shared map belongs to this thread. */
      memset(buf, (uint8_t)(a->id * 50 + i), 64);
      THREAD_CHECK(mmapio_write(SHARED, (uint64_t)a->id * PS, buf, 64) == MMAPIO_OK);
      if (i % 5 == 0) THREAD_CHECK(mmapio_flush_range(m, 0, 100) == MMAPIO_OK);
    }
    THREAD_CHECK(mmapio_close(m) == MMAPIO_OK);
  }
  return NULL;
}

static void *sharer(void *p)
{
  (void)p;
  for (int i = 0; i < 2000; i++) {
    THREAD_CHECK(mmapio_retain(SHARED) == MMAPIO_OK);
    mmapio_segment s;
    THREAD_CHECK(mmapio_segment_init(&s, SHARED, 0, 64) == MMAPIO_OK);
    mmapio_view v;
    THREAD_CHECK(mmapio_segment_view(&v, &s) == MMAPIO_OK);
    mmapio_view_release(&v);
    mmapio_segment_release(&s);
    THREAD_CHECK(mmapio_close(SHARED) == MMAPIO_OK);
    if (i % 100 == 0) THREAD_CHECK(mmapio_flush(SHARED) == MMAPIO_OK);
  }
  return NULL;
}

int main(void)
{
  PS = mmapio_page_size();
  char *sp = test_tmp_path("flusher-shared");
  mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE, NTHREADS * PS);
  o.flush_policy.kind = MMAPIO_FLUSH_EVERY_MILLIS;
  o.flush_policy.every = 2;
  ASSERT_OK(mmapio_open(&SHARED, sp, &o));

  targ args[NTHREADS];
  test_thread t[NTHREADS + 2];
  for (int i = 0; i < NTHREADS; i++) {
    args[i].id = i;
    args[i].path = mk_file("flusher-own", WRITES * 256, 0);
    thread_start(&t[i], worker, &args[i]);
  }
  thread_start(&t[NTHREADS], sharer, NULL);
  thread_start(&t[NTHREADS + 1], sharer, NULL);
  int failed = 0;
  for (int i = 0; i < NTHREADS + 2; i++)
    if (thread_join(&t[i]) != NULL) failed++;
  if (failed) TEST_FAIL_("%d threads reported failures", failed);

  /* The background flusher empties the shared map's accumulator. */
  uint64_t deadline = now_ms() + POLL_DEADLINE_MS;
  while (mmapio_pending_bytes(SHARED) != 0 && now_ms() < deadline) sleep_ms(5);
  ASSERT_U64_EQ(mmapio_pending_bytes(SHARED), 0);
  ASSERT_OK(mmapio_close(SHARED));

  for (int i = 0; i < NTHREADS; i++) {
    size_t n = 0;
    uint8_t *d = (uint8_t *)test_read_file(args[i].path, &n);
    ASSERT(d != NULL && n == WRITES * 256);
    for (int w = 0; w < WRITES; w++) ASSERT(all_bytes(d + w * 256, 256, (uint8_t)(ROUNDS - 1 + w)));
    free(d);
    test_unlink(args[i].path);
    free(args[i].path);
  }
  size_t n = 0;
  uint8_t *d = (uint8_t *)test_read_file(sp, &n);
  ASSERT(d != NULL && n == NTHREADS * PS);
  for (int i = 0; i < NTHREADS; i++) ASSERT(all_bytes(d + (size_t)i * PS, 64, (uint8_t)(i * 50 + WRITES - 1)));
  free(d);
  test_unlink(sp);
  free(sp);
  return 0;
}
