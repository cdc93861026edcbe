/*
 * test_copy_fail.c -- mmapio_copy_file when the OS calls of the copy fail
 * (POSIX backend, injected through the syscall table):
 *   - the status is that of the OS error and the detail names the failing
 *     call and the file it failed on (the source for read, else the
 *     destination), e.g. "write(<dst>): No space left on device";
 *   - the source is never changed;
 *   - a destination this call created is removed again: a failed copy
 *     leaves no partial file behind;
 *   - an existing destination with one name is replaced by a temporary
 *     file renamed over it, keeping its owner and permission bits (also the
 *     set-user-ID bit of a user's own file, which a write clears; and a
 *     symbolic link stays a link to the replaced target): any failure
 *     leaves it unchanged and no temporary file behind;
 *   - a dangling symbolic link gets its target created; a failure removes
 *     that target again and leaves the link as it was;
 *   - a destination with two names is copied in place; a failure before
 *     its truncate leaves it unchanged;
 *   - copy_file_range refused (EXDEV, ENOSYS, ...) falls back to read/write
 *     and the copy is exact.
 */
#include "test.h"

#if !defined(MMAPIO_TEST_HOOKS) || defined(_WIN32)
int main(void) { TEST_SKIP("needs the POSIX backend's syscall table (MMAPIO_TEST_HOOKS)"); }
#else

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

static char *src, *dst;
static file_snap src_snap;
#define SRC_LEN (300u * 1024u + 17u) /* more than one read/write buffer */

static void expect_fail(const char *call, int err, const char *epath)
{
  int rc = mmapio_copy_file(src, dst);
  unsigned hits = mmapio__sys_count(call);
  mmapio__sys_reset();
  if (hits == 0) TEST_FAIL_("the copy made no %s call", call);
  ASSERT_STATUS(rc, mmapio__os_status(err));
  char want[1024];
  snprintf(want, sizeof want, "%s(%s)", call, epath);
  if (strstr(mmapio_last_error(), want) == NULL)
    TEST_FAIL_("detail \"%s\" lacks \"%s\"", mmapio_last_error(), want);
  ASSERT_EQ(mmapio_last_os_error(), err);
  ASSERT_SNAP_SAME(src, src_snap);
}

/* The child of the set-user-ID case: as user and group 65534, which own
 * the directory of `dst`. */
static int copy_as_nobody(void *arg)
{
  (void)arg;
  CHILD_CHECK(setgid(65534) == 0 && setuid(65534) == 0);
  /* A test directory under a private home (0700) is out of its reach. */
  if (access(src, R_OK) != 0 || access(dst, F_OK) == 0 || errno != ENOENT) return 77;
  uint8_t old[100];
  pat_fill(old, sizeof old, 0, 23);
  CHILD_CHECK(test_write_file(dst, old, sizeof old) == 0);
  CHILD_CHECK(chmod(dst, 06755) == 0);
  CHILD_CHECK(mmapio_copy_file(src, dst) == MMAPIO_OK);
  struct stat st;
  CHILD_CHECK(stat(dst, &st) == 0);
  if ((st.st_mode & 07777) != 06755) {
    fprintf(stderr, "child: mode %o, want 6755\n", (unsigned)(st.st_mode & 07777));
    return 1;
  }
  CHILD_CHECK(st.st_uid == 65534);
  return 0;
}

int main(void)
{
  src = mk_file("copyf-src", SRC_LEN, 21);
  dst = test_tmp_path("copyf-dst");
  src_snap = snap_take(src);

  /* The probe: does this build route the copy through the table? */
  mmapio__sys_reset();
  ASSERT_OK(mmapio_copy_file(src, dst));
  unsigned calls = mmapio__sys_count(NULL);
  mmapio__sys_reset();
  ASSERT(file_has_pattern(dst, SRC_LEN, 21));
  test_unlink(dst);
  if (calls == 0) TEST_SKIP("the backend routes no OS call through the test hooks");
  int has_cfr = 0;
  mmapio__sys_reset();
  ASSERT_OK(mmapio_copy_file(src, dst));
  has_cfr = mmapio__sys_count("copy_file_range") > 0;
  mmapio__sys_reset();
  test_unlink(dst);

  /* copy_file_range refused: the read/write loop copies exactly. */
  static const int refusals[] = {EXDEV, ENOSYS, EOPNOTSUPP, EINVAL};
  for (size_t i = 0; has_cfr && i < sizeof refusals / sizeof refusals[0]; i++) {
    mmapio__sys_fail_nth("copy_file_range", 1, refusals[i]);
    ASSERT_OK(mmapio_copy_file(src, dst));
    ASSERT(mmapio__sys_count("read") > 0);
    mmapio__sys_reset();
    ASSERT(file_has_pattern(dst, SRC_LEN, 21));
    test_unlink(dst);
  }

  /* New destination: every failure removes it again. */
  if (has_cfr) {
    mmapio__sys_fail_nth("copy_file_range", 1, ENOSPC);
    expect_fail("copy_file_range", ENOSPC, dst);
    ASSERT(!file_exists(dst));
    /* The second chunk fails, after bytes were copied. */
    mmapio__sys_fail_nth("copy_file_range", 2, EIO);
    expect_fail("copy_file_range", EIO, dst);
    ASSERT(!file_exists(dst));
  }
  if (has_cfr) mmapio__sys_fail_nth("copy_file_range", 1, EXDEV);
  mmapio__sys_fail_nth("write", 2, ENOSPC); /* after one buffer was written */
  expect_fail("write", ENOSPC, dst);
  ASSERT(!file_exists(dst));
  if (has_cfr) mmapio__sys_fail_nth("copy_file_range", 1, EXDEV);
  mmapio__sys_fail_nth("read", 2, EIO);
  expect_fail("read", EIO, src);
  ASSERT(!file_exists(dst));
  mmapio__sys_fail_nth("close", 2, EIO); /* the destination's close: a delayed write error */
  expect_fail("close", EIO, dst);
  ASSERT(!file_exists(dst));
  /* An interrupted write is retried, not reported. */
  if (has_cfr) mmapio__sys_fail_nth("copy_file_range", 1, EXDEV);
  mmapio__sys_fail_nth("write", 1, EINTR);
  ASSERT_OK(mmapio_copy_file(src, dst));
  mmapio__sys_reset();
  ASSERT(file_has_pattern(dst, SRC_LEN, 21));
  test_unlink(dst);

  /* Existing destination (one name): the copy goes to a temporary file in
   * its directory that replaces it at the end, so every failure, even in
   * the middle of the copy or of its close or rename, leaves it exactly as
   * it was and leaves no temporary file. A directory of its own shows
   * leftovers. */
  char *dir = test_tmp_path("copyf-dir");
  ASSERT_EQ(make_dir(dir), 0);
  free(dst);
  size_t dn = strlen(dir) + 16;
  dst = (char *)malloc(dn);
  ASSERT(dst != NULL);
  snprintf(dst, dn, "%s/dst", dir);
  uint8_t old[1000];
  pat_fill(old, sizeof old, 0, 22);
  ASSERT_EQ(test_write_file(dst, old, sizeof old), 0);
  ASSERT_EQ(chmod(dst, 0640), 0);
  file_snap dst_snap = snap_take(dst);
  struct stat before;
  ASSERT_EQ(stat(dst, &before), 0);
  mmapio__sys_fail_nth("fstat", 2, EIO); /* the destination's fstat */
  expect_fail("fstat", EIO, dst);
  ASSERT_SNAP_SAME(dst, dst_snap);
  ASSERT_EQ(test_dir_entries(dir), 1);
  if (has_cfr) {
    mmapio__sys_fail_nth("copy_file_range", 2, ENOSPC); /* after bytes were copied */
    expect_fail("copy_file_range", ENOSPC, dst);
    ASSERT_SNAP_SAME(dst, dst_snap);
    ASSERT_EQ(test_dir_entries(dir), 1);
  }
  if (has_cfr) mmapio__sys_fail_nth("copy_file_range", 1, EXDEV);
  mmapio__sys_fail_nth("write", 2, ENOSPC);
  expect_fail("write", ENOSPC, dst);
  ASSERT_SNAP_SAME(dst, dst_snap);
  ASSERT_EQ(test_dir_entries(dir), 1);
  /* The new file's close (the destination's descriptor stays open until
   * the end). */
  mmapio__sys_fail_nth("close", 1, EIO);
  expect_fail("close", EIO, dst);
  ASSERT_SNAP_SAME(dst, dst_snap);
  ASSERT_EQ(test_dir_entries(dir), 1);
  mmapio__sys_fail_nth("rename", 1, EIO);
  expect_fail("rename", EIO, dst);
  ASSERT_SNAP_SAME(dst, dst_snap);
  ASSERT_EQ(test_dir_entries(dir), 1);
  /* A failed temporary create (disk full) is reported; nothing changes. */
  mmapio__sys_fail_nth("open", 4, ENOSPC); /* src, dst (O_EXCL, then existing), the temporary */
  expect_fail("open", ENOSPC, dst);
  ASSERT_SNAP_SAME(dst, dst_snap);
  ASSERT_EQ(test_dir_entries(dir), 1);
  /* A directory that refuses the temporary file (EACCES: the file is
   * writable, its directory is not): copied in place. */
  mmapio__sys_fail_nth("open", 4, EACCES);
  ASSERT_OK(mmapio_copy_file(src, dst));
  ASSERT_EQ(mmapio__sys_count("ftruncate"), 1);
  mmapio__sys_reset();
  ASSERT(file_has_pattern(dst, SRC_LEN, 21));
  ASSERT_EQ(test_dir_entries(dir), 1);
  ASSERT_EQ(test_write_file(dst, old, sizeof old), 0);
  ASSERT_EQ(chmod(dst, 0640), 0);
  /* And the copy works once the OS does: the file keeps its permission
   * bits and owner, no truncate is made. */
  ASSERT_OK(mmapio_copy_file(src, dst));
  ASSERT_EQ(mmapio__sys_count("ftruncate"), 0);
  mmapio__sys_reset();
  ASSERT(file_has_pattern(dst, SRC_LEN, 21));
  struct stat after;
  ASSERT_EQ(stat(dst, &after), 0);
  ASSERT_EQ(after.st_mode & 07777, 0640);
  ASSERT_EQ(after.st_uid, before.st_uid);
  ASSERT_EQ(after.st_gid, before.st_gid);
  ASSERT_EQ(test_dir_entries(dir), 1);
  if (geteuid() == 0) {
    /* root: another user's file stays that user's. */
    ASSERT_EQ(test_write_file(dst, old, sizeof old), 0);
    ASSERT_EQ(chown(dst, 4242, 4343), 0);
    ASSERT_OK(mmapio_copy_file(src, dst));
    ASSERT_EQ(stat(dst, &after), 0);
    ASSERT_EQ(after.st_uid, 4242);
    ASSERT_EQ(after.st_gid, 4343);
    ASSERT(file_has_pattern(dst, SRC_LEN, 21));
    /* A user without CAP_FSETID replacing a set-user-ID / set-group-ID
     * file of their own: writing clears those bits, so the new file gets
     * its permission bits after the bytes. */
    test_unlink(dst);
    ASSERT_EQ(chown(dir, 65534, 65534), 0);
    int st = test_fork_call(copy_as_nobody, NULL);
    int code = test_child_exit(st, "copy_as_nobody");
    ASSERT_EQ(chown(dir, 0, 0), 0);
    if (code == 77) {
      printf("note: user 65534 cannot reach %s, set-user-ID case not tested\n", dir);
      ASSERT_OK(mmapio_copy_file(src, dst));
    } else {
      ASSERT_EQ(code, 0);
      ASSERT(file_has_pattern(dst, SRC_LEN, 21));
    }
  }
  snap_free(&dst_snap);

  /* A symbolic link: its target is replaced, the link stays a link. */
  char *tgt = (char *)malloc(dn), *lnk = (char *)malloc(dn);
  ASSERT(tgt != NULL && lnk != NULL);
  snprintf(tgt, dn, "%s/tgt", dir);
  snprintf(lnk, dn, "%s/lnk", dir);
  ASSERT_EQ(test_write_file(tgt, old, sizeof old), 0);
  ASSERT_EQ(symlink("tgt", lnk), 0);
  ASSERT_OK(mmapio_copy_file(src, lnk));
  struct stat lst;
  ASSERT_EQ(lstat(lnk, &lst), 0);
  ASSERT(S_ISLNK(lst.st_mode));
  ASSERT(file_has_pattern(tgt, SRC_LEN, 21));
  ASSERT_EQ(test_dir_entries(dir), 3);
  test_unlink(lnk);

  /* A dangling symbolic link: its missing target is created (exclusively)
   * and gets the copy; the link stays. A failed copy removes the target it
   * created, so the link dangles as before. A relative target is taken
   * from its link's directory, through a chain of two links too; an
   * absolute one as it is. A target in a missing directory is ENOENT. */
  {
    char *sub = test_path_in(dir, "sub"), *newt = test_path_in(dir, "new-tgt");
    ASSERT_EQ(make_dir(sub), 0);
    char *lnk2 = test_path_in(sub, "lnk2"), *lnk3 = test_path_in(sub, "lnk3");
    ASSERT_EQ(symlink("new-tgt", lnk), 0);
    ASSERT_EQ(symlink("../lnk", lnk2), 0);
    ASSERT_EQ(symlink(newt, lnk3), 0);
    char *saved = dst;
    char *links[] = {lnk, lnk2, lnk3};
    for (size_t i = 0; i < 3; i++) {
      dst = links[i];
      if (has_cfr) mmapio__sys_fail_nth("copy_file_range", 1, EXDEV);
      mmapio__sys_fail_nth("write", 2, ENOSPC);
      expect_fail("write", ENOSPC, dst);
      ASSERT(!file_exists(newt));
      mmapio__sys_fail_nth("close", 2, EIO); /* the created target's close */
      expect_fail("close", EIO, dst);
      ASSERT(!file_exists(newt));
      mmapio__sys_fail_nth("fstat", 2, EIO); /* the created target's fstat */
      expect_fail("fstat", EIO, dst);
      ASSERT(!file_exists(newt));
      ASSERT_EQ(lstat(lnk, &lst), 0);
      ASSERT(S_ISLNK(lst.st_mode));
      ASSERT_OK(mmapio_copy_file(src, dst));
      ASSERT(file_has_pattern(newt, SRC_LEN, 21));
      for (size_t j = 0; j < 3; j++) {
        ASSERT_EQ(lstat(links[j], &lst), 0);
        ASSERT(S_ISLNK(lst.st_mode));
      }
      test_unlink(newt);
    }
    char buf[64];
    ASSERT_EQ(readlink(lnk, buf, sizeof buf), 7);
    ASSERT(memcmp(buf, "new-tgt", 7) == 0);
    test_unlink(lnk);
    ASSERT_EQ(symlink("no-such-dir/x", lnk), 0);
    dst = lnk;
    ASSERT_STATUS(mmapio_copy_file(src, lnk), MMAPIO_ENOENT);
    ASSERT_EQ(lstat(lnk, &lst), 0);
    ASSERT(S_ISLNK(lst.st_mode));
    dst = saved;
    test_unlink(lnk);
    test_unlink(lnk2);
    test_unlink(lnk3);
    ASSERT_EQ(remove_dir(sub), 0);
    ASSERT_EQ(test_dir_entries(dir), 2);
    free(sub);
    free(newt);
    free(lnk2);
    free(lnk3);
  }

  /* Two names (a hard link): copied in place so that both names see the
   * copy. A failure before the truncate changes nothing; one in the middle
   * is reported and leaves the file (the caller's) partly written. */
  ASSERT_EQ(test_write_file(tgt, old, sizeof old), 0);
  ASSERT_EQ(link(tgt, lnk), 0);
  dst_snap = snap_take(lnk);
  mmapio__sys_fail_nth("ftruncate", 1, EIO);
  test_unlink(dst);
  free(dst);
  dst = lnk;
  expect_fail("ftruncate", EIO, lnk);
  ASSERT_SNAP_SAME(lnk, dst_snap);
  if (has_cfr) mmapio__sys_fail_nth("copy_file_range", 1, EXDEV);
  mmapio__sys_fail_nth("write", 2, ENOSPC);
  expect_fail("write", ENOSPC, lnk);
  ASSERT(file_exists(lnk));
  ASSERT_OK(mmapio_copy_file(src, lnk));
  ASSERT(file_has_pattern(tgt, SRC_LEN, 21));
  ASSERT(file_has_pattern(lnk, SRC_LEN, 21));
  ASSERT_EQ(test_dir_entries(dir), 2);
  snap_free(&dst_snap);
  test_unlink(lnk);
  test_unlink(tgt);
  ASSERT_EQ(remove_dir(dir), 0);
  free(tgt);
  free(dir);

  snap_free(&src_snap);
  test_unlink(src);
  free(src);
  free(dst);
  printf("ok\n");
  return 0;
}
#endif
