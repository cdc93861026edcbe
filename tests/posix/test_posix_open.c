/*
 * test_posix_open.c -- the POSIX backend's file functions: open (regular
 * files, directories, FIFOs, devices, missing files, permissions), dup,
 * file size, unlink, copy_file, and errno translation.
 */
#include "test.h"

#include <stdlib.h>
#include <sys/wait.h>

static void test_create_modes(void)
{
  char *p = test_tmp_path("open");
  mode_t old = umask(022);
  int fd = -1;
  ASSERT_OK(mmapio__os_open(&fd, p, MMAPIO__OPEN_RDWR, MMAPIO__CREATE_EXCL, 0));
  ASSERT(fd >= 0);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  ASSERT_EQ(st.st_mode & 0777, 0644); /* 0666 & ~022 */
  ASSERT(S_ISREG(st.st_mode));
  /* Close-on-exec set, O_NONBLOCK (used to open FIFOs safely) cleared. */
  ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  ASSERT_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
  ASSERT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
  mmapio__os_close_file(fd);

  /* Exclusive create of an existing file. */
  fd = -1;
  ASSERT_STATUS(mmapio__os_open(&fd, p, MMAPIO__OPEN_RDWR, MMAPIO__CREATE_EXCL, 0), MMAPIO_EEXIST);
  ASSERT_EQ(fd, -1);
  ASSERT_MSG_HAS("open(");

  /* Plain open, read only. */
  ASSERT_OK(mmapio__os_open(&fd, p, MMAPIO__OPEN_READ, MMAPIO__CREATE_NO, 0));
  ASSERT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
  uint64_t sz = 99;
  ASSERT_OK(mmapio__os_file_size(&sz, fd, p));
  ASSERT_U64_EQ(sz, 0);
  mmapio__os_close_file(fd);
  ASSERT_OK(mmapio__os_unlink(p));

  /* Private permissions ignore the umask's leniency: 0600. */
  umask(0);
  ASSERT_OK(mmapio__os_open(&fd, p, MMAPIO__OPEN_RDWR, MMAPIO__CREATE_EXCL, 1));
  ASSERT_EQ(fstat(fd, &st), 0);
  ASSERT_EQ(st.st_mode & 0777, 0600);
  mmapio__os_close_file(fd);
  ASSERT_OK(mmapio__os_unlink(p));
  /* And 0666 with an empty umask. */
  ASSERT_OK(mmapio__os_open(&fd, p, MMAPIO__OPEN_RDWR, MMAPIO__CREATE_EXCL, 0));
  ASSERT_EQ(fstat(fd, &st), 0);
  ASSERT_EQ(st.st_mode & 0777, 0666);
  mmapio__os_close_file(fd);
  ASSERT_OK(mmapio__os_unlink(p));
  ASSERT_STATUS(mmapio__os_unlink(p), MMAPIO_ENOENT);
  ASSERT_MSG_HAS("unlink(");
  umask(old);
  free(p);
}

static void test_not_regular(void)
{
  int fd = -1;
  /* Directory, read only and read-write. */
  char *d = test_tmp_path("dir");
  ASSERT_EQ(mkdir(d, 0700), 0);
  ASSERT_STATUS(mmapio__os_open(&fd, d, MMAPIO__OPEN_READ, MMAPIO__CREATE_NO, 0), MMAPIO_EINVAL);
  ASSERT_MSG_HAS("Is a directory");
  ASSERT_MSG_HAS(d);
  ASSERT_STATUS(mmapio__os_open(&fd, d, MMAPIO__OPEN_RDWR, MMAPIO__CREATE_NO, 0), MMAPIO_EINVAL);
  ASSERT_MSG_HAS("Is a directory");
  ASSERT_EQ(fd, -1);

  /* A FIFO with no writer: opening must neither block nor succeed. */
  char *f = test_tmp_path("fifo");
  ASSERT_EQ(mkfifo(f, 0600), 0);
  ASSERT_STATUS(mmapio__os_open(&fd, f, MMAPIO__OPEN_READ, MMAPIO__CREATE_NO, 0), MMAPIO_EINVAL);
  ASSERT_MSG_HAS("not a regular file");
  ASSERT_MSG_HAS(f);
  ASSERT_STATUS(mmapio__os_open(&fd, f, MMAPIO__OPEN_RDWR, MMAPIO__CREATE_NO, 0), MMAPIO_EINVAL);
  ASSERT_MSG_HAS("not a regular file");

  /* A character device. */
  ASSERT_STATUS(mmapio__os_open(&fd, "/dev/null", MMAPIO__OPEN_READ, MMAPIO__CREATE_NO, 0),
                MMAPIO_EINVAL);
  ASSERT_MSG_HAS("open(/dev/null): not a regular file");

  /* copy_file refuses the same sources, and a directory destination. */
  char *dst = test_tmp_path("copydst");
  ASSERT_STATUS(mmapio__os_copy_file(d, dst), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio__os_copy_file(f, dst), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio__os_copy_file("/dev/null", dst), MMAPIO_EINVAL);
  ASSERT(access(dst, F_OK) != 0); /* refused before the destination was created */

  /* dup of a directory descriptor. */
  int dfd = open(d, O_RDONLY | O_DIRECTORY);
  ASSERT(dfd >= 0);
  ASSERT_STATUS(mmapio__os_dup(&fd, dfd, 0, d), MMAPIO_EINVAL);
  close(dfd);

  ASSERT_EQ(unlink(f), 0);
  ASSERT_EQ(rmdir(d), 0);
  free(dst);
  free(f);
  free(d);
}

static void test_missing(void)
{
  int fd = -1;
  char *p = test_tmp_path("missing");
  ASSERT_STATUS(mmapio__os_open(&fd, p, MMAPIO__OPEN_READ, MMAPIO__CREATE_NO, 0), MMAPIO_ENOENT);
  ASSERT_MSG_HAS("open(");
  ASSERT_MSG_HAS("No such file");
  ASSERT_EQ(mmapio_last_os_error(), ENOENT);
  /* A path through a regular file (ENOTDIR) cannot exist either. */
  ASSERT_EQ(test_write_file(p, "x", 1), 0);
  size_t n = strlen(p) + 8;
  char *q = (char *)malloc(n);
  snprintf(q, n, "%s/child", p);
  ASSERT_STATUS(mmapio__os_open(&fd, q, MMAPIO__OPEN_READ, MMAPIO__CREATE_NO, 0), MMAPIO_ENOENT);
  ASSERT_STATUS(mmapio__os_open(&fd, q, MMAPIO__OPEN_RDWR, MMAPIO__CREATE_EXCL, 0), MMAPIO_ENOENT);
  char *dst = test_tmp_path("copydst");
  ASSERT_STATUS(mmapio__os_copy_file(q, dst), MMAPIO_ENOENT);
  test_unlink(p);
  free(dst);
  free(q);
  free(p);
}

/* Permission denied needs a process that is not root (root bypasses file
 * modes): a forked child drops to "nobody". */
static void test_permission(void)
{
  char *p = test_tmp_path("perm");
  ASSERT_EQ(test_write_file(p, "abc", 3), 0);
  ASSERT_EQ(chmod(p, 0), 0);
  if (geteuid() != 0) {
    int fd = -1;
    ASSERT_STATUS(mmapio__os_open(&fd, p, MMAPIO__OPEN_READ, MMAPIO__CREATE_NO, 0), MMAPIO_EACCES);
    ASSERT_MSG_HAS("Permission denied");
  } else {
    fflush(NULL);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
      if (setgid(65534) != 0 || setuid(65534) != 0) _exit(77);
      int fd = -1;
      int rc = mmapio__os_open(&fd, p, MMAPIO__OPEN_READ, MMAPIO__CREATE_NO, 0);
      if (rc != MMAPIO_EACCES) _exit(10);
      if (strstr(mmapio_last_error(), "Permission denied") == NULL) _exit(11);
      rc = mmapio__os_open(&fd, p, MMAPIO__OPEN_RDWR, MMAPIO__CREATE_NO, 0);
      if (rc != MMAPIO_EACCES) _exit(12);
      _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) printf("note: setuid(65534) not allowed, EACCES not tested\n");
    else ASSERT_EQ(WEXITSTATUS(status), 0);
  }
  test_unlink(p);
  free(p);
}

static void test_dup(void)
{
  char *p = test_tmp_path("dup");
  ASSERT_EQ(test_write_file(p, "hello", 5), 0);
  int ro = open(p, O_RDONLY);
  int wo = open(p, O_WRONLY);
  int rw = open(p, O_RDWR);
  ASSERT(ro >= 0 && wo >= 0 && rw >= 0);
  int fd = -1;

  ASSERT_STATUS(mmapio__os_dup(&fd, ro, 1, p), MMAPIO_EACCES);
  ASSERT_MSG_HAS("descriptor is not open for writing");
  ASSERT_MSG_HAS(p);
  ASSERT_STATUS(mmapio__os_dup(&fd, wo, 0, p), MMAPIO_EACCES);
  ASSERT_MSG_HAS("not open for reading");
  ASSERT_STATUS(mmapio__os_dup(&fd, -1, 0, p), MMAPIO_EINVAL);
  ASSERT_EQ(fd, -1);

  ASSERT_OK(mmapio__os_dup(&fd, ro, 0, p));
  ASSERT(fd >= 0 && fd != ro);
  ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  uint64_t sz = 0;
  ASSERT_OK(mmapio__os_file_size(&sz, fd, p));
  ASSERT_U64_EQ(sz, 5);
  mmapio__os_close_file(fd);

  ASSERT_OK(mmapio__os_dup(&fd, rw, 1, NULL));
  ASSERT(fd >= 0 && fd != rw);
  mmapio__os_close_file(fd);

  /* A closed descriptor number. */
  int dead = dup(ro);
  close(dead);
  ASSERT_STATUS(mmapio__os_dup(&fd, dead, 0, NULL), MMAPIO_EINVAL);
  ASSERT_MSG_HAS("<");  /* "<fd>" names the anonymous descriptor */
  ASSERT_STATUS(mmapio__os_file_size(&sz, dead, NULL), MMAPIO_EIO);

  /* A pipe is not a regular file. */
  int pp[2];
  ASSERT_EQ(pipe(pp), 0);
  ASSERT_STATUS(mmapio__os_dup(&fd, pp[0], 0, "pipe"), MMAPIO_EINVAL);
  ASSERT_MSG_HAS("not a regular file");
  close(pp[0]);
  close(pp[1]);

  close(ro);
  close(wo);
  close(rw);
  test_unlink(p);
  free(p);
}

static void test_copy(void)
{
  char *src = test_tmp_path("copysrc");
  char *dst = test_tmp_path("copydst");
  /* Bigger than one copy_file_range / read chunk, odd length. */
  size_t n = 3u * 1024u * 1024u + 12345u;
  uint8_t *data = (uint8_t *)malloc(n);
  os_fill_pat(data, n);
  ASSERT_EQ(test_write_file(src, data, n), 0);
  /* An existing longer destination is truncated. */
  uint8_t *junk = (uint8_t *)calloc(1, n + 4096);
  ASSERT_EQ(test_write_file(dst, junk, n + 4096), 0);
  ASSERT_OK(mmapio__os_copy_file(src, dst));
  size_t got = 0;
  uint8_t *back = (uint8_t *)test_read_file(dst, &got);
  ASSERT(back != NULL);
  ASSERT_EQ(got, n);
  ASSERT_MEMEQ(back, data, n);
  free(back);

  /* The read/write path: used when copy_file_range is refused (and always
   * in portable builds). */
  if (MMAPIO__HOOKS) {
    test_unlink(dst);
    mmapio__sys_reset();
    if (MMAPIO__LINUX) mmapio__sys_fail_nth("copy_file_range", 1, EXDEV);
    ASSERT_OK(mmapio__os_copy_file(src, dst));
    ASSERT(mmapio__sys_count("read") >= 2);
    ASSERT(mmapio__sys_count("write") >= 1);
    back = (uint8_t *)test_read_file(dst, &got);
    ASSERT_EQ(got, n);
    ASSERT_MEMEQ(back, data, n);
    free(back);

    /* A full disk while writing is ENOSPC naming the destination. */
    mmapio__sys_reset();
    if (MMAPIO__LINUX) mmapio__sys_fail_nth("copy_file_range", 1, ENOSPC);
    else mmapio__sys_fail_nth("write", 2, ENOSPC);
    ASSERT_STATUS(mmapio__os_copy_file(src, dst), MMAPIO_ENOSPC);
    ASSERT_MSG_HAS(dst);
    /* A read error names the source. */
    mmapio__sys_reset();
    if (MMAPIO__LINUX) mmapio__sys_fail_nth("copy_file_range", 1, EXDEV);
    mmapio__sys_fail_nth("read", 1, EIO);
    ASSERT_STATUS(mmapio__os_copy_file(src, dst), MMAPIO_EIO);
    ASSERT_MSG_HAS("read(");
    ASSERT_MSG_HAS(src);
    mmapio__sys_reset();
  }

  /* Copying a file onto itself (or onto a hard link of itself) must not
   * truncate it. */
  ASSERT_STATUS(mmapio__os_copy_file(src, src), MMAPIO_EINVAL);
  ASSERT_MSG_HAS("same file");
  char *lnk = test_tmp_path("copylink");
  ASSERT_EQ(link(src, lnk), 0);
  ASSERT_STATUS(mmapio__os_copy_file(src, lnk), MMAPIO_EINVAL);
  back = (uint8_t *)test_read_file(src, &got);
  ASSERT_EQ(got, n);
  ASSERT_MEMEQ(back, data, n);
  free(back);
  test_unlink(lnk);
  free(lnk);
  /* A FIFO destination without a reader neither blocks nor is written. */
  char *fifo = test_tmp_path("copyfifo");
  ASSERT_EQ(mkfifo(fifo, 0600), 0);
  ASSERT_STATUS(mmapio__os_copy_file(src, fifo), MMAPIO_EINVAL);
  int rd = open(fifo, O_RDONLY | O_NONBLOCK); /* with a reader: still not a regular file */
  ASSERT(rd >= 0);
  ASSERT_STATUS(mmapio__os_copy_file(src, fifo), MMAPIO_EINVAL);
  ASSERT_MSG_HAS("not a regular file");
  close(rd);
  test_unlink(fifo);
  free(fifo);

  /* Empty source. */
  ASSERT_EQ(test_write_file(src, "", 0), 0);
  ASSERT_OK(mmapio__os_copy_file(src, dst));
  back = (uint8_t *)test_read_file(dst, &got);
  ASSERT_EQ(got, 0);
  free(back);

  /* New destination: 0666 & ~umask. */
  test_unlink(dst);
  mode_t old = umask(027);
  ASSERT_OK(mmapio__os_copy_file(src, dst));
  struct stat st;
  ASSERT_EQ(stat(dst, &st), 0);
  ASSERT_EQ(st.st_mode & 0777, 0640);
  umask(old);

  test_unlink(src);
  test_unlink(dst);
  free(junk);
  free(data);
  free(src);
  free(dst);
}

static void test_injected_open(void)
{
  if (!have_hooks("test_injected_open")) return;
  char *p = test_tmp_path("inject");
  int fd = -1;
  mmapio__sys_reset();
  mmapio__sys_fail_nth("open", 1, EACCES);
  ASSERT_STATUS(mmapio__os_open(&fd, p, MMAPIO__OPEN_RDWR, MMAPIO__CREATE_EXCL, 0), MMAPIO_EACCES);
  ASSERT_EQ(mmapio_last_os_error(), EACCES);
  ASSERT(access(p, F_OK) != 0);
  /* A failure after O_EXCL created the file removes it again. */
  mmapio__sys_fail_nth("fstat", 1, EIO);
  ASSERT_STATUS(mmapio__os_open(&fd, p, MMAPIO__OPEN_RDWR, MMAPIO__CREATE_EXCL, 0), MMAPIO_EIO);
  ASSERT(access(p, F_OK) != 0);
  ASSERT_EQ(fd, -1);
  /* Counting: one open per call above, plus this one. */
  ASSERT_OK(mmapio__os_open(&fd, p, MMAPIO__OPEN_RDWR, MMAPIO__CREATE_EXCL, 0));
  ASSERT_EQ(mmapio__sys_count("open"), 3);
  /* One open and one fstat: no fcntl (O_NONBLOCK has no effect on a
   * regular file, so it is not cleared). */
  ASSERT_EQ(mmapio__sys_count("fstat"), 2);
  ASSERT_EQ(mmapio__sys_count("fcntl"), 0);
  mmapio__os_close_file(fd);
  /* An existing file is never removed by a failed plain open. */
  mmapio__sys_fail_nth("fstat", 1, EIO);
  ASSERT_STATUS(mmapio__os_open(&fd, p, MMAPIO__OPEN_RDWR, MMAPIO__CREATE_NO, 0), MMAPIO_EIO);
  ASSERT_EQ(access(p, F_OK), 0);
  mmapio__sys_reset();
  test_unlink(p);
  free(p);
}

static void test_errno_map(void)
{
  ASSERT_EQ(mmapio__os_status(0), MMAPIO_OK);
  ASSERT_EQ(mmapio__os_status(ENOENT), MMAPIO_ENOENT);
  ASSERT_EQ(mmapio__os_status(ENOTDIR), MMAPIO_ENOENT);
  ASSERT_EQ(mmapio__os_status(EEXIST), MMAPIO_EEXIST);
  ASSERT_EQ(mmapio__os_status(EACCES), MMAPIO_EACCES);
  ASSERT_EQ(mmapio__os_status(EPERM), MMAPIO_EACCES);
  ASSERT_EQ(mmapio__os_status(EROFS), MMAPIO_EACCES);
  ASSERT_EQ(mmapio__os_status(ETXTBSY), MMAPIO_EACCES);
  ASSERT_EQ(mmapio__os_status(ENOSPC), MMAPIO_ENOSPC);
  ASSERT_EQ(mmapio__os_status(EDQUOT), MMAPIO_ENOSPC);
  ASSERT_EQ(mmapio__os_status(EFBIG), MMAPIO_ESIZE); /* too large for the file system: a size problem */
  ASSERT_EQ(mmapio__os_status(ENOMEM), MMAPIO_ENOMEM);
  ASSERT_EQ(mmapio__os_status(EOVERFLOW), MMAPIO_ENOMEM);
  ASSERT_EQ(mmapio__os_status(EISDIR), MMAPIO_EINVAL);
  ASSERT_EQ(mmapio__os_status(EOPNOTSUPP), MMAPIO_ENOTSUP);
  ASSERT_EQ(mmapio__os_status(EINVAL), MMAPIO_EIO);
  ASSERT_EQ(mmapio__os_status(EIO), MMAPIO_EIO);
  ASSERT_EQ(mmapio__os_status(EBADF), MMAPIO_EIO);

  char buf[128];
  mmapio__os_strerror(ENOENT, buf, sizeof buf);
  ASSERT_STREQ(buf, strerror(ENOENT));
  /* A tiny buffer is truncated, never overrun, and stays terminated. */
  char small[6];
  memset(small, 'x', sizeof small);
  mmapio__os_strerror(ENOENT, small, sizeof small);
  ASSERT(memchr(small, '\0', sizeof small) != NULL);
  mmapio__os_strerror(123456, buf, sizeof buf);
  ASSERT(buf[0] != '\0');
  ASSERT_EQ(mmapio__os_granularity(), mmapio__os_page_size());
  ASSERT_EQ(mmapio__os_page_size(), (size_t)sysconf(_SC_PAGESIZE));
}

int main(void)
{
  test_create_modes();
  test_not_regular();
  test_missing();
  test_permission();
  test_dup();
  test_copy();
  test_errno_map();
  test_injected_open();
  printf("ok\n");
  return 0;
}
