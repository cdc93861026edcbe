/*
 * File helpers (include/mmapio.h section 15): mmapio_copy_file, mmapio_remove_file,
 * mmapio_write_file -- success paths and every status, nothing on disk
 * changed by a failing call.
 */
#include "test.h"

int main(void)
{
  char *src = mk_file("files-src", 1000000 + 17, 111);
  char *dst = test_tmp_path("files-dst");
  char *missing = test_tmp_path("files-missing");
  char *dir = test_tmp_path("files-dir");
  ASSERT(make_dir(dir) == 0);

  /* copy_file: creates dst. */
  ASSERT_OK(mmapio_copy_file(src, dst));
  ASSERT(file_has_pattern(dst, 1000000 + 17, 111));
  /* Overwrites a larger dst (truncated to the source's size). */
  test_unlink(dst);
  {
    char *big = mk_file("files-big", 3000000, 112);
    ASSERT_OK(mmapio_copy_file(big, dst));
    ASSERT(file_has_pattern(dst, 3000000, 112));
    ASSERT_OK(mmapio_copy_file(src, dst));
    ASSERT(file_has_pattern(dst, 1000000 + 17, 111));
    test_unlink(big);
    free(big);
  }
  /* An empty source gives an empty destination. */
  {
    char *e = mk_file("files-empty", 0, 0);
    ASSERT_OK(mmapio_copy_file(e, dst));
    ASSERT_EQ(file_len(dst), 0);
    test_unlink(e);
    free(e);
  }
  ASSERT_OK(mmapio_copy_file(src, dst));

  /* Failures: nothing changes on disk. */
  file_snap s = snap_take(dst);
  ASSERT_ERR_HAS(mmapio_copy_file(missing, dst), MMAPIO_ENOENT, missing);
  ASSERT_SNAP_SAME(dst, s);
  ASSERT_STATUS(mmapio_copy_file(NULL, dst), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_copy_file(src, NULL), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_copy_file(dir, dst), MMAPIO_EINVAL);
  ASSERT_SNAP_SAME(dst, s);
  snap_free(&s);
  ASSERT_STATUS(mmapio_copy_file(missing, missing), MMAPIO_ENOENT);
  ASSERT(!file_exists(missing));
  {
    char sub[1024];
    snprintf(sub, sizeof sub, "%s/no/such/dir/file", dir);
    ASSERT_STATUS(mmapio_copy_file(src, sub), MMAPIO_ENOENT);
  }

  /* write_file: in place, within the file's length. */
  uint8_t buf[300];
  pat_fill(buf, sizeof buf, 0, 113);
  ASSERT_OK(mmapio_write_file(dst, 5000, buf, sizeof buf));
  {
    size_t n = 0;
    uint8_t *d = (uint8_t *)test_read_file(dst, &n);
    ASSERT(d != NULL && n == 1000000 + 17);
    ASSERT(pat_check(d, 5000, 0, 111));
    ASSERT_MEMEQ(d + 5000, buf, sizeof buf);
    ASSERT(pat_check(d + 5300, n - 5300, 5300, 111));
    free(d);
  }
  ASSERT_OK(mmapio_write_file(dst, 1000000 + 17 - sizeof buf, buf, sizeof buf)); /* up to the end */
  s = snap_take(dst);
  ASSERT_BOUNDS(mmapio_write_file(dst, 1000000 + 17 - 10, buf, 11), 1000000 + 17 - 10, 11, 1000000 + 17);
  ASSERT_BOUNDS(mmapio_write_file(dst, UINT64_MAX, buf, 1), UINT64_MAX, 1, 1000000 + 17);
  ASSERT_STATUS(mmapio_write_file(NULL, 0, buf, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_write_file(dst, 0, NULL, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_write_file(dir, 0, buf, 1), MMAPIO_EINVAL);
  ASSERT_SNAP_SAME(dst, s);
  snap_free(&s);
  ASSERT_ERR_HAS(mmapio_write_file(missing, 0, buf, 1), MMAPIO_ENOENT, missing);
  ASSERT(!file_exists(missing));
  {
    char *e = mk_file("files-empty2", 0, 0);
    ASSERT_ERR(mmapio_write_file(e, 0, buf, 1), MMAPIO_ESIZE, MSG_ZERO_FILE);
    ASSERT_EQ(file_len(e), 0);
    test_unlink(e);
    free(e);
  }

  /* remove_file. */
  ASSERT_OK(mmapio_remove_file(dst));
  ASSERT(!file_exists(dst));
  ASSERT_ERR_HAS(mmapio_remove_file(dst), MMAPIO_ENOENT, dst);
  ASSERT_STATUS(mmapio_remove_file(NULL), MMAPIO_EINVAL);
  /* A directory is not a file: refused, and it stays. */
  ASSERT(mmapio_remove_file(dir) != MMAPIO_OK);
  ASSERT(file_exists(dir));

  /* A file removed while mapped: the map keeps working (POSIX semantics;
   * Windows allows it thanks to FILE_SHARE_DELETE). */
  {
    mmapio_map *m;
    ASSERT_OK(mmapio_open_ro(&m, src));
    int r = mmapio_remove_file(src);
    ASSERT_OK(r);
    uint8_t got[16];
    ASSERT_OK(mmapio_read(m, 100, got, sizeof got));
    ASSERT(pat_check(got, sizeof got, 100, 111));
    ASSERT_OK(mmapio_close(m));
    ASSERT(!file_exists(src));
  }

  ASSERT(remove_dir(dir) == 0);
  free(src);
  free(dst);
  free(missing);
  free(dir);
  return 0;
}
