/*
 * Block devices (mmapio.h, "Window maps"): a loop device over a small image
 * file is opened whole (RO), as RW and COW windows at odd offsets, and
 * through mmapio_open_fd; its size comes from the device (st_size is 0),
 * TRUNCATE and resize are ENOTSUP and leave it unchanged, writes through a
 * RW window reach the image file at offset + map offset and nowhere else.
 * Needs root and a loop device (losetup): skipped with the reason otherwise.
 */
#include "test.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define IMG_LEN (4u * 1024u * 1024u)
static const unsigned SEED = 3;
static char DEV[128];

static void detach(void)
{
  if (DEV[0] == '\0') return;
  char cmd[192];
  snprintf(cmd, sizeof cmd, "losetup -d %s", DEV);
  if (system(cmd) != 0) fprintf(stderr, "note: %s failed\n", cmd);
  DEV[0] = '\0';
}

static int open_win(mmapio_map **m, const char *p, mmapio_mode mode, uint32_t flags,
                    uint64_t off, uint64_t len)
{
  mmapio_options o;
  mmapio_options_init(&o);
  o.mode = mode;
  o.flags = flags;
  o.offset = off;
  o.length = len;
  o.size = flags & MMAPIO_OPEN_TRUNCATE ? 4096 : 0;
  return mmapio_open(m, p, &o);
}

/* pread from the device (through the device's page cache). */
static void dev_read(uint64_t off, void *dst, size_t n)
{
  int fd = open(DEV, O_RDONLY | O_CLOEXEC);
  ASSERT(fd >= 0);
  ASSERT_EQ(pread(fd, dst, n, (off_t)off), (long long)n);
  close(fd);
}

int main(void)
{
  test_require_root("for the block device test (losetup)");
  char *img = mk_file("blkdev-img", IMG_LEN, SEED);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "losetup --find --show %s 2>/dev/null", img);
  FILE *pp = popen(cmd, "r");
  if (pp == NULL || fgets(DEV, sizeof DEV, pp) == NULL) {
    if (pp != NULL) pclose(pp);
    test_unlink(img);
    TEST_SKIP("no loop device available (losetup --find --show failed)");
  }
  int prc = pclose(pp);
  DEV[strcspn(DEV, "\n")] = '\0';
  if (prc != 0 || strncmp(DEV, "/dev/", 5) != 0) {
    DEV[0] = '\0';
    test_unlink(img);
    TEST_SKIP("no loop device available (losetup --find --show failed)");
  }
  atexit(detach);
  printf("loop device %s over %s\n", DEV, img);

  /* Whole device, read-only: size from the device. */
  mmapio_map *m;
  ASSERT_OK(mmapio_open_ro(&m, DEV));
  ASSERT_U64_EQ(mmapio_len(m), IMG_LEN);
  ASSERT(pat_check(mmapio_unsafe_ptr(m), IMG_LEN, 0, SEED));
  ASSERT_OK(mmapio_close(m));

  /* RW window at an odd offset: writes land at offset + off. */
  const uint64_t woff = 1024u * 1024u + 123u, wlen = 8192u;
  ASSERT_OK(open_win(&m, DEV, MMAPIO_MODE_READ_WRITE, 0, woff, wlen));
  ASSERT_U64_EQ(mmapio_len(m), wlen);
  ASSERT(pat_check(mmapio_unsafe_ptr(m), (size_t)wlen, woff, SEED));
  uint8_t mark[16];
  memset(mark, 0xB7, sizeof mark);
  ASSERT_OK(mmapio_write(m, 0, mark, sizeof mark));
  ASSERT_OK(mmapio_write(m, wlen - sizeof mark, mark, sizeof mark));
  ASSERT_BOUNDS(mmapio_write(m, wlen - 1, mark, 2), wlen - 1, 2, wlen);
  ASSERT_OK(mmapio_flush_range(m, 0, wlen));
  ASSERT_ERR_HAS(mmapio_resize(m, wlen * 2), MMAPIO_ENOTSUP, "explicit length");
  ASSERT_OK(mmapio_close(m));

  /* A tail window of the device cannot be resized either: fixed size. */
  ASSERT_OK(open_win(&m, DEV, MMAPIO_MODE_READ_WRITE, 0, IMG_LEN - 5000, 0));
  ASSERT_U64_EQ(mmapio_len(m), 5000);
  ASSERT_ERR_HAS(mmapio_resize(m, 6000), MMAPIO_ENOTSUP, "block device has a fixed size");
  ASSERT_ERR_HAS(mmapio_resize(m, 4000), MMAPIO_ENOTSUP, "block device has a fixed size");
  ASSERT_U64_EQ(mmapio_len(m), 5000);
  ASSERT(pat_check(mmapio_unsafe_ptr(m), 5000, IMG_LEN - 5000, SEED));
  ASSERT_OK(mmapio_close(m));

  /* TRUNCATE is refused and destroys nothing; windows past the end too. */
  ASSERT_STATUS(open_win(&m, DEV, MMAPIO_MODE_READ_WRITE,
                         MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE, 0, 0),
                MMAPIO_ENOTSUP);
  ASSERT_STATUS(open_win(&m, DEV, MMAPIO_MODE_READ_WRITE,
                         MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE | MMAPIO_OPEN_SPARSE, 0, 0),
                MMAPIO_ENOTSUP);
  ASSERT_STATUS(open_win(&m, DEV, MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_TRUNCATE, 0, 0),
                MMAPIO_ENOTSUP);
  ASSERT_STATUS(open_win(&m, DEV, MMAPIO_MODE_READ_ONLY, 0, IMG_LEN + 1, 0), MMAPIO_EBOUNDS);
  ASSERT_STATUS(open_win(&m, DEV, MMAPIO_MODE_READ_ONLY, 0, IMG_LEN - 10, 11), MMAPIO_EBOUNDS);

  /* RO tail window over the written bytes sees them. */
  ASSERT_OK(open_win(&m, DEV, MMAPIO_MODE_READ_ONLY, 0, woff - 1, 0));
  ASSERT_U64_EQ(mmapio_len(m), IMG_LEN - woff + 1);
  const uint8_t *b = (const uint8_t *)mmapio_unsafe_ptr(m);
  ASSERT(pat_check(b, 1, woff - 1, SEED));
  ASSERT(all_bytes(b + 1, sizeof mark, 0xB7));
  ASSERT(pat_check(b + 1 + sizeof mark, (size_t)(wlen - 2 * sizeof mark), woff + sizeof mark, SEED));
  ASSERT(all_bytes(b + 1 + wlen - sizeof mark, sizeof mark, 0xB7));
  ASSERT(pat_check(b + 1 + wlen, 100, woff + wlen, SEED));
  ASSERT_OK(mmapio_close(m));

  /* COW window: private. */
  if (has_cow()) {
    ASSERT_OK(open_win(&m, DEV, MMAPIO_MODE_COPY_ON_WRITE, 0, 3 * 4096 + 1, 4096));
    ASSERT_OK(mmapio_write(m, 0, "cowcow", 6));
    ASSERT_OK(mmapio_close(m));
    uint8_t back[6];
    dev_read(3 * 4096 + 1, back, 6);
    ASSERT(pat_check(back, 6, 3 * 4096 + 1, SEED));
  }

  /* mmapio_open_fd on the device's descriptor: whole device, RW. */
  int fd = open(DEV, O_RDWR | O_CLOEXEC);
  ASSERT(fd >= 0);
  ASSERT_OK(mmapio_open_fd(&m, fd, MMAPIO_MODE_READ_WRITE, DEV));
  ASSERT_U64_EQ(mmapio_len(m), IMG_LEN);
  ASSERT_OK(mmapio_write(m, IMG_LEN - 1, "Z", 1));
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_close(m));
  close(fd);
  uint8_t z = 0;
  dev_read(IMG_LEN - 1, &z, 1);
  ASSERT_EQ(z, 'Z');

  /* Detach (the loop driver writes back), then check the image file: the
   * marks and the last byte changed, nothing else. */
  detach();
  size_t n = 0;
  uint8_t *d = (uint8_t *)test_read_file(img, &n);
  ASSERT(d != NULL && n == IMG_LEN);
  for (size_t i = 0; i < n; i++) {
    int marked = (i >= woff && i < woff + sizeof mark) ||
                 (i >= woff + wlen - sizeof mark && i < woff + wlen);
    uint8_t want = marked ? 0xB7 : (i == n - 1 ? 'Z' : pat_byte(i, SEED));
    if (d[i] != want) TEST_FAIL_("image byte %zu is %u, want %u", i, d[i], want);
  }
  free(d);
  test_unlink(img);
  free(img);
  return 0;
}
