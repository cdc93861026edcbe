/*
 * Copy-on-write maps (include/mmapio.h section 4): a real private writable mapping.
 * Reads see the file, writes (mmapio_write, write views) stay in this
 * process and never reach the file, flush is a no-op, flush_range still
 * checks bounds, resize is EMODE (before the size), the policy is MANUAL.
 */
#include "test.h"

int main(void)
{
  if (!has_cow()) {
    char *p = mk_file("cow-off", 100, 1);
    mmapio_map *m = BAD_MAP;
    ASSERT_STATUS(mmapio_open_cow(&m, p), MMAPIO_ENOTSUP);
    ASSERT(m == NULL);
    test_unlink(p);
    free(p);
    TEST_SKIP("COW feature compiled out (open_cow returns ENOTSUP as required)");
  }
  size_t ps = mmapio_page_size();
  uint64_t total = 4 * ps + 10;
  char *p = mk_file("cow", (size_t)total, 41);
  file_snap orig = snap_take(p);
  mmapio_map *m, *m2, *rw;
  uint8_t buf[200], got[200];

  ASSERT_OK(mmapio_open_cow(&m, p));
  ASSERT_EQ(mmapio_mode_of(m), MMAPIO_MODE_COPY_ON_WRITE);
  ASSERT(pat_check(mmapio_unsafe_ptr(m), (size_t)total, 0, 41));

  /* Private writes: visible here, not in the file, not in another COW map. */
  memset(buf, 0x77, sizeof buf);
  ASSERT_OK(mmapio_write(m, ps - 50, buf, sizeof buf));
  ASSERT_OK(mmapio_read(m, ps - 50, got, sizeof got));
  ASSERT_MEMEQ(got, buf, sizeof buf);
  mmapio_view_mut w;
  ASSERT_OK(mmapio_view_get_mut(&w, m, 3 * ps, 16));
  memset(w.data, 0x11, 16);
  ASSERT_OK(mmapio_view_mut_release(&w));
  mmapio_view v;
  ASSERT_OK(mmapio_view_get(&v, m, 3 * ps, 16));
  ASSERT(all_bytes(v.data, 16, 0x11));
  mmapio_view_release(&v);
  ((uint8_t *)mmapio_unsafe_ptr(m))[total - 1] = 0x99;

  ASSERT_OK(mmapio_open_cow(&m2, p));
  ASSERT(pat_check(mmapio_unsafe_ptr(m2), (size_t)total, 0, 41));
  ASSERT_OK(mmapio_open_ro(&rw, p));
  ASSERT(pat_check(mmapio_unsafe_ptr(rw), (size_t)total, 0, 41));
  ASSERT_OK(mmapio_close(rw));
  ASSERT_SNAP_SAME(p, orig);

  /* Flush is OK and does nothing; flush_range checks bounds. */
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_flush_range(m, 0, total));
  ASSERT_OK(mmapio_flush_range(m, total, 0));
  ASSERT_OK(mmapio_flush_range(m, UINT64_MAX, 0));
  ASSERT_BOUNDS(mmapio_flush_range(m, total, 1), total, 1, total);
  ASSERT_BOUNDS(mmapio_flush_range(m, 1, UINT64_MAX), 1, UINT64_MAX, total);
  ASSERT_SNAP_SAME(p, orig);

  /* Resize: EMODE, checked before the size. */
  ASSERT_STATUS(mmapio_resize(m, total * 2), MMAPIO_EMODE);
  ASSERT_STATUS(mmapio_resize(m, 0), MMAPIO_EMODE);
  ASSERT_STATUS(mmapio_resize(m, UINT64_MAX), MMAPIO_EMODE);
  ASSERT_U64_EQ(mmapio_len(m), total);

  /* Policy forced to MANUAL, nothing pending. */
  ASSERT_EQ(mmapio_flush_policy_of(m).kind, MMAPIO_FLUSH_MANUAL);
  ASSERT_U64_EQ(mmapio_pending_bytes(m), 0);

  /* Bounds and modes like any writable map. */
  ASSERT_BOUNDS(mmapio_write(m, total - 1, buf, 2), total - 1, 2, total);
  ASSERT_OK(mmapio_write(m, UINT64_MAX, buf, 0));

  ASSERT_OK(mmapio_close(m2));
  ASSERT_OK(mmapio_close(m));

  /* After close: the file is exactly as before (reopen and compare). */
  ASSERT_SNAP_SAME(p, orig);
  ASSERT_OK(mmapio_open_ro(&m, p));
  ASSERT(pat_check(mmapio_unsafe_ptr(m), (size_t)total, 0, 41));
  ASSERT_OK(mmapio_close(m));

  /* COW via the builder, with options that must be ignored or refused. */
  mmapio_options o = opts(MMAPIO_MODE_COPY_ON_WRITE, 0, 0);
  o.flush_policy.kind = MMAPIO_FLUSH_ALWAYS;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_EQ(mmapio_flush_policy_of(m).kind, MMAPIO_FLUSH_MANUAL);
  ASSERT_OK(mmapio_write(m, 0, buf, sizeof buf));
  ASSERT_OK(mmapio_close(m));
  ASSERT_SNAP_SAME(p, orig);

  snap_free(&orig);
  test_unlink(p);
  free(p);
  return 0;
}
