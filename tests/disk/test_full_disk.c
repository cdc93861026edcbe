/*
 * A full disk is MMAPIO_ENOSPC at create and resize time (disk blocks are
 * reserved), not a SIGBUS at write time. A fork()ed child enters a private
 * mount namespace and mounts a 1 MiB tmpfs (skipped with 77 where that is
 * not permitted), then:
 *   - create_rw of 4 MiB -> ENOSPC naming the path, no file left behind;
 *   - a 512 KiB map resized to 4 MiB -> ENOSPC, old length intact on disk
 *     and in the map, data readable and writable;
 *   - a second file that no longer fits -> ENOSPC;
 *   - with MMAPIO_OPEN_SPARSE the 4 MiB create succeeds.
 */
#include "test.h"

#if defined(__linux__)
#  include <sys/mount.h>

static int in_child(void *arg)
{
  const char *dir = (const char *)arg;
  /* Our mount stays out of the parent's namespace. */
  if (test_private_tmpfs(dir, "size=1m") != NULL) return 77;

  char a[1024], b[1024], c[1024], s[1024];
  snprintf(a, sizeof a, "%s/a.bin", dir);
  snprintf(b, sizeof b, "%s/b.bin", dir);
  snprintf(c, sizeof c, "%s/c.bin", dir);
  snprintf(s, sizeof s, "%s/sparse.bin", dir);
  mmapio_map *m = BAD_MAP;

  /* Create beyond the device: ENOSPC, no file. */
  int st = mmapio_create_rw(&m, a, 4 * MIB);
  TALLY_CHECK(st == MMAPIO_ENOSPC);
  TALLY_CHECK(m == NULL);
  TALLY_CHECK(strstr(mmapio_last_error(), a) != NULL);
  TALLY_CHECK(!file_exists(a));
  mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_EXCLUSIVE, 4 * MIB);
  TALLY_CHECK(mmapio_open(&m, a, &o) == MMAPIO_ENOSPC);
  TALLY_CHECK(!file_exists(a));
  TALLY_CHECK(mmapio_open_or_create(&m, a, 4 * MIB) == MMAPIO_ENOSPC);
  TALLY_CHECK(!file_exists(a));

  /* A file that fits, then a resize that does not. */
  mmapio_map *mb;
  st = mmapio_create_rw(&mb, b, 512 * KIB);
  TALLY_CHECK(st == MMAPIO_OK);
  if (st == MMAPIO_OK) {
    uint8_t *buf = (uint8_t *)malloc(512 * KIB);
    pat_fill(buf, 512 * KIB, 0, 171);
    TALLY_CHECK(mmapio_write(mb, 0, buf, 512 * KIB) == MMAPIO_OK);
    TALLY_CHECK(mmapio_resize(mb, 4 * MIB) == MMAPIO_ENOSPC);
    TALLY_CHECK(mmapio_len(mb) == 512 * KIB);
    TALLY_CHECK(file_len(b) == (int64_t)(512 * KIB));
    uint8_t *got = (uint8_t *)malloc(512 * KIB);
    TALLY_CHECK(mmapio_read(mb, 0, got, 512 * KIB) == MMAPIO_OK);
    TALLY_CHECK(memcmp(got, buf, 512 * KIB) == 0);
    TALLY_CHECK(mmapio_write(mb, 512 * KIB - 1, buf, 1) == MMAPIO_OK);
    TALLY_CHECK(mmapio_flush(mb) == MMAPIO_OK);

    /* The remaining space cannot hold another 600 KiB file. */
    mmapio_map *mc = BAD_MAP;
    TALLY_CHECK(mmapio_create_rw(&mc, c, 600 * KIB) == MMAPIO_ENOSPC);
    TALLY_CHECK(mc == NULL);
    TALLY_CHECK(!file_exists(c));

    /* SPARSE: no reservation, so the create succeeds. */
    mmapio_map *ms;
    o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_SPARSE, 4 * MIB);
    st = mmapio_open(&ms, s, &o);
    TALLY_CHECK(st == MMAPIO_OK);
    if (st == MMAPIO_OK) {
      TALLY_CHECK(mmapio_len(ms) == 4 * MIB);
      TALLY_CHECK(file_len(s) == (int64_t)(4 * MIB));
      TALLY_CHECK(mmapio_close(ms) == MMAPIO_OK);
    }
    TALLY_CHECK(mmapio_close(mb) == MMAPIO_OK);
    TALLY_CHECK(file_len(b) == (int64_t)(512 * KIB));
    free(buf);
    free(got);
  }
  if (umount(dir) != 0) {}
  return test_child_result();
}
#endif

int main(void)
{
#if !defined(__linux__)
  TEST_SKIP("the tmpfs full-disk test needs Linux mount namespaces");
#else
  char *dir = test_tmp_path("fulldisk");
  ASSERT(make_dir(dir) == 0);
  int st = test_fork_call(in_child, dir);
  /* The mount lived only in the child's namespace: the directory is empty. */
  remove_dir(dir);
  free(dir);
  int code = test_child_exit(st, "full-disk checks (a full disk must not crash)");
  if (code == 77) TEST_SKIP("cannot unshare a mount namespace or mount tmpfs here (EPERM)");
  if (code != 0) TEST_FAIL_("full-disk checks failed in the child (exit %d)", code);
  return 0;
#endif
}
