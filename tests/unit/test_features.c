/*
 * Features left out of the build (include/mmapio.h section 1): their functions stay
 * linkable; those returning a status return MMAPIO_ENOTSUP (with **out set
 * to NULL), the others are no-ops, and mmapio_has_feature reports 0. Run by
 * the `minimal` stage of scripts/run-tests.sh; skipped when every feature
 * is compiled in.
 */
#include "test.h"

static void on_change(const mmapio_change *c, void *payload)
{
  (void)c;
  (void)payload;
}

int main(void)
{
  char *p = mk_file("features", 8192, 141);
  char *q = test_tmp_path("features-new");
  mmapio_map *m;
  uint8_t buf[16] = {0};
  int off = 0;
  ASSERT_OK(mmapio_open_rw(&m, p));

  if (!MMAPIO_WITH_ADVISE) {
    off++;
    ASSERT_EQ(mmapio_has_feature(MMAPIO_FEATURE_ADVISE), 0);
    ASSERT_STATUS(mmapio_advise(m, 0, 100, MMAPIO_ADVICE_WILLNEED), MMAPIO_ENOTSUP);
  }
  if (!MMAPIO_WITH_ITERATOR) {
    off++;
    mmapio_iter it;
    memset(&it, 0, sizeof it);
    ASSERT_EQ(mmapio_has_feature(MMAPIO_FEATURE_ITERATOR), 0);
    ASSERT_STATUS(mmapio_chunks(&it, m, 100), MMAPIO_ENOTSUP);
    ASSERT_STATUS(mmapio_pages(&it, m), MMAPIO_ENOTSUP);
    ASSERT_STATUS(mmapio_chunks_mut(&it, m, 100), MMAPIO_ENOTSUP);
    mmapio_iter_end(&it); /* no-op */
    ASSERT_OK(mmapio_close(m)); /* no iterator is outstanding */
    ASSERT_OK(mmapio_open_rw(&m, p));
  }
  if (!MMAPIO_WITH_ASYNC) {
    off++;
    mmapio_task *t = (mmapio_task *)(uintptr_t)1;
    ASSERT_EQ(mmapio_has_feature(MMAPIO_FEATURE_ASYNC), 0);
    ASSERT_STATUS(mmapio_flush_async(&t, m), MMAPIO_ENOTSUP);
    ASSERT(t == NULL);
    t = (mmapio_task *)(uintptr_t)1;
    ASSERT_STATUS(mmapio_flush_range_async(&t, m, 0, 10), MMAPIO_ENOTSUP);
    ASSERT(t == NULL);
    ASSERT_STATUS(mmapio_write_async(&t, m, 0, buf, sizeof buf), MMAPIO_ENOTSUP);
    ASSERT_STATUS(mmapio_create_async(&t, q, 4096), MMAPIO_ENOTSUP);
    ASSERT(!file_exists(q));
    ASSERT_STATUS(mmapio_copy_file_async(&t, p, q), MMAPIO_ENOTSUP);
    ASSERT(!file_exists(q));
    ASSERT_STATUS(mmapio_remove_file_async(&t, p), MMAPIO_ENOTSUP);
    ASSERT(file_exists(p));
    mmapio_task_free(NULL);
  }
  if (!MMAPIO_WITH_BYTES) {
    off++;
    mmapio_bytes b;
    memset(&b, 0, sizeof b);
    ASSERT_EQ(mmapio_has_feature(MMAPIO_FEATURE_BYTES), 0);
    ASSERT_STATUS(mmapio_bytes_get(&b, m, 0, 10), MMAPIO_ENOTSUP);
    mmapio_bytes_release(&b);
  }
  if (!MMAPIO_WITH_HUGEPAGES) {
    off++;
    mmapio_map *h = BAD_MAP;
    ASSERT_EQ(mmapio_has_feature(MMAPIO_FEATURE_HUGEPAGES), 0);
    mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_HUGE_PAGES, 0);
    ASSERT_STATUS(mmapio_open(&h, p, &o), MMAPIO_ENOTSUP);
    ASSERT(h == NULL);
    ASSERT_EQ(mmapio_huge_pages_active(m), 0);
  }
  if (!MMAPIO_WITH_COW) {
    off++;
    mmapio_map *c = BAD_MAP;
    ASSERT_EQ(mmapio_has_feature(MMAPIO_FEATURE_COW), 0);
    ASSERT_STATUS(mmapio_open_cow(&c, p), MMAPIO_ENOTSUP);
    ASSERT(c == NULL);
    mmapio_options o = opts(MMAPIO_MODE_COPY_ON_WRITE, 0, 0);
    c = BAD_MAP;
    ASSERT_STATUS(mmapio_open(&c, p, &o), MMAPIO_ENOTSUP);
    ASSERT(c == NULL);
    ASSERT_STATUS(mmapio_open_fd(&c, mmapio_native_handle(m), MMAPIO_MODE_COPY_ON_WRITE, p),
                  MMAPIO_ENOTSUP);
  }
  if (!MMAPIO_WITH_LOCKING) {
    off++;
    ASSERT_EQ(mmapio_has_feature(MMAPIO_FEATURE_LOCKING), 0);
    ASSERT_STATUS(mmapio_lock(m, 0, 100), MMAPIO_ENOTSUP);
    ASSERT_STATUS(mmapio_unlock(m, 0, 100), MMAPIO_ENOTSUP);
    ASSERT_STATUS(mmapio_lock_all(m), MMAPIO_ENOTSUP);
    ASSERT_STATUS(mmapio_unlock_all(m), MMAPIO_ENOTSUP);
  }
  if (!MMAPIO_WITH_ATOMIC) {
    off++;
    mmapio_atomic a;
    memset(&a, 0, sizeof a);
    ASSERT_EQ(mmapio_has_feature(MMAPIO_FEATURE_ATOMIC), 0);
    ASSERT_STATUS(mmapio_atomic_u32(&a, m, 0), MMAPIO_ENOTSUP);
    ASSERT_STATUS(mmapio_atomic_u64(&a, m, 0), MMAPIO_ENOTSUP);
    ASSERT_STATUS(mmapio_atomic_u32_array(&a, m, 0, 4), MMAPIO_ENOTSUP);
    ASSERT_STATUS(mmapio_atomic_u64_array(&a, m, 0, 4), MMAPIO_ENOTSUP);
    mmapio_atomic_release(&a);
    ASSERT_OK(mmapio_resize(m, 8192)); /* no pin is outstanding */
  }
  if (!MMAPIO_WITH_WATCH) {
    off++;
    mmapio_watch *w = (mmapio_watch *)(uintptr_t)1;
    ASSERT_EQ(mmapio_has_feature(MMAPIO_FEATURE_WATCH), 0);
    ASSERT_STATUS(mmapio_watch_start(&w, m, on_change, NULL), MMAPIO_ENOTSUP);
    ASSERT(w == NULL);
    mmapio_watch_stop(NULL);
  }
  if (!MMAPIO_WITH_FAULT_SAFE) {
    off++;
    mmapio_map *f = BAD_MAP;
    ASSERT_EQ(mmapio_has_feature(MMAPIO_FEATURE_FAULT_SAFE), 0);
    mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_FAULT_SAFE, 0);
    ASSERT_STATUS(mmapio_open(&f, p, &o), MMAPIO_ENOTSUP);
    ASSERT(f == NULL);
  }
  /* The core works the same with features off. */
  ASSERT_OK(mmapio_write(m, 0, buf, sizeof buf));
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_close(m));
  test_unlink(p);
  free(p);
  free(q);
  if (off == 0) TEST_SKIP("every feature is compiled into this build");
  printf("%d compiled-out features return MMAPIO_ENOTSUP\n", off);
  return 0;
}
