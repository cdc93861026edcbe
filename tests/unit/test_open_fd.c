/*
 * mmapio_open_fd (include/mmapio.h section 4): maps an already open file, duplicating
 * the descriptor/HANDLE so the caller keeps its own; a mode the descriptor
 * does not allow is EACCES; invalid descriptors and modes are EINVAL.
 */
#include "test.h"

#include <fcntl.h>

#ifdef _WIN32
static mmapio_native_file open_native(const char *path, int rw)
{
  HANDLE h = CreateFileA(path, rw ? (GENERIC_READ | GENERIC_WRITE) : GENERIC_READ,
                         FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                         FILE_ATTRIBUTE_NORMAL, NULL);
  if (h == INVALID_HANDLE_VALUE) TEST_FAIL_("CreateFileA(%s) failed", path);
  return (mmapio_native_file)h;
}
static void close_native(mmapio_native_file f) { CloseHandle((HANDLE)f); }
static int native_is_open(mmapio_native_file f)
{
  DWORD flags;
  return GetHandleInformation((HANDLE)f, &flags) != 0;
}
static int native_pread(mmapio_native_file f, void *buf, size_t n, uint64_t off)
{
  OVERLAPPED ov;
  DWORD got = 0;
  memset(&ov, 0, sizeof ov);
  ov.Offset = (DWORD)(off & 0xFFFFFFFFu);
  ov.OffsetHigh = (DWORD)(off >> 32);
  if (!ReadFile((HANDLE)f, buf, (DWORD)n, &got, &ov)) return -1;
  return (int)got;
}
#else
static mmapio_native_file open_native(const char *path, int rw)
{
  int fd = open(path, rw ? O_RDWR : O_RDONLY);
  if (fd < 0) TEST_FAIL_("open(%s) failed", path);
  return fd;
}
static void close_native(mmapio_native_file f) { close(f); }
static int native_is_open(mmapio_native_file f) { return fcntl(f, F_GETFD) != -1; }
static int native_pread(mmapio_native_file f, void *buf, size_t n, uint64_t off)
{
  return (int)pread(f, buf, n, (off_t)off);
}
#endif

int main(void)
{
  size_t ps = mmapio_page_size();
  uint64_t total = 2 * ps + 77;
  char *p = mk_file("openfd", (size_t)total, 21);
  mmapio_map *m = BAD_MAP;
  uint8_t buf[64];

  /* RW on a RW descriptor. */
  mmapio_native_file f = open_native(p, 1);
  ASSERT_OK(mmapio_open_fd(&m, f, MMAPIO_MODE_READ_WRITE, "hint.bin"));
  ASSERT_EQ(mmapio_mode_of(m), MMAPIO_MODE_READ_WRITE);
  ASSERT_U64_EQ(mmapio_len(m), total);
  ASSERT_STREQ(mmapio_path(m), "hint.bin");
  ASSERT(mmapio_native_handle(m) != MMAPIO_INVALID_FILE);
  ASSERT(mmapio_native_handle(m) != f); /* duplicated */
  ASSERT(pat_check(mmapio_unsafe_ptr(m), (size_t)total, 0, 21));
  memset(buf, 0x5A, sizeof buf);
  ASSERT_OK(mmapio_write(m, 10, buf, sizeof buf));
  ASSERT_OK(mmapio_flush(m));
  ASSERT_OK(mmapio_close(m));
  /* The caller's descriptor is still open and sees the write. */
  ASSERT(native_is_open(f));
  uint8_t got[64];
  ASSERT_EQ(native_pread(f, got, sizeof got, 10), (int)sizeof got);
  ASSERT_MEMEQ(got, buf, sizeof buf);

  /* Closing the caller's descriptor does not disturb a live map. */
  ASSERT_OK(mmapio_open_fd(&m, f, MMAPIO_MODE_READ_ONLY, NULL));
  close_native(f);
  ASSERT(mmapio_path(m) == NULL);
  ASSERT_OK(mmapio_read(m, 10, got, sizeof got));
  ASSERT_MEMEQ(got, buf, sizeof buf);
  ASSERT_OK(mmapio_close(m));

  /* A read-only descriptor: RO and COW work, RW is EACCES and the caller's
   * descriptor stays open. */
  f = open_native(p, 0);
  ASSERT_OK(mmapio_open_fd(&m, f, MMAPIO_MODE_READ_ONLY, p));
  ASSERT_STREQ(mmapio_path(m), p);
  ASSERT_OK(mmapio_close(m));
  if (has_cow()) {
    ASSERT_OK(mmapio_open_fd(&m, f, MMAPIO_MODE_COPY_ON_WRITE, p));
    uint8_t z = 0;
    ASSERT_OK(mmapio_write(m, 0, &z, 1));
    ASSERT_OK(mmapio_close(m));
    ASSERT_EQ(native_pread(f, got, 1, 0), 1);
    ASSERT_EQ(got[0], pat_byte(0, 21)); /* COW never reaches the file */
  } else {
    ASSERT_STATUS(mmapio_open_fd(&m, f, MMAPIO_MODE_COPY_ON_WRITE, p), MMAPIO_ENOTSUP);
  }
  file_snap s = snap_take(p);
  m = BAD_MAP;
  ASSERT_STATUS(mmapio_open_fd(&m, f, MMAPIO_MODE_READ_WRITE, p), MMAPIO_EACCES);
  ASSERT(m == NULL);
  ASSERT(native_is_open(f));
  ASSERT_EQ(native_pread(f, got, 4, 0), 4);
  ASSERT_SNAP_SAME(p, s);
  snap_free(&s);

  /* Bad modes and NULL out: EINVAL, the descriptor stays open. */
  m = BAD_MAP;
  ASSERT_STATUS(mmapio_open_fd(&m, f, (mmapio_mode)0, p), MMAPIO_EINVAL);
  ASSERT(m == NULL);
  ASSERT_STATUS(mmapio_open_fd(&m, f, (mmapio_mode)4, p), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_open_fd(NULL, f, MMAPIO_MODE_READ_ONLY, p), MMAPIO_EINVAL);
  ASSERT(native_is_open(f));
  close_native(f);

  /* Invalid descriptors. */
  m = BAD_MAP;
  ASSERT_STATUS(mmapio_open_fd(&m, MMAPIO_INVALID_FILE, MMAPIO_MODE_READ_ONLY, NULL), MMAPIO_EINVAL);
  ASSERT(m == NULL);
#ifndef _WIN32
  ASSERT_STATUS(mmapio_open_fd(&m, 987654, MMAPIO_MODE_READ_ONLY, NULL), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_open_fd(&m, -5, MMAPIO_MODE_READ_ONLY, NULL), MMAPIO_EINVAL);
  {
    /* A directory and a device are not regular files. */
    int dfd = open(".", O_RDONLY);
    ASSERT(dfd >= 0);
    ASSERT_STATUS(mmapio_open_fd(&m, dfd, MMAPIO_MODE_READ_ONLY, "."), MMAPIO_EINVAL);
    ASSERT(fcntl(dfd, F_GETFD) != -1);
    close(dfd);
    int nfd = open("/dev/null", O_RDWR);
    ASSERT(nfd >= 0);
    ASSERT_STATUS(mmapio_open_fd(&m, nfd, MMAPIO_MODE_READ_WRITE, "/dev/null"), MMAPIO_EINVAL);
    close(nfd);
  }
#endif

  /* Empty file: RO is an empty mapping, RW/COW ESIZE with the exact text. */
  char *e = mk_file("openfd-empty", 0, 0);
  f = open_native(e, 1);
  ASSERT_OK(mmapio_open_fd(&m, f, MMAPIO_MODE_READ_ONLY, e));
  ASSERT_U64_EQ(mmapio_len(m), 0);
  ASSERT_OK(mmapio_close(m));
  m = BAD_MAP;
  ASSERT_ERR(mmapio_open_fd(&m, f, MMAPIO_MODE_READ_WRITE, e), MMAPIO_ESIZE, MSG_ZERO_FILE);
  ASSERT(m == NULL);
  if (has_cow())
    ASSERT_ERR(mmapio_open_fd(&m, f, MMAPIO_MODE_COPY_ON_WRITE, e), MMAPIO_ESIZE, MSG_ZERO_FILE);
  ASSERT(native_is_open(f));
  close_native(f);

#ifndef _WIN32
  /* The library's own descriptor is close-on-exec. */
  f = open_native(p, 1);
  ASSERT_OK(mmapio_open_fd(&m, f, MMAPIO_MODE_READ_WRITE, p));
  int fl = fcntl(mmapio_native_handle(m), F_GETFD);
  ASSERT(fl != -1 && (fl & FD_CLOEXEC));
  ASSERT_OK(mmapio_close(m));
  close_native(f);
#endif

  test_unlink(e);
  test_unlink(p);
  free(e);
  free(p);
  return 0;
}
