/*
 * Segments (include/mmapio.h section 9): bounds-checked at init, hold a map
 * reference (the map outlives mmapio_close), re-check bounds against the
 * current length on every access (EBOUNDS after a shrink past them, valid
 * again after growing back), and segment_write never writes past the end.
 */
#include "test.h"

int main(void)
{
  size_t ps = mmapio_page_size();
  uint64_t total = 4 * ps;
  char *p = mk_file("segment", (size_t)total, 101);
  mmapio_map *m;
  mmapio_segment s, s2;
  mmapio_view v;
  mmapio_view_mut vm;
  uint8_t buf[64];

  ASSERT_OK(mmapio_open_rw(&m, p));
  ASSERT_STATUS(mmapio_segment_init(NULL, m, 0, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_segment_init(&s, NULL, 0, 1), MMAPIO_EINVAL);
  ASSERT_BOUNDS(mmapio_segment_init(&s, m, total, 1), total, 1, total);
  ASSERT_BOUNDS(mmapio_segment_init(&s, m, UINT64_MAX, 1), UINT64_MAX, 1, total);
  ASSERT_BOUNDS(mmapio_segment_init(&s, m, 1, UINT64_MAX), 1, UINT64_MAX, total);
  ASSERT_BOUNDS(mmapio_segment_init(&s, m, total + 1, 0), total + 1, 0, total);

  ASSERT_OK(mmapio_segment_init(&s, m, ps + 10, 100));
  ASSERT(s.map == m);
  ASSERT_U64_EQ(s.offset, ps + 10);
  ASSERT_U64_EQ(s.len, 100);
  ASSERT_EQ(mmapio_segment_valid(&s), 1);

  /* Views of the whole segment. */
  ASSERT_OK(mmapio_segment_view(&v, &s));
  ASSERT_EQ(v.len, 100);
  ASSERT(pat_check(v.data, 100, ps + 10, 101));
  mmapio_view_release(&v);
  ASSERT_OK(mmapio_segment_view_mut(&vm, &s));
  ASSERT_EQ(vm.len, 100);
  memset(vm.data, 0x42, 100);
  ASSERT_OK(mmapio_view_mut_release(&vm));
  ASSERT(all_bytes((uint8_t *)mmapio_unsafe_ptr(m) + ps + 10, 100, 0x42));
  ASSERT(pat_check((uint8_t *)mmapio_unsafe_ptr(m) + ps + 110, 10, ps + 110, 101));

  /* segment_write: relative offsets, never past the segment. */
  pat_fill(buf, sizeof buf, 0, 102);
  ASSERT_OK(mmapio_segment_write(&s, 36, buf, 64)); /* exactly to the end */
  ASSERT_MEMEQ((uint8_t *)mmapio_unsafe_ptr(m) + ps + 46, buf, 64);
  ASSERT_BOUNDS(mmapio_segment_write(&s, 37, buf, 64), 37, 64, 100);
  ASSERT_BOUNDS(mmapio_segment_write(&s, 100, buf, 1), 100, 1, 100);
  ASSERT_BOUNDS(mmapio_segment_write(&s, UINT64_MAX, buf, 1), UINT64_MAX, 1, 100);
  ASSERT_OK(mmapio_segment_write(&s, UINT64_MAX, buf, 0)); /* zero-length action */
  ASSERT_STATUS(mmapio_segment_write(&s, 0, NULL, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_segment_write(NULL, 0, buf, 1), MMAPIO_EINVAL);
  ASSERT(pat_check((uint8_t *)mmapio_unsafe_ptr(m) + ps + 110, 10, ps + 110, 101)); /* untouched */
  ASSERT_STATUS(mmapio_segment_view(NULL, &s), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_segment_view(&v, NULL), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_segment_view_mut(NULL, &s), MMAPIO_EINVAL);

  /* A zero-length segment at the end. */
  ASSERT_OK(mmapio_segment_init(&s2, m, total, 0));
  ASSERT_EQ(mmapio_segment_valid(&s2), 1);
  ASSERT_OK(mmapio_segment_view(&v, &s2));
  ASSERT_EQ(v.len, 0);
  mmapio_view_release(&v);

  /* Shrink past the segments: invalid, EBOUNDS with the map's numbers. */
  ASSERT_OK(mmapio_resize(m, ps + 50));
  ASSERT_EQ(mmapio_segment_valid(&s), 0);
  ASSERT_EQ(mmapio_segment_valid(&s2), 0);
  ASSERT_BOUNDS(mmapio_segment_view(&v, &s), ps + 10, 100, ps + 50);
  ASSERT_BOUNDS(mmapio_segment_view_mut(&vm, &s), ps + 10, 100, ps + 50);
  /* A write reaching past the map's current end (inside the segment). */
  ASSERT_STATUS(mmapio_segment_write(&s, 35, buf, 10), MMAPIO_EBOUNDS);
  /* Even a byte still inside the map: the segment as a whole is invalid. */
  ASSERT_BOUNDS(mmapio_segment_write(&s, 0, buf, 1), ps + 10, 100, ps + 50);
  ASSERT_U64_EQ(mmapio_len(m), ps + 50);
  ASSERT_BOUNDS(mmapio_segment_view(&v, &s2), total, 0, ps + 50);
  /* Growing back makes them valid again. */
  ASSERT_OK(mmapio_resize(m, total));
  ASSERT_EQ(mmapio_segment_valid(&s), 1);
  ASSERT_OK(mmapio_segment_write(&s, 0, buf, 1));

  /* The segment holds a reference: close releases ours, the map lives on. */
  ASSERT_OK(mmapio_close(m));
  ASSERT_OK(mmapio_segment_view(&v, &s));
  ASSERT_EQ(v.data[0], buf[0]);
  mmapio_view_release(&v);
  ASSERT_OK(mmapio_segment_write(&s, 1, buf, 1));
  mmapio_segment_release(&s2);
  ASSERT_EQ(mmapio_segment_valid(&s2), 0);
  mmapio_segment_release(&s2); /* released: no-op */
  mmapio_segment_release(NULL);
  mmapio_segment_release(&s); /* the last reference: unmaps and closes */
  ASSERT_EQ(mmapio_segment_valid(&s), 0);

  /* RO map: read views work, writes are EMODE. */
  ASSERT_OK(mmapio_open_ro(&m, p));
  ASSERT_OK(mmapio_segment_init(&s, m, 0, 10));
  ASSERT_OK(mmapio_segment_view(&v, &s));
  mmapio_view_release(&v);
  ASSERT_STATUS(mmapio_segment_view_mut(&vm, &s), MMAPIO_EMODE);
  ASSERT_STATUS(mmapio_segment_write(&s, 0, buf, 1), MMAPIO_EMODE);
  ASSERT_OK(mmapio_segment_write(&s, 0, buf, 0));
  mmapio_segment_release(&s);
  ASSERT_OK(mmapio_close(m));

  /* The writes reached the file. */
  {
    size_t n = 0;
    uint8_t *d = (uint8_t *)test_read_file(p, &n);
    ASSERT(d != NULL && n == total);
    ASSERT_EQ(d[ps + 10], buf[0]);
    ASSERT_EQ(d[ps + 11], buf[0]);
    free(d);
  }
  test_unlink(p);
  free(p);
  return 0;
}
