/*
 * mmapio_read / mmapio_write (include/mmapio.h section 5) in every mode: success
 * paths, NULL arguments, EMODE on RO, the zero-length rule (a 0-byte write
 * is OK before any other check; a 0-byte read still obeys bounds), and the
 * check order (arguments -> zero length -> mode -> bounds).
 */
#include "test.h"

static size_t PS;

static void rw_roundtrip(mmapio_map *m, uint64_t total, int writable)
{
  uint8_t buf[1000], got[1000];
  memset(buf, 0, sizeof buf);
  if (writable) {
    /* Across a page boundary and up to the last byte. */
    pat_fill(buf, sizeof buf, 0, 51);
    ASSERT_OK(mmapio_write(m, PS - 500, buf, sizeof buf));
    ASSERT_OK(mmapio_read(m, PS - 500, got, sizeof got));
    ASSERT_MEMEQ(buf, got, sizeof buf);
    ASSERT_OK(mmapio_write(m, total - 1, buf, 1));
    ASSERT_OK(mmapio_read(m, total - 1, got, 1));
    ASSERT_EQ(got[0], buf[0]);
    ASSERT_OK(mmapio_write(m, 0, buf, 1));
    /* The whole map in one call. */
    uint8_t *all = (uint8_t *)malloc((size_t)total);
    ASSERT(all != NULL);
    pat_fill(all, (size_t)total, 0, 52);
    ASSERT_OK(mmapio_write(m, 0, all, (size_t)total));
    memset(all, 0, (size_t)total);
    ASSERT_OK(mmapio_read(m, 0, all, (size_t)total));
    ASSERT(pat_check(all, (size_t)total, 0, 52));
    ASSERT(pat_check(mmapio_unsafe_ptr(m), (size_t)total, 0, 52));
    free(all);
  } else {
    ASSERT_STATUS(mmapio_write(m, 0, buf, 1), MMAPIO_EMODE);
    ASSERT_OK(mmapio_read(m, 0, got, 10));
  }
  /* Zero-length write: OK before anything else, in every mode, also far
   * out of bounds and with a NULL source. */
  ASSERT_OK(mmapio_write(m, 0, buf, 0));
  ASSERT_OK(mmapio_write(m, total + 1, buf, 0));
  ASSERT_OK(mmapio_write(m, UINT64_MAX, buf, 0));
  ASSERT_OK(mmapio_write(m, UINT64_MAX, NULL, 0));
  /* Zero-length read: still bounds-checked. */
  ASSERT_OK(mmapio_read(m, total, got, 0));
  ASSERT_OK(mmapio_read(m, 0, NULL, 0));
  ASSERT_BOUNDS(mmapio_read(m, total + 1, got, 0), total + 1, 0, total);
  ASSERT_BOUNDS(mmapio_read(m, UINT64_MAX, got, 0), UINT64_MAX, 0, total);
  /* NULL buffers with a length. */
  ASSERT_STATUS(mmapio_read(m, 0, NULL, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_write(m, 0, NULL, 1), MMAPIO_EINVAL);
  /* Mode before bounds on RO: EMODE even out of bounds. */
  if (!writable) {
    ASSERT_STATUS(mmapio_write(m, total + 5, buf, 1), MMAPIO_EMODE);
    ASSERT_STATUS(mmapio_write(m, UINT64_MAX, buf, 10), MMAPIO_EMODE);
  }
  /* Failed calls leave the content alone. */
  if (writable) {
    uint8_t before = 0, after = 0;
    ASSERT_OK(mmapio_read(m, total - 1, &before, 1));
    ASSERT_BOUNDS(mmapio_write(m, total - 1, buf, 2), total - 1, 2, total);
    ASSERT_OK(mmapio_read(m, total - 1, &after, 1));
    ASSERT_EQ(before, after);
  }
}

int main(void)
{
  PS = mmapio_page_size();
  uint64_t total = 3 * PS + 17;
  char *p = mk_file("rw", (size_t)total, 50);
  mmapio_map *m;

  ASSERT_STATUS(mmapio_read(NULL, 0, NULL, 0), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_write(NULL, 0, NULL, 0), MMAPIO_EINVAL); /* arguments first */
  uint8_t b = 0;
  ASSERT_STATUS(mmapio_read(NULL, 0, &b, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_write(NULL, 0, &b, 1), MMAPIO_EINVAL);

  /* RO. */
  ASSERT_OK(mmapio_open_ro(&m, p));
  {
    uint8_t got[64];
    ASSERT_OK(mmapio_read(m, 100, got, sizeof got));
    ASSERT(pat_check(got, sizeof got, 100, 50));
  }
  rw_roundtrip(m, total, 0);
  ASSERT_OK(mmapio_close(m));

  /* RW: the bytes reach the file. */
  ASSERT_OK(mmapio_open_rw(&m, p));
  rw_roundtrip(m, total, 1);
  ASSERT_OK(mmapio_close(m));
  ASSERT(file_has_pattern(p, (size_t)total, 52));

  /* COW: the bytes do not reach the file. */
  if (has_cow()) {
    test_unlink(p);
    free(p);
    p = mk_file("rw-cow", (size_t)total, 53);
    ASSERT_OK(mmapio_open_cow(&m, p));
    rw_roundtrip(m, total, 1);
    ASSERT_OK(mmapio_close(m));
    ASSERT(file_has_pattern(p, (size_t)total, 53));
  }

  /* Anonymous, private and shared. */
  ASSERT_OK(mmapio_anon(&m, total, 0));
  rw_roundtrip(m, total, 1);
  ASSERT_OK(mmapio_close(m));
  ASSERT_OK(mmapio_anon(&m, total, MMAPIO_ANON_SHARED));
  rw_roundtrip(m, total, 1);
  ASSERT_OK(mmapio_close(m));

  test_unlink(p);
  free(p);
  return 0;
}
