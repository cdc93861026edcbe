/*
 * test_tmpfs_full.c -- a full disk and a read-only filesystem, for real:
 * a 1 MiB tmpfs in a private mount namespace (Linux, needs CAP_SYS_ADMIN;
 * skipped with 77 elsewhere).
 *
 *   - create_rw of 2 MiB: ENOSPC (blocks are reserved at create time), not
 *     a SIGBUS later;
 *   - resize of a 256 KiB map to 4 MiB: ENOSPC, and the map keeps its old
 *     length and content and stays usable;
 *   - MMAPIO_OPEN_SPARSE | MMAPIO_OPEN_FAULT_SAFE, 4 MiB: writes succeed
 *     until the space runs out, then return EFAULT (not SIGBUS); what was
 *     written stays readable;
 *   - the filesystem remounted read-only: open_rw and create_rw fail with
 *     EACCES, open_ro works and reads the content.
 */
#include "internal.h"
#include "test.h"

#if !defined(__linux__)
int main(void) { TEST_SKIP("needs Linux mount namespaces"); }
#else

#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define KiB 1024u
#define MiB (1024u * 1024u)

static char *dir;

static char *in_dir(const char *name) { return test_path_in(dir, name); }

static int child(void *arg)
{
  (void)arg;
  /* Our mounts stay out of the parent's namespace. */
  const char *why = test_private_tmpfs(dir, "size=1m");
  if (why != NULL) {
    printf("SKIP: %s\n", why);
    return 77;
  }

  /* 1. Reserving more than the device holds fails at create time. */
  char *big = in_dir("big");
  mmapio_map *m = NULL;
  ASSERT_STATUS(mmapio_create_rw(&m, big, 2 * MiB), MMAPIO_ENOSPC);
  ASSERT(m == NULL);
  ASSERT(strstr(mmapio_last_error(), big) != NULL);
  unlink(big); /* whether a failed create leaves an empty file is not specified */

  /* 2. A resize that does not fit keeps the map as it was. */
  char *a = in_dir("a");
  size_t alen = 256 * KiB;
  uint8_t *pat = (uint8_t *)malloc(alen), *buf = (uint8_t *)malloc(alen);
  ASSERT(pat != NULL && buf != NULL);
  for (size_t i = 0; i < alen; i++) pat[i] = (uint8_t)(i * 29u + 3u);
  ASSERT_OK(mmapio_create_rw(&m, a, alen));
  ASSERT_OK(mmapio_write(m, 0, pat, alen));
  ASSERT_OK(mmapio_flush(m));
  ASSERT_STATUS(mmapio_resize(m, 4 * MiB), MMAPIO_ENOSPC);
  ASSERT_U64_EQ(mmapio_len(m), alen);
  ASSERT_OK(mmapio_read(m, 0, buf, alen));
  ASSERT_MEMEQ(buf, pat, alen);
  ASSERT_OK(mmapio_write(m, 100, "still usable", 12));
  memcpy(pat + 100, "still usable", 12);
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_close(m));
  struct stat st;
  ASSERT_EQ(stat(a, &st), 0);
  ASSERT_EQ(st.st_size, (off_t)alen);

  /* 3. Sparse + fault-safe: the space runs out during the writes. */
  char *s = in_dir("sparse");
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_SPARSE | MMAPIO_OPEN_FAULT_SAFE;
  o.size = 4 * MiB;
  ASSERT_OK(mmapio_open(&m, s, &o));
  size_t chunk = 64 * KiB;
  uint8_t *cbuf = (uint8_t *)malloc(chunk), *rbuf = (uint8_t *)malloc(chunk);
  ASSERT(cbuf != NULL && rbuf != NULL);
  uint64_t off = 0;
  int rc = MMAPIO_OK;
  for (; off + chunk <= 4 * MiB; off += chunk) {
    memset(cbuf, (int)(off / chunk) + 1, chunk);
    rc = mmapio_write(m, off, cbuf, chunk);
    if (rc != MMAPIO_OK) break;
  }
  ASSERT_STATUS(rc, MMAPIO_EFAULT);
  ASSERT(off < 1 * MiB); /* the 256 KiB file above holds part of the 1 MiB */
  ASSERT(strstr(mmapio_last_error(), "mmapio_write(") != NULL);
  ASSERT(strstr(mmapio_last_error(), s) != NULL);
  /* Still faulting, still alive. */
  ASSERT_STATUS(mmapio_write(m, 3 * MiB, cbuf, 16), MMAPIO_EFAULT);
  for (uint64_t k = 0; k < off; k += chunk) {
    ASSERT_OK(mmapio_read(m, k, rbuf, chunk));
    memset(cbuf, (int)(k / chunk) + 1, chunk);
    ASSERT_MEMEQ(rbuf, cbuf, chunk);
  }
  ASSERT_OK(mmapio_close(m));

  /* 4. Read-only filesystem. */
  ASSERT_EQ(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, "size=1m"), 0);
  ASSERT_STATUS(mmapio_open_rw(&m, a), MMAPIO_EACCES);
  ASSERT(m == NULL);
  ASSERT(strstr(mmapio_last_error(), a) != NULL);
  char *n = in_dir("new");
  ASSERT_STATUS(mmapio_create_rw(&m, n, 4096), MMAPIO_EACCES);
  ASSERT(m == NULL);
  ASSERT_OK(mmapio_open_ro(&m, a));
  ASSERT_U64_EQ(mmapio_len(m), alen);
  ASSERT_OK(mmapio_read(m, 0, buf, alen));
  ASSERT_MEMEQ(buf, pat, alen);
  ASSERT_OK(mmapio_close(m));

  free(big); free(a); free(s); free(n);
  free(pat); free(buf); free(cbuf); free(rbuf);
  return 0;
}

int main(void)
{
  if (!mmapio_has_feature(MMAPIO_FEATURE_FAULT_SAFE))
    TEST_SKIP("the FAULT_SAFE feature is compiled out");
  TEST_SKIP_IF_SIGBUS_ADDR_WRONG();
  dir = test_tmp_path("tmpfs");
  ASSERT_EQ(mkdir(dir, 0700), 0);
  int st = test_fork_call(child, NULL);
  rmdir(dir);
  free(dir);
  int code = test_child_exit(st, "tmpfs checks (a signal here means a SIGBUS escaped)");
  if (code == 77) return 77;
  if (code != 0) TEST_FAIL_("tmpfs checks failed in the child (exit %d)", code);
  printf("tmpfs: ENOSPC at create/resize, EFAULT on sparse writes, EACCES on a read-only fs\n");
  return 0;
}
#endif
