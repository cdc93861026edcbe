/*
 * A full copy-on-write file system: a 256 MiB btrfs image, loop-mounted in
 * a private mount namespace. Three 8 MiB files are created with reserved
 * blocks (the default), written and flushed; then the disk is filled to the
 * last byte. On btrfs an overwrite of a page that was written before needs
 * a new block:
 *   - MMAPIO_OPEN_NOCOW: the file has FS_NOCOW_FL; three rounds of
 *     overwrites through mmapio_write and write views, each flushed, all
 *     succeed, and the file holds the last round (its reserved blocks are
 *     overwritten in place);
 *   - MMAPIO_OPEN_FAULT_SAFE: mmapio_write returns MMAPIO_EFAULT naming the
 *     offset, and the file keeps what was flushed before; once space is
 *     freed the same write works and flushes;
 *   - neither: the process that writes dies of SIGBUS (what the two flags
 *     are for), in a child process.
 * Needs root, mkfs.btrfs (btrfs-progs), a loop device and btrfs in the
 * kernel; skips with the reason otherwise.
 */
#include "test.h"

#if defined(__linux__)
#  include <fcntl.h>
#  include <linux/fs.h>
#  include <signal.h>
#  include <sys/ioctl.h>
#  include <unistd.h>

#  define FILE_LEN (8 * MIB)

static char *in_dir(const char *dir, const char *name, char *buf, size_t n)
{
  snprintf(buf, n, "%s/%s", dir, name);
  return buf;
}

/* A file of FILE_LEN bytes of pattern `seed`, written through the map and
 * flushed: every page has been written once. */
static mmapio_map *make(const char *path, uint32_t flags, unsigned seed, uint8_t *buf)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | flags;
  o.size = FILE_LEN;
  mmapio_map *m = NULL;
  TALLY_CHECK(mmapio_open(&m, path, &o) == MMAPIO_OK);
  if (m == NULL) return NULL;
  pat_fill(buf, FILE_LEN, 0, seed);
  TALLY_CHECK(mmapio_write(m, 0, buf, FILE_LEN) == MMAPIO_OK);
  TALLY_CHECK(mmapio_flush(m) == MMAPIO_OK);
  return m;
}

/* Fill the file system with `path` until ENOSPC, down to the last bytes. */
static void fill(const char *path)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  TALLY_CHECK(fd >= 0);
  if (fd < 0) return;
  static char b[1 << 20];
  memset(b, 0x55, sizeof b);
  size_t sizes[] = {sizeof b, 65536, 4096, 512};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    while (write(fd, b, sizes[i]) > 0) {}
  (void)fsync(fd);
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    while (write(fd, b, sizes[i]) > 0) {}
  (void)fsync(fd);
  close(fd);
}

/* Overwrite the whole map, one page in each 4 KiB, through mmapio_write:
 * the first status that is not OK. */
static int overwrite(mmapio_map *m, uint8_t v)
{
  for (uint64_t off = 0; off < FILE_LEN; off += 4096) {
    int rc = mmapio_write(m, off, &v, 1);
    if (rc != MMAPIO_OK) return rc;
  }
  return MMAPIO_OK;
}

static int write_plain(void *arg)
{
  /* Dies of SIGBUS at the first page; exiting means it did not. */
  return overwrite((mmapio_map *)arg, 0x77) == MMAPIO_OK ? 0 : 3;
}

static void checks(const char *dir)
{
  char pn[1200], ps[1200], pp[1200], pf[1200];
  in_dir(dir, "nocow.bin", pn, sizeof pn);
  in_dir(dir, "safe.bin", ps, sizeof ps);
  in_dir(dir, "plain.bin", pp, sizeof pp);
  in_dir(dir, "filler", pf, sizeof pf);
  uint8_t *want = (uint8_t *)malloc(FILE_LEN), *got = (uint8_t *)malloc(FILE_LEN);
  uint8_t *safe_data = (uint8_t *)malloc(FILE_LEN);
  TALLY_CHECK(want != NULL && got != NULL && safe_data != NULL);
  if (want == NULL || got == NULL || safe_data == NULL) return;
  /* Without fault safety built in (the minimal preset) the middle file
   * is an ordinary one and its checks are left out. */
  const int fs_safe = mmapio_has_feature(MMAPIO_FEATURE_FAULT_SAFE);
  if (!fs_safe) printf("note: fault safety is not built in; the FAULT_SAFE case is not checked\n");
  mmapio_map *mn = make(pn, MMAPIO_OPEN_NOCOW, 1, want);
  mmapio_map *ms = make(ps, fs_safe ? MMAPIO_OPEN_FAULT_SAFE : 0u, 2, safe_data);
  mmapio_map *mp = make(pp, 0, 3, got);
  if (mn == NULL || ms == NULL || mp == NULL) return;

  /* The attribute is on the NOCOW file only. */
  int fl = 0;
  TALLY_CHECK(ioctl(mmapio_native_handle(mn), FS_IOC_GETFLAGS, &fl) == 0);
  TALLY_CHECK((fl & FS_NOCOW_FL) != 0);
  fl = 0;
  TALLY_CHECK(ioctl(mmapio_native_handle(mp), FS_IOC_GETFLAGS, &fl) == 0);
  TALLY_CHECK((fl & FS_NOCOW_FL) == 0);

  fill(pf);

  /* NOCOW: overwrites keep working on the full disk. */
  for (int round = 0; round < 3; round++) {
    uint8_t v = (uint8_t)(0xA0 + round);
    int rc = overwrite(mn, v);
    TALLY_CHECK(rc == MMAPIO_OK);
    mmapio_view_mut w;
    TALLY_CHECK(mmapio_view_get_mut(&w, mn, 4 * MIB, 64 * KIB) == MMAPIO_OK);
    memset(w.data, v, w.len);
    TALLY_CHECK(mmapio_view_mut_release(&w) == MMAPIO_OK);
    TALLY_CHECK(mmapio_flush(mn) == MMAPIO_OK);
    for (uint64_t off = 0; off < FILE_LEN; off += 4096) want[off] = v;
    memset(want + 4 * MIB, v, 64 * KIB);
  }
  TALLY_CHECK(mmapio_close(mn) == MMAPIO_OK);
  TALLY_CHECK(file_len(pn) == (int64_t)FILE_LEN);
  size_t n = 0;
  void *d = test_read_file(pn, &n);
  TALLY_CHECK(d != NULL && n == FILE_LEN && memcmp(d, want, FILE_LEN) == 0);
  free(d);

  /* FAULT_SAFE without NOCOW: an error, not a crash, and nothing lost. */
  if (fs_safe) {
    int rc = overwrite(ms, 0x66);
    TALLY_CHECK(rc == MMAPIO_EFAULT);
    TALLY_CHECK(strstr(mmapio_last_error(), "fault at offset") != NULL);
    TALLY_CHECK(mmapio_read(ms, 0, got, FILE_LEN) == MMAPIO_OK);
    TALLY_CHECK(memcmp(got, safe_data, FILE_LEN) == 0);
  }

  /* Neither flag: SIGBUS. */
  int st = test_fork_call(write_plain, mp);
  test_child_killed_by(st, SIGBUS, "an overwrite on the full btrfs without NOCOW or FAULT_SAFE");

  /* Space again: the FAULT_SAFE map works as before. */
  TALLY_CHECK(unlink(pf) == 0);
  sync();
  TALLY_CHECK(overwrite(ms, 0x66) == MMAPIO_OK);
  TALLY_CHECK(mmapio_flush(ms) == MMAPIO_OK);
  TALLY_CHECK(mmapio_close(ms) == MMAPIO_OK);
  for (uint64_t off = 0; off < FILE_LEN; off += 4096) safe_data[off] = 0x66;
  d = test_read_file(ps, &n);
  TALLY_CHECK(d != NULL && n == FILE_LEN && memcmp(d, safe_data, FILE_LEN) == 0);
  free(d);
  (void)mmapio_close(mp);
  free(want);
  free(got);
  free(safe_data);
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
  TEST_SKIP("the btrfs loop-device test needs Linux");
#else
#  if defined(MMAPIO_PORTABLE_POSIX)
  TEST_SKIP("the portable build (the calls of macOS and the BSDs) has no FS_NOCOW_FL");
#  endif
  test_on_fs("btrfs", 256, NULL, "btrfs full-disk checks", on_fs, NULL);
  return 0;
#endif
}
