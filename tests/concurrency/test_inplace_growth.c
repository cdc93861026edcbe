/*
 * In-place growth under load: a map opened with max_size grows page by
 * page while readers hold views of everything below the length they saw
 * and a writer fills each newly published page. The base address never
 * changes, no call waits or fails, and the final content is complete.
 */
#include "test.h"

#define PAGES_START 4u
#define PAGES_MAX 96u
#define NREADERS 3

static mmapio_map *M;
static size_t PS;
static uint8_t *BASEPTR;

static void *reader(void *arg)
{
  (void)arg;
  uint64_t seen = 0;
  for (unsigned i = 0; i < 4000; i++) {
    uint64_t len = mmapio_len(M);
    THREAD_CHECK(len >= seen); /* only grows */
    seen = len;
    mmapio_view v;
    THREAD_CHECK(mmapio_view_get(&v, M, 0, len) == MMAPIO_OK);
    THREAD_CHECK(v.data == BASEPTR);
    /* The first byte of every page below `len` is readable (zero or the
     * page's mark); reading it must not fault. */
    volatile uint8_t sink = 0;
    for (uint64_t off = 0; off < len; off += PS) sink = (uint8_t)(sink ^ v.data[off]);
    (void)sink;
    mmapio_view_release(&v);
    if (mmapio_len(M) >= PAGES_MAX * PS && i > 100) break;
  }
  return NULL;
}

static void *grower(void *arg)
{
  (void)arg;
  for (unsigned pg = PAGES_START + 1; pg <= PAGES_MAX; pg++) {
    THREAD_CHECK(mmapio_resize(M, (uint64_t)pg * PS) == MMAPIO_OK);
    THREAD_CHECK(mmapio_unsafe_ptr(M) == BASEPTR);
    uint8_t mark = (uint8_t)pg;
    THREAD_CHECK(mmapio_write(M, (uint64_t)(pg - 1) * PS, &mark, 1) == MMAPIO_OK);
  }
  return NULL;
}

int main(void)
{
  PS = mmapio_page_size();
  char *p = test_tmp_path("inplace-conc");
  mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE, PAGES_START * PS);
  o.max_size = PAGES_MAX * PS;
  ASSERT_OK(mmapio_open(&M, p, &o));
  BASEPTR = (uint8_t *)mmapio_unsafe_ptr(M);
  if (mmapio_capacity(M) < (uint64_t)PAGES_MAX * PS) {
    /* Windows without placeholders (Wine, before Windows 10 1803): growth
     * moves the mapping, as mmapio_capacity says. */
    uint64_t cap = mmapio_capacity(M);
    ASSERT_OK(mmapio_close(M));
    test_unlink(p);
    free(p);
    TEST_SKIP("growth in place is not available here (capacity %llu bytes)",
              (unsigned long long)cap);
  }

  test_thread t[NREADERS + 1];
  for (int i = 0; i < NREADERS; i++) thread_start(&t[i], reader, NULL);
  thread_start(&t[NREADERS], grower, NULL);
  int failed = 0;
  for (int i = 0; i <= NREADERS; i++)
    if (thread_join(&t[i]) != NULL) failed++;
  if (failed) TEST_FAIL_("%d threads reported failures", failed);

  ASSERT_U64_EQ(mmapio_len(M), PAGES_MAX * PS);
  ASSERT(mmapio_unsafe_ptr(M) == BASEPTR);
  for (unsigned pg = PAGES_START + 1; pg <= PAGES_MAX; pg++) {
    uint8_t b = 0;
    ASSERT_OK(mmapio_read(M, (uint64_t)(pg - 1) * PS, &b, 1));
    ASSERT_EQ(b, (uint8_t)pg);
  }
  ASSERT_OK(mmapio_close(M));
  ASSERT_EQ(file_len(p), (int64_t)(PAGES_MAX * PS));
  test_unlink(p);
  free(p);
  return 0;
}
