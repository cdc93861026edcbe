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
#  include <sched.h>
#  include <sys/mount.h>
#  include <sys/wait.h>

static int child_fails;
#  define CHECK(cond)                                                                       \
    do {                                                                                  \
      if (!(cond)) {                                                                      \
        fprintf(stderr, "%s:%d: child check failed: %s (last_error \"%s\")\n", __FILE__,  \
                __LINE__, #cond, mmapio_last_error());                                    \
        child_fails++;                                                                    \
      }                                                                                   \
    } while (0)

static int in_child(const char *dir)
{
  if (unshare(CLONE_NEWNS) != 0) return 77;
  /* Keep our mount out of the parent's namespace. */
  if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return 77;
  if (mount("tmpfs", dir, "tmpfs", 0, "size=1m") != 0) return 77;

  char a[1024], b[1024], c[1024], s[1024];
  snprintf(a, sizeof a, "%s/a.bin", dir);
  snprintf(b, sizeof b, "%s/b.bin", dir);
  snprintf(c, sizeof c, "%s/c.bin", dir);
  snprintf(s, sizeof s, "%s/sparse.bin", dir);
  mmapio_map *m = BAD_MAP;

  /* Create beyond the device: ENOSPC, no file. */
  int st = mmapio_create_rw(&m, a, 4 * MIB);
  CHECK(st == MMAPIO_ENOSPC);
  CHECK(m == NULL);
  CHECK(strstr(mmapio_last_error(), a) != NULL);
  CHECK(!file_exists(a));
  mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_EXCLUSIVE, 4 * MIB);
  CHECK(mmapio_open(&m, a, &o) == MMAPIO_ENOSPC);
  CHECK(!file_exists(a));
  CHECK(mmapio_open_or_create(&m, a, 4 * MIB) == MMAPIO_ENOSPC);
  CHECK(!file_exists(a));

  /* A file that fits, then a resize that does not. */
  mmapio_map *mb;
  st = mmapio_create_rw(&mb, b, 512 * KIB);
  CHECK(st == MMAPIO_OK);
  if (st == MMAPIO_OK) {
    uint8_t *buf = (uint8_t *)malloc(512 * KIB);
    pat_fill(buf, 512 * KIB, 0, 171);
    CHECK(mmapio_write(mb, 0, buf, 512 * KIB) == MMAPIO_OK);
    CHECK(mmapio_resize(mb, 4 * MIB) == MMAPIO_ENOSPC);
    CHECK(mmapio_len(mb) == 512 * KIB);
    CHECK(file_len(b) == (int64_t)(512 * KIB));
    uint8_t *got = (uint8_t *)malloc(512 * KIB);
    CHECK(mmapio_read(mb, 0, got, 512 * KIB) == MMAPIO_OK);
    CHECK(memcmp(got, buf, 512 * KIB) == 0);
    CHECK(mmapio_write(mb, 512 * KIB - 1, buf, 1) == MMAPIO_OK);
    CHECK(mmapio_flush(mb) == MMAPIO_OK);

    /* The remaining space cannot hold another 600 KiB file. */
    mmapio_map *mc = BAD_MAP;
    CHECK(mmapio_create_rw(&mc, c, 600 * KIB) == MMAPIO_ENOSPC);
    CHECK(mc == NULL);
    CHECK(!file_exists(c));

    /* SPARSE: no reservation, so the create succeeds. */
    mmapio_map *ms;
    o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_SPARSE, 4 * MIB);
    st = mmapio_open(&ms, s, &o);
    CHECK(st == MMAPIO_OK);
    if (st == MMAPIO_OK) {
      CHECK(mmapio_len(ms) == 4 * MIB);
      CHECK(file_len(s) == (int64_t)(4 * MIB));
      CHECK(mmapio_close(ms) == MMAPIO_OK);
    }
    CHECK(mmapio_close(mb) == MMAPIO_OK);
    CHECK(file_len(b) == (int64_t)(512 * KIB));
    free(buf);
    free(got);
  }
  if (umount(dir) != 0) {}
  return child_fails ? 1 : 0;
}
#endif

int main(void)
{
#if !defined(__linux__)
  TEST_SKIP("the tmpfs full-disk test needs Linux mount namespaces");
#else
  char *dir = test_tmp_path("fulldisk");
  ASSERT(make_dir(dir) == 0);
  fflush(NULL);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) _exit(in_child(dir));
  int st = 0;
  ASSERT(waitpid(pid, &st, 0) == pid);
  /* The mount lived only in the child's namespace: the directory is empty. */
  remove_dir(dir);
  free(dir);
  if (!WIFEXITED(st)) TEST_FAIL_("child crashed (status %#x): a full disk must not crash", st);
  if (WEXITSTATUS(st) == 77) TEST_SKIP("cannot unshare a mount namespace or mount tmpfs here (EPERM)");
  if (WEXITSTATUS(st) != 0) TEST_FAIL_("full-disk checks failed in the child (exit %d)", WEXITSTATUS(st));
  return 0;
#endif
}
