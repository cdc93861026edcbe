/*
 * A real small disk: an 8 MiB ext4 image, loop-mounted in a private mount
 * namespace, filled to the last block. Every failing create, open, resize
 * and TRUNCATE must leave the existing files exactly as they were (length
 * and content) and leave no new or temporary file behind:
 *   - create_rw / CREATE|EXCLUSIVE / open_or_create of a new 2 MiB file:
 *     MMAPIO_ENOSPC, no file;
 *   - create_rw and open(TRUNCATE) of an existing 1 MiB file to 4 MiB:
 *     MMAPIO_ENOSPC, the file unchanged;
 *   - resize 512 KiB -> 4 MiB, moving and within max_size: MMAPIO_ENOSPC,
 *     map and file unchanged and usable;
 *   - sizes beyond ext4's maximum file size (2^47 bytes), TRUNCATE sparse
 *     or not, and resize: MMAPIO_ESIZE naming the file system's limit,
 *     unchanged;
 *   - open_or_create of the existing file and a shrinking TRUNCATE still
 *     work on the full disk (they need no new blocks).
 * Needs root, mkfs.ext4 (e2fsprogs) and a loop device; skips with the
 * reason otherwise.
 */
#include "test.h"

/* test_btrfs_enospc.c and test_xfs_enospc.c run the same checks on their
 * file system: FS_TYPE, the image size (the smallest each mkfs accepts, or
 * 8 MiB) and whether ext4's maximum file size applies. */
#ifndef FS_TYPE
#  define FS_TYPE "ext4"
#  define FS_IMAGE_MIB 8
#  define FS_EXT4 1
#  define FS_FIXTURE_FLAGS 0u
#endif

#if defined(__linux__)
#  include <dirent.h>
#  include <errno.h>
#  include <fcntl.h>
#  include <unistd.h>

/* Names in `dir` other than "." and ".." and lost+found. */
static int entries(const char *dir)
{
  DIR *d = opendir(dir);
  if (d == NULL) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
        strcmp(e->d_name, "lost+found") == 0)
      continue;
    n++;
  }
  closedir(d);
  return n;
}

/* Fill the file system with `path` until ENOSPC. */
static void fill(const char *path)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  TALLY_CHECK(fd >= 0);
  if (fd < 0) return;
  static char buf[4096];
  memset(buf, 0x55, sizeof buf);
  for (;;) {
    ssize_t w = write(fd, buf, sizeof buf);
    if (w <= 0) break;
  }
  /* Smaller pieces take the last partial blocks. */
  for (;;) {
    ssize_t w = write(fd, buf, 512);
    if (w <= 0) break;
  }
  TALLY_CHECK(fsync(fd) == 0);
  close(fd);
}

static int unchanged(const char *p, size_t len, unsigned seed)
{
  return file_len(p) == (int64_t)len && file_has_pattern(p, len, seed);
}

static void make_pattern_file(const char *p, size_t len, unsigned seed)
{
  mmapio_map *m;
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | FS_FIXTURE_FLAGS;
  o.size = len;
  TALLY_CHECK(mmapio_open(&m, p, &o) == MMAPIO_OK);
  if (m == NULL) return;
  void *buf = malloc(len);
  pat_fill(buf, len, 0, seed);
  TALLY_CHECK(mmapio_write(m, 0, buf, len) == MMAPIO_OK);
  TALLY_CHECK(mmapio_flush(m) == MMAPIO_OK);
  TALLY_CHECK(mmapio_close(m) == MMAPIO_OK);
  free(buf);
}

static void checks(const char *dir)
{
  char a[1024], b[1024], n[1024], filler[1024];
  snprintf(a, sizeof a, "%s/a.bin", dir);
  snprintf(b, sizeof b, "%s/b.bin", dir);
  snprintf(n, sizeof n, "%s/new.bin", dir);
  snprintf(filler, sizeof filler, "%s/filler", dir);
  const size_t alen = (size_t)MIB, blen = 512 * (size_t)KIB;
  make_pattern_file(a, alen, 11);
  make_pattern_file(b, blen, 22);
  fill(filler);
  TALLY_CHECK(entries(dir) == 3);
  mmapio_map *m = BAD_MAP;

  /* New files that do not fit. */
  TALLY_CHECK(mmapio_create_rw(&m, n, 2 * MIB) == MMAPIO_ENOSPC);
  TALLY_CHECK(m == NULL);
  TALLY_CHECK(strstr(mmapio_last_error(), n) != NULL);
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_EXCLUSIVE;
  o.size = 2 * MIB;
  TALLY_CHECK(mmapio_open(&m, n, &o) == MMAPIO_ENOSPC);
  TALLY_CHECK(mmapio_open_or_create(&m, n, 2 * MIB) == MMAPIO_ENOSPC);
  TALLY_CHECK(!file_exists(n));
  TALLY_CHECK(entries(dir) == 3); /* no temporary names either */

  /* TRUNCATE of an existing file to a size that does not fit. */
  TALLY_CHECK(mmapio_create_rw(&m, a, 4 * MIB) == MMAPIO_ENOSPC);
  TALLY_CHECK(m == NULL);
  TALLY_CHECK(unchanged(a, alen, 11));
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_TRUNCATE;
  o.size = 4 * MIB;
  TALLY_CHECK(mmapio_open(&m, a, &o) == MMAPIO_ENOSPC);
  TALLY_CHECK(unchanged(a, alen, 11));
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE;
  TALLY_CHECK(mmapio_open(&m, a, &o) == MMAPIO_ENOSPC);
  TALLY_CHECK(unchanged(a, alen, 11));

  /* Beyond ext4's maximum file size: ESIZE, whatever the flags. Only
   * 64-bit builds can ask for that much (MMAPIO_MAX_SIZE is 2 GiB on
   * 32-bit, which ext4 holds). */
  const uint32_t big_flags[] = {MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | MMAPIO_OPEN_SPARSE,
                                MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE, MMAPIO_OPEN_TRUNCATE,
                                MMAPIO_OPEN_TRUNCATE | MMAPIO_OPEN_SPARSE};
  const int beyond_ext4 = FS_EXT4 && MMAPIO_MAX_SIZE > (UINT64_C(16) << 40); /* 4 KiB blocks: 16 TiB */
  const size_t n_big = beyond_ext4 ? sizeof big_flags / sizeof big_flags[0] : 0;
  for (size_t i = 0; i < n_big; i++) {
    mmapio_options_init(&o);
    o.flags = big_flags[i];
    o.size = MMAPIO_MAX_SIZE;
    int st = mmapio_open(&m, a, &o);
    TALLY_CHECK(st == MMAPIO_ESIZE);
    TALLY_CHECK(strstr(mmapio_last_error(), "file system") != NULL);
    TALLY_CHECK(unchanged(a, alen, 11));
  }
  TALLY_CHECK(entries(dir) == 3);

  /* Resizes that do not fit: moving, in place, and beyond the maximum. */
  for (int variant = 0; variant < 3; variant++) {
    mmapio_options_init(&o);
    if (variant == 1) o.max_size = 8 * MIB;
    if (variant == 2) o.flags = MMAPIO_OPEN_SPARSE;
    mmapio_map *mb = NULL;
    TALLY_CHECK(mmapio_open(&mb, b, &o) == MMAPIO_OK);
    if (mb == NULL) continue;
    if (variant < 2) TALLY_CHECK(mmapio_resize(mb, 4 * MIB) == MMAPIO_ENOSPC);
    if (beyond_ext4) TALLY_CHECK(mmapio_resize(mb, MMAPIO_MAX_SIZE) == MMAPIO_ESIZE);
    TALLY_CHECK(mmapio_len(mb) == blen);
    uint8_t *got = (uint8_t *)malloc(blen);
    TALLY_CHECK(mmapio_read(mb, 0, got, blen) == MMAPIO_OK);
    TALLY_CHECK(pat_check(got, blen, 0, 22));
    TALLY_CHECK(mmapio_write(mb, blen - 1, got + blen - 1, 1) == MMAPIO_OK);
    TALLY_CHECK(mmapio_flush(mb) == MMAPIO_OK);
    TALLY_CHECK(mmapio_close(mb) == MMAPIO_OK);
    free(got);
    TALLY_CHECK(unchanged(b, blen, 22));
  }

  /* What needs no new blocks still works on the full disk. */
  TALLY_CHECK(mmapio_open_or_create(&m, a, 2 * MIB) == MMAPIO_OK);
  if (m != NULL) {
    TALLY_CHECK(mmapio_len(m) == alen);
    TALLY_CHECK(mmapio_close(m) == MMAPIO_OK);
  }
  TALLY_CHECK(unchanged(a, alen, 11));
  TALLY_CHECK(mmapio_create_rw(&m, a, 256 * KIB) == MMAPIO_OK);
  if (m != NULL) {
    uint8_t *got = (uint8_t *)malloc(256 * KIB);
    TALLY_CHECK(mmapio_read(m, 0, got, 256 * KIB) == MMAPIO_OK);
    TALLY_CHECK(all_bytes(got, 256 * KIB, 0));
    free(got);
    TALLY_CHECK(mmapio_close(m) == MMAPIO_OK);
  }
  TALLY_CHECK(file_len(a) == (int64_t)(256 * KIB));
  TALLY_CHECK(entries(dir) == 3);
}

static int on_fs(const test_fs *fs, void *arg)
{
  (void)arg;
  checks(fs->dir);
  return test_child_result();
}
#endif

int main(void)
{
#if !defined(__linux__)
  TEST_SKIP("the " FS_TYPE " loop-device test needs Linux");
#else
#  if defined(MMAPIO_PORTABLE_POSIX) && defined(FS_SKIP_PORTABLE)
  TEST_SKIP(FS_SKIP_PORTABLE);
#  endif
  test_on_fs(FS_TYPE, FS_IMAGE_MIB, NULL, "full-disk checks (a full disk must not crash)", on_fs, NULL);
  return 0;
#endif
}
