/*
 * test_locking.c -- mmapio_lock / unlock / lock_all / unlock_all (feature
 * LOCKING): success in every mode, zero length, bounds, NULL; locked pages
 * are resident; and, in a forked unprivileged child with a small
 * RLIMIT_MEMLOCK, the refusals are EACCES (limit 0) and ENOMEM (over the
 * limit) with a message naming RLIMIT_MEMLOCK.
 */
#include "internal.h"
#include "test.h"

/* The sanitizers' runtimes replace mlock/munlock with no-ops (they would
 * otherwise lock the huge shadow memory with mlockall): under them
 * (UNDER_SANITIZER), lock calls succeed without locking, so the effects
 * cannot be checked. */

static size_t pg;

static void lock_cycle(mmapio_map *m)
{
  uint64_t len = mmapio_len(m);
  uint64_t r = 0, t = 0;
  ASSERT_OK(mmapio_lock(m, 1, 2 * pg)); /* unaligned: pages 0..2 */
  ASSERT_OK(mmapio_residency(&r, &t, m, 0, 3 * pg));
  if (!UNDER_SANITIZER) ASSERT_U64_EQ(r, 3);
  ASSERT_OK(mmapio_unlock(m, 1, 2 * pg));
  ASSERT_OK(mmapio_unlock(m, 1, 2 * pg)); /* unlocking unlocked pages is fine */
  ASSERT_OK(mmapio_lock_all(m));
  ASSERT_OK(mmapio_residency(&r, &t, m, 0, len));
  if (!UNDER_SANITIZER) ASSERT_U64_EQ(r, t);
  ASSERT_OK(mmapio_unlock_all(m));
  ASSERT_OK(mmapio_lock(m, len - 1, 1));
  ASSERT_OK(mmapio_unlock(m, len - 1, 1));
}

static void test_basic(void)
{
  size_t len = 16 * pg + 3;
  char *path = mk_file("lock", len, 1);
  file_snap s = snap_take(path);
  mmapio_map *m = NULL;

  ASSERT_STATUS(mmapio_lock(NULL, 0, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_lock(NULL, 0, 0), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_unlock(NULL, 0, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_lock_all(NULL), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_unlock_all(NULL), MMAPIO_EINVAL);

  mmapio_mode modes[3] = {MMAPIO_MODE_READ_ONLY, MMAPIO_MODE_READ_WRITE,
                          MMAPIO_MODE_COPY_ON_WRITE};
  for (int i = 0; i < 3; i++) {
    if (modes[i] == MMAPIO_MODE_COPY_ON_WRITE && !has_cow()) continue;
    mmapio_options o = opts(modes[i], 0, 0);
    ASSERT_OK(mmapio_open(&m, path, &o));
    /* Zero length: OK before the bounds check; bounds with the message. */
    ASSERT_OK(mmapio_lock(m, UINT64_MAX, 0));
    ASSERT_OK(mmapio_unlock(m, UINT64_MAX, 0));
    ASSERT_BOUNDS(mmapio_lock(m, len, 1), len, 1, len);
    ASSERT_BOUNDS(mmapio_unlock(m, 0, len + 1), 0, len + 1, len);
    ASSERT_BOUNDS(mmapio_lock(m, 1, UINT64_MAX), 1, UINT64_MAX, len);
    lock_cycle(m);
    /* Locks do not stop a close. */
    ASSERT_OK(mmapio_lock_all(m));
    ASSERT_OK(mmapio_close(m));
  }
  ASSERT_SNAP_SAME(path, s);
  snap_free(&s);

  ASSERT_OK(mmapio_anon(&m, len, 0));
  lock_cycle(m);
  ASSERT_OK(mmapio_close(m));

  /* An empty map: lock_all has nothing to do. */
  char *empty = mk_file("lockempty", 0, 0);
  ASSERT_OK(mmapio_open_ro(&m, empty));
  ASSERT_OK(mmapio_lock_all(m));
  ASSERT_OK(mmapio_unlock_all(m));
  ASSERT_BOUNDS(mmapio_lock(m, 0, 1), 0, 1, 0);
  ASSERT_OK(mmapio_close(m));
  test_unlink(empty);
  free(empty);
  test_unlink(path);
  free(path);
}

#ifndef _WIN32
/* Child, under RLIMIT_MEMLOCK 0 (hard limit 64 KiB): drop privileges, then
 * check the refusals. Exit 0 pass, 77 skip. */
static int limits_child(void *path)
{
  mmapio_map *m = NULL;
  if (mmapio_open_ro(&m, (const char *)path) != MMAPIO_OK) return 10;
  if (geteuid() == 0) {
    /* Root has CAP_IPC_LOCK; become "nobody" so the limit applies. */
    if (setgid(65534) != 0 || setuid(65534) != 0) return 77;
  }
  /* Limit 0: an unprivileged process may not lock at all (EPERM). */
  int rc = mmapio_lock(m, 0, pg);
  if (rc != MMAPIO_EACCES) {
    fprintf(stderr, "limit 0: got %d (%s): %s\n", rc, mmapio_strerror(rc), mmapio_last_error());
    return 11;
  }
  if (strstr(mmapio_last_error(), "RLIMIT_MEMLOCK") == NULL ||
      strstr(mmapio_last_error(), "ulimit -l") == NULL) {
    fprintf(stderr, "message: %s\n", mmapio_last_error());
    return 12;
  }
  if (mmapio_last_os_error() == 0) return 13;
  /* Limit 64 KiB: 1 MiB is refused with ENOMEM and the current limit. */
  struct rlimit rl;
  rl.rlim_cur = 64 * 1024;
  rl.rlim_max = 64 * 1024;
  if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0) return 14;
  rc = mmapio_lock(m, 0, 1024 * 1024);
  if (rc != MMAPIO_ENOMEM) {
    fprintf(stderr, "over limit: got %d (%s): %s\n", rc, mmapio_strerror(rc), mmapio_last_error());
    return 15;
  }
  if (strstr(mmapio_last_error(), "RLIMIT_MEMLOCK (currently 65536 bytes)") == NULL ||
      strstr(mmapio_last_error(), "mlock(") == NULL) {
    fprintf(stderr, "message: %s\n", mmapio_last_error());
    return 16;
  }
  printf("over-limit message: %s\n", mmapio_last_error());
  fflush(stdout);
  /* Under the limit it works. */
  if (mmapio_lock(m, 0, 4 * pg) != MMAPIO_OK) {
    fprintf(stderr, "under limit: %s\n", mmapio_last_error());
    return 17;
  }
  if (mmapio_unlock_all(m) != MMAPIO_OK) return 18;
  if (mmapio_close(m) != MMAPIO_OK) return 19;
  return 0;
}

static void test_limits(void)
{
  char *path = mk_file("locklim", 2 * 1024 * 1024, 2);
  int st = test_fork_rlimit(RLIMIT_MEMLOCK, 0, 64 * 1024, limits_child, path);
  test_unlink(path);
  free(path);
  int code = test_child_exit(st, "RLIMIT_MEMLOCK checks");
  if (code == 77) TEST_SKIP("cannot drop privileges / set RLIMIT_MEMLOCK here");
  ASSERT_EQ(code, 0);
}
#endif

int main(void)
{
  pg = mmapio_page_size();
  if (!MMAPIO_WITH_LOCKING) {
    ASSERT_EQ(mmapio_has_feature(MMAPIO_FEATURE_LOCKING), 0);
    ASSERT_STATUS(mmapio_lock(NULL, 0, 1), MMAPIO_ENOTSUP);
    ASSERT_STATUS(mmapio_unlock(NULL, 0, 1), MMAPIO_ENOTSUP);
    ASSERT_STATUS(mmapio_lock_all(NULL), MMAPIO_ENOTSUP);
    ASSERT_STATUS(mmapio_unlock_all(NULL), MMAPIO_ENOTSUP);
    TEST_SKIP("feature LOCKING is compiled out (stubs checked)");
  }
  ASSERT_EQ(mmapio_has_feature(MMAPIO_FEATURE_LOCKING), 1);
  test_basic();
#ifdef _WIN32
  printf("locking: limit checks need fork()/setrlimit; skipped on Windows\n");
#else
  if (UNDER_SANITIZER) TEST_SKIP("the sanitizer runtime makes mlock a no-op: limits not checkable");
  test_limits();
#endif
  printf("locking: all checks passed\n");
  return 0;
}
