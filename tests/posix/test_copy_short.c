/*
 * test_copy_short.c -- mmapio_copy_file when the OS moves fewer bytes per
 * call than asked (POSIX backend, src/posix/posix_file.c copy_bytes and
 * copy_rw; the calls are replaced through the syscall table of
 * src/posix/posix_sys.h, which a test may repoint):
 *   - short reads and short writes (7 bytes at most per call, and EINTR
 *     now and then) still copy every byte;
 *   - a write that takes nothing of a non-empty buffer is ENOSPC with a
 *     detail naming write and the destination, and a destination the copy
 *     created is removed; it used to loop for ever;
 *   - (Linux) copy_file_range answering 0 at once, as it does for procfs and
 *     sysfs files whose size reads 0, hands over to read/write: the copy is
 *     exact, where it used to leave an empty destination.
 */
#include "test.h"

#if !defined(MMAPIO_TEST_HOOKS) || defined(_WIN32)
int main(void) { TEST_SKIP("needs the POSIX backend's syscall table (MMAPIO_TEST_HOOKS)"); }
#else

#include <errno.h>
#include <unistd.h>

#define SRC_LEN (40u * 1024u + 5u)
#define PIECE 7u

static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_cfr)(int, int, size_t);
static unsigned calls;

static ssize_t short_read(int fd, void *buf, size_t n)
{
  if (++calls % 97u == 0) {
    errno = EINTR;
    return -1;
  }
  return real_read(fd, buf, n < PIECE ? n : PIECE);
}

static ssize_t short_write(int fd, const void *buf, size_t n)
{
  if (++calls % 89u == 0) {
    errno = EINTR;
    return -1;
  }
  return real_write(fd, buf, n < PIECE ? n : PIECE);
}

/* Takes nothing. The old loop called it for ever: give up loudly after
 * many calls instead of hanging until the CTest timeout. */
static ssize_t zero_write(int fd, const void *buf, size_t n)
{
  (void)fd; (void)buf; (void)n;
  if (++calls > 100000u) {
    fprintf(stderr, "copy_rw keeps calling write after it returned 0\n");
    exit(1);
  }
  return 0;
}

static ssize_t refuse_cfr(int in, int out, size_t n)
{
  (void)in; (void)out; (void)n;
  errno = EXDEV;
  return -1;
}

static ssize_t zero_cfr(int in, int out, size_t n)
{
  (void)in; (void)out; (void)n;
  calls++;
  return 0;
}

static void restore_table(void)
{
  mmapio__sys.x_read = real_read;
  mmapio__sys.x_write = real_write;
  mmapio__sys.x_copy_file_range = real_cfr;
}

static void check_copy(const char *src, const char *dst)
{
  size_t n = 0;
  uint8_t *b = (uint8_t *)test_read_file(dst, &n);
  (void)src;
  ASSERT(b != NULL);
  ASSERT_EQ(n, SRC_LEN);
  ASSERT(pat_check(b, SRC_LEN, 0, 31));
  free(b);
}

int main(void)
{
  char *src = mk_file("copys-src", SRC_LEN, 31);
  char *dst = test_tmp_path("copys-dst");
  real_read = mmapio__sys.x_read;
  real_write = mmapio__sys.x_write;
  real_cfr = mmapio__sys.x_copy_file_range;

  /* Short reads and writes, with interruptions: every byte arrives. */
  mmapio__sys.x_copy_file_range = refuse_cfr;
  mmapio__sys.x_read = short_read;
  mmapio__sys.x_write = short_write;
  calls = 0;
  mmapio__sys_reset();
  ASSERT_OK(mmapio_copy_file(src, dst));
  unsigned writes = mmapio__sys_count("write");
  restore_table();
  check_copy(src, dst);
  ASSERT(writes >= SRC_LEN / PIECE);
  test_unlink(dst);

  /* A write that takes nothing: ENOSPC, no partial file left. */
  mmapio__sys.x_copy_file_range = refuse_cfr;
  mmapio__sys.x_write = zero_write;
  calls = 0;
  int rc = mmapio_copy_file(src, dst);
  restore_table();
  ASSERT_STATUS(rc, MMAPIO_ENOSPC);
  ASSERT_EQ(mmapio_last_os_error(), ENOSPC);
  ASSERT_MSG_HAS("write(");
  ASSERT_MSG_HAS(dst);
  ASSERT(access(dst, F_OK) != 0 && errno == ENOENT);

#if MMAPIO__LINUX
  /* copy_file_range says "end of file" at once: read/write finds the bytes. */
  mmapio__sys.x_copy_file_range = zero_cfr;
  calls = 0;
  mmapio__sys_reset();
  ASSERT_OK(mmapio_copy_file(src, dst));
  unsigned cfr = calls, reads = mmapio__sys_count("read");
  restore_table();
  ASSERT_EQ(cfr, 1);
  ASSERT(reads >= 2);
  check_copy(src, dst);
  test_unlink(dst);

  /* The real call again (or its refusal here): exact as before. */
  ASSERT_OK(mmapio_copy_file(src, dst));
  check_copy(src, dst);
  test_unlink(dst);
#else
  (void)zero_cfr;
#endif

  test_unlink(src);
  free(src);
  free(dst);
  printf("copy_short: OK\n");
  return 0;
}
#endif
