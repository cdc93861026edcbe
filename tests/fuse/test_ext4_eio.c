/*
 * test_ext4_eio.c -- write-back errors of a real ext4 on a disk that fails.
 *
 * The disk is a 64 MiB image file on tests/fuse/faultfs.c, attached to a
 * loop device and formatted ext4 (mounted errors=continue). When faultfs
 * refuses WRITE requests, the loop device's writes fail, so ext4's
 * write-back of the mapped file's pages fails as on a failing disk: the
 * kernel logs "Buffer I/O error", reports EIO to one msync and then
 * reports nothing (a plain retried msync says OK, the bytes never reached
 * the disk; ext4 even warns that the unwritten extents it could not
 * convert may lose data). Through mmapio, for a file whose blocks were
 * reserved (unwritten extents) and for a SPARSE one:
 *   - the flush that hit the failure returns MMAPIO_EIO;
 *   - every later flush returns it too (with the failed range), also
 *     after the disk works again, until mmapio_clear_error;
 *   - once the disk works, the retried flushes deliver the bytes (the
 *     failing flush dirtied the pages again): after the file system is
 *     unmounted and mounted again, the file holds what was written.
 * Needs what the fuse tier needs plus root, mkfs.ext4 and a loop device.
 */
#if !defined(__linux__)
#include "test.h"
int main(void) { TEST_SKIP("FUSE tests need Linux"); }
#else
#include "fusetest.h"

#define DISK_MIB 64
#define FILE_LEN (256 * 1024)

static char img[1200], mnt[1200];

static int sh(const char *fmt, const char *a, const char *b)
{
  char cmd[3000];
  snprintf(cmd, sizeof cmd, fmt, a, b);
  return system(cmd);
}

static void mount_disk(void)
{
  if (sh("mount -t ext4 -o loop,errors=continue '%s' '%s' >/dev/null 2>&1", img, mnt) != 0)
    TEST_FAIL_("cannot mount the ext4 image %s again", img);
}

static void unmount_disk(void)
{
  if (sh("umount '%s%s' >/dev/null 2>&1", mnt, "") != 0) TEST_FAIL_("cannot unmount %s", mnt);
}

/* At exit, also after a failed check: the ext4 goes before the FUSE file
 * system under it (fusetest_mount's handler, registered earlier, runs
 * later). */
static void unmount_quiet(void)
{
  if (sh("umount '%s%s' >/dev/null 2>&1", mnt, "") != 0) {}
}

static void one_case(const char *name, uint32_t flags, const uint8_t *a, const uint8_t *b)
{
  char p[1300];
  snprintf(p, sizeof p, "%s/%s", mnt, name);
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | flags;
  o.size = FILE_LEN;
  mmapio_map *m = NULL;
  ASSERT_OK(mmapio_open(&m, p, &o));
  ASSERT_OK(mmapio_write(m, 0, a, FILE_LEN));
  ASSERT_OK(mmapio_flush(m));

  /* The disk fails: the flush of new bytes reports it ... */
  ASSERT_OK(mmapio_write(m, 64 * 1024, b, 64 * 1024));
  fusetest_ctl("write 5");
  int rc = mmapio_flush(m);
  if (rc != MMAPIO_EIO) TEST_FAIL_("%s: the flush on the failing disk returned %d, not EIO", name, rc);
  /* ... and every flush after it, where a plain msync would say OK. */
  ASSERT_STATUS(mmapio_flush(m), MMAPIO_EIO);
  uint64_t off = 0, len = 0;
  ASSERT_STATUS(mmapio_flush_error(m, &off, &len), MMAPIO_EIO);
  ASSERT(off <= 64 * 1024 && off + len >= 128 * 1024);
  /* The disk works again: still the failure until it is acknowledged. */
  fusetest_ctl("clear");
  ASSERT_STATUS(mmapio_flush(m), MMAPIO_EIO);
  ASSERT(strstr(mmapio_last_error(), "earlier write-back failed") != NULL);
  ASSERT_OK(mmapio_clear_error(m));
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_close(m));
}

int main(void)
{
  fusetest_mount();
  test_require_root("to attach a loop device");
  uint8_t *a = (uint8_t *)malloc(FILE_LEN), *b = (uint8_t *)malloc(64 * 1024);
  uint8_t *want = (uint8_t *)malloc(FILE_LEN);
  ASSERT(a != NULL && b != NULL && want != NULL);
  pat_fill(a, FILE_LEN, 0, 1);
  pat_fill(b, 64 * 1024, 64 * 1024, 2);
  memcpy(want, a, FILE_LEN);
  memcpy(want + 64 * 1024, b, 64 * 1024);

  char *ip = fusetest_path("disk.img");
  snprintf(img, sizeof img, "%s", ip);
  free(ip);
  char *md = test_tmp_path("ext4-eio");
  snprintf(mnt, sizeof mnt, "%s", md);
  free(md);
  ASSERT(make_dir(mnt) == 0);
  int fd = open(img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT(fd >= 0);
  ASSERT(ftruncate(fd, (off_t)DISK_MIB << 20) == 0);
  close(fd);
  if (sh("mkfs.ext4 -q -F '%s' >/dev/null 2>&1%s", img, "") != 0) {
    remove_dir(mnt);
    TEST_SKIP("mkfs.ext4 (e2fsprogs) is missing or failed");
  }
  if (sh("mount -t ext4 -o loop,errors=continue '%s' '%s' >/dev/null 2>&1", img, mnt) != 0) {
    remove_dir(mnt);
    TEST_SKIP("cannot loop-mount an image on the FUSE file system (no loop device?)");
  }
  atexit(unmount_quiet);

  one_case("reserved.bin", 0, a, b);
  one_case("sparse.bin", MMAPIO_OPEN_SPARSE, a, b);

  /* What the disk holds: unmount (every cached page goes), mount again. */
  unmount_disk();
  mount_disk();
  static const char *const names[] = {"reserved.bin", "sparse.bin"};
  for (int i = 0; i < 2; i++) {
    char p[1300];
    snprintf(p, sizeof p, "%s/%s", mnt, names[i]);
    size_t n = 0;
    uint8_t *got = (uint8_t *)test_read_file(p, &n);
    ASSERT(got != NULL);
    if (n != FILE_LEN) TEST_FAIL_("%s has %zu bytes on the disk, expected %d", names[i], n, FILE_LEN);
    for (size_t k = 0; k < FILE_LEN; k++)
      if (got[k] != want[k])
        TEST_FAIL_("%s: byte %zu on the disk is 0x%02x, expected 0x%02x (lost in the failed write-back)",
                   names[i], k, got[k], want[k]);
    free(got);
  }
  unmount_disk();
  remove_dir(mnt);
  free(a);
  free(b);
  free(want);
  return 0;
}
#endif
