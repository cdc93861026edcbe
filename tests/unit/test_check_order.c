/*
 * The header's check order for every call: arguments (NULL, flags) ->
 * zero-length action -> mode -> alignment -> bounds -> the operation. Each
 * case below feeds a call inputs that are wrong in two ways at once and
 * checks that the earlier check wins, and that nothing changed.
 */
#include "test.h"

#define LEN 4096u

int main(void)
{
  char *p = mk_file("order", LEN, 21);
  mmapio_map *ro, *rw;
  ASSERT_OK(mmapio_open_ro(&ro, p));
  ASSERT_OK(mmapio_open_rw(&rw, p));
  file_snap before = snap_take(p);

  /* Segments: a write past the segment of a read-only map is a mode error,
   * a NULL source an argument error, zero bytes OK before either. */
  mmapio_segment s;
  ASSERT_OK(mmapio_segment_init(&s, ro, 0, 16));
  ASSERT_STATUS(mmapio_segment_write(&s, 10, "0123456789", 10), MMAPIO_EMODE);
  ASSERT_STATUS(mmapio_segment_write(&s, 100, NULL, 10), MMAPIO_EINVAL);
  ASSERT_OK(mmapio_segment_write(&s, 100, NULL, 0));
  mmapio_segment_release(&s);
  ASSERT_OK(mmapio_segment_init(&s, rw, 0, 16));
  ASSERT_STATUS(mmapio_segment_write(&s, 10, NULL, 10), MMAPIO_EINVAL);
  ASSERT_BOUNDS(mmapio_segment_write(&s, 10, "0123456789", 10), 10, 10, 16);
  mmapio_segment_release(&s);

  /* Writes, write views, mut iterators, resize: mode before bounds / size. */
  ASSERT_STATUS(mmapio_write(ro, LEN + 1, "x", 1), MMAPIO_EMODE);
  ASSERT_OK(mmapio_write(ro, LEN + 1, "x", 0));
  ASSERT_STATUS(mmapio_write(rw, LEN + 1, NULL, 1), MMAPIO_EINVAL);
  mmapio_view_mut w;
  ASSERT_STATUS(mmapio_view_get_mut(&w, ro, LEN + 1, 1), MMAPIO_EMODE);
  ASSERT_STATUS(mmapio_view_get_mut(NULL, ro, LEN + 1, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_resize(ro, 0), MMAPIO_EMODE);
  if (mmapio_has_feature(MMAPIO_FEATURE_ITERATOR)) {
    mmapio_iter it;
    ASSERT_STATUS(mmapio_chunks_mut(&it, ro, 0), MMAPIO_EMODE);
    ASSERT_STATUS(mmapio_chunks_mut(NULL, ro, 7), MMAPIO_EINVAL);
  }
  if (mmapio_has_feature(MMAPIO_FEATURE_ASYNC)) {
    mmapio_task *t;
    ASSERT_STATUS(mmapio_write_async(&t, ro, LEN + 1, "x", 1), MMAPIO_EMODE);
    ASSERT_STATUS(mmapio_write_async(&t, rw, LEN + 1, NULL, 1), MMAPIO_EINVAL);
    ASSERT_OK(mmapio_write_async(&t, ro, LEN + 1, "x", 0)); /* zero length: done at once */
    ASSERT_OK(mmapio_task_wait(t, -1));
    mmapio_task_free(t);
    ASSERT_OK(mmapio_flush_range_async(&t, ro, LEN + 1, 0));
    mmapio_task_free(t);
    ASSERT_STATUS(mmapio_flush_range_async(&t, ro, LEN + 1, 1), MMAPIO_EBOUNDS);
  }

  /* Atomic views: alignment before bounds. */
  if (mmapio_has_feature(MMAPIO_FEATURE_ATOMIC)) {
    mmapio_atomic a;
    ASSERT_STATUS(mmapio_atomic_u64(&a, rw, LEN + 3), MMAPIO_EALIGN);
    ASSERT_STATUS(mmapio_atomic_u32_array(&a, ro, 2, (size_t)-1), MMAPIO_EALIGN);
    ASSERT_STATUS(mmapio_atomic_u64(NULL, rw, 3), MMAPIO_EINVAL);
  }

  /* Zero-length actions before bounds, arguments before zero length. */
  ASSERT_OK(mmapio_flush_range(ro, LEN + 1, 0));
  ASSERT_OK(mmapio_prefetch(rw, LEN + 1, 0));
  ASSERT_OK(mmapio_touch_range(rw, LEN + 1, 0));
  ASSERT_OK(mmapio_evict(rw, LEN + 1, 0));
  ASSERT_OK(mmapio_probe(rw, LEN + 1, 0));
  ASSERT_STATUS(mmapio_flush_range(NULL, LEN + 1, 0), MMAPIO_EINVAL);
  if (mmapio_has_feature(MMAPIO_FEATURE_ADVISE)) {
    ASSERT_OK(mmapio_advise(rw, LEN + 1, 0, MMAPIO_ADVICE_NORMAL));
    ASSERT_STATUS(mmapio_advise(rw, LEN + 1, 0, (mmapio_advice)99), MMAPIO_EINVAL);
  }
  if (mmapio_has_feature(MMAPIO_FEATURE_LOCKING)) {
    ASSERT_OK(mmapio_lock(rw, LEN + 1, 0));
    ASSERT_OK(mmapio_unlock(rw, LEN + 1, 0));
  }
  uint64_t res = 7, tot = 7;
  ASSERT_OK(mmapio_residency(&res, &tot, rw, LEN + 1, 0));
  ASSERT_STATUS(mmapio_residency(NULL, &tot, rw, LEN + 1, 0), MMAPIO_EINVAL);

  /* Views are not actions: a zero-length view is still bounds-checked. */
  mmapio_view v;
  ASSERT_BOUNDS(mmapio_view_get(&v, ro, LEN + 1, 0), LEN + 1, 0, LEN);
  uint8_t b;
  ASSERT_BOUNDS(mmapio_read(ro, LEN + 1, &b, 0), LEN + 1, 0, LEN);

  ASSERT_SNAP_SAME(p, before);
  snap_free(&before);
  ASSERT_OK(mmapio_close(ro));
  ASSERT_OK(mmapio_close(rw));
  free(p);
  printf("ok\n");
  return 0;
}
