/*
 * mmapio_file_lock / mmapio_file_unlock and MMAPIO_OPEN_BORROW_FD
 * (include/mmapio.h, section 16), checked from a second real process: the
 * child asks the kernel (F_GETLK, and F_OFD_GETLK on Linux) and tries to
 * lock through a map of its own. Also: closing another map or descriptor of
 * the same file in this process does not drop the locks (OFD locks on
 * Linux; with MMAPIO_PORTABLE_POSIX only the borrowed-descriptor case is
 * promised), a waiting lock is granted when the holder unlocks, and bad
 * arguments are refused.
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__linux__) && defined(F_OFD_SETLK) && !defined(MMAPIO_PORTABLE_POSIX)
#  define OFD 1
#else
#  define OFD 0
#endif

static const char *g_path;

/* What the kernel reports to another process for [off, off+len) and type. */
static short probe(short type, off_t off, off_t len)
{
  int fd = open(g_path, O_RDWR);
  if (fd < 0) exit(90);
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = off;
  fl.l_len = len;
  if (fcntl(fd, F_GETLK, &fl) != 0) exit(91);
  short r = fl.l_type;
#if OFD
  struct flock fo;
  memset(&fo, 0, sizeof fo);
  fo.l_type = type;
  fo.l_whence = SEEK_SET;
  fo.l_start = off;
  fo.l_len = len;
  if (fcntl(fd, F_OFD_GETLK, &fo) != 0) exit(92);
  if (fo.l_type != r) exit(93); /* both views of the lock table agree */
#endif
  close(fd);
  return r;
}

/* Child: try to lock through its own map; returns the status. */
static int child_try(uint64_t off, uint64_t len, unsigned flags)
{
  mmapio_map *m = NULL;
  if (mmapio_open_rw(&m, g_path) != MMAPIO_OK) exit(94);
  int rc = mmapio_file_lock(m, off, len, flags | MMAPIO_FILE_LOCK_NOWAIT);
  if (rc == MMAPIO_OK && mmapio_file_unlock(m, off, len) != MMAPIO_OK) exit(95);
  mmapio_close(m);
  return rc;
}

/* Expectations a child checks: 'X' = exclusively locked by someone,
 * 'S' = share-locked, 'U' = unlocked. Exits 0 when all hold. */
static int expect_state(char st, uint64_t off, uint64_t len)
{
  short w = probe(F_WRLCK, (off_t)off, (off_t)len);
  short r = probe(F_RDLCK, (off_t)off, (off_t)len);
  int ex = child_try(off, len, MMAPIO_FILE_LOCK_EXCLUSIVE);
  int sh = child_try(off, len, MMAPIO_FILE_LOCK_SHARED);
  switch (st) {
  case 'X':
    if (w != F_WRLCK || r != F_WRLCK) return 10;
    if (ex != MMAPIO_EAGAIN || sh != MMAPIO_EAGAIN) return 11;
    return 0;
  case 'S':
    if (w != F_RDLCK || r != F_UNLCK) return 12;
    if (ex != MMAPIO_EAGAIN || sh != MMAPIO_OK) return 13;
    return 0;
  default:
    if (w != F_UNLCK || r != F_UNLCK) return 14;
    if (ex != MMAPIO_OK || sh != MMAPIO_OK) return 15;
    return 0;
  }
}

static void check_from_child(char st, uint64_t off, uint64_t len, int line)
{
  fflush(NULL);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) _exit(expect_state(st, off, len));
  int ws = 0;
  ASSERT_EQ(waitpid(pid, &ws, 0), pid);
  if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
    TEST_FAIL_("line %d: child saw a lock state other than '%c' on [%llu,+%llu) (exit %d)",
               line, st, (unsigned long long)off, (unsigned long long)len,
               WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
}
#define EXPECT(st, off, len) check_from_child((st), (off), (len), __LINE__)

int main(void)
{
  char *p = test_tmp_path("flock");
  g_path = p;
  static uint8_t data[8192];
  ASSERT_EQ(test_write_file(p, data, sizeof data), 0);
  mmapio_map *a = NULL, *b = NULL;
  ASSERT_OK(mmapio_open_rw(&a, p));

  /* Bad arguments. */
  ASSERT_STATUS(mmapio_file_lock(NULL, 0, 1, 0), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_file_unlock(NULL, 0, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_file_lock(a, 0, 1, 0x10u), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_file_lock(a, (uint64_t)INT64_MAX, 2, 0), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_file_lock(a, UINT64_MAX, 0, 0), MMAPIO_EINVAL);
  mmapio_map *an = NULL;
  ASSERT_OK(mmapio_anon(&an, 4096, 0));
  ASSERT_STATUS(mmapio_file_lock(an, 0, 1, 0), MMAPIO_EMODE);
  ASSERT_STATUS(mmapio_file_unlock(an, 0, 1), MMAPIO_EMODE);
  mmapio_close(an);

  /* Exclusive, beyond the end of the file (like SQLite's lock bytes). */
  const uint64_t far = UINT64_C(1) << 30;
  ASSERT_OK(mmapio_file_lock(a, far, 1, MMAPIO_FILE_LOCK_EXCLUSIVE));
  ASSERT_OK(mmapio_file_lock(a, 100, 10, MMAPIO_FILE_LOCK_EXCLUSIVE));
  EXPECT('X', far, 1);
  EXPECT('X', 100, 10);
  EXPECT('X', 105, 1);
  EXPECT('U', 0, 100);
  EXPECT('U', 110, 50);

  /* Closing another map and a plain descriptor of the same file in this
   * process does not drop the locks (POSIX record locks would be gone). */
  ASSERT_OK(mmapio_open_rw(&b, p));
  int fd = open(p, O_RDWR);
  ASSERT(fd >= 0);
#if OFD
  /* Two maps of one file conflict like two processes. */
  ASSERT_STATUS(mmapio_file_lock(b, 100, 10, MMAPIO_FILE_LOCK_SHARED | MMAPIO_FILE_LOCK_NOWAIT),
                MMAPIO_EAGAIN);
  ASSERT_OK(mmapio_file_lock(b, 200, 10, MMAPIO_FILE_LOCK_SHARED));
#endif
  close(fd);
  ASSERT_OK(mmapio_close(b));
#if OFD
  EXPECT('X', 100, 10);
  EXPECT('X', far, 1);
  EXPECT('U', 200, 10); /* b's lock went with b's descriptor */
#endif

  /* Convert to shared, then unlock part of the range. */
  ASSERT_OK(mmapio_file_lock(a, 100, 10, MMAPIO_FILE_LOCK_SHARED));
  EXPECT('S', 100, 10);
  ASSERT_OK(mmapio_file_unlock(a, 100, 5));
  EXPECT('U', 100, 5);
  EXPECT('S', 105, 5);
  ASSERT_OK(mmapio_file_unlock(a, 0, 0)); /* everything */
  EXPECT('U', 0, 0);

  /* A waiting lock in another process is granted when we unlock. */
  ASSERT_OK(mmapio_file_lock(a, 0, 0, MMAPIO_FILE_LOCK_EXCLUSIVE));
  int pp[2];
  ASSERT_EQ(pipe(pp), 0);
  fflush(NULL);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    close(pp[0]);
    mmapio_map *c = NULL;
    if (mmapio_open_rw(&c, p) != MMAPIO_OK) _exit(20);
    if (write(pp[1], "w", 1) != 1) _exit(21);
    if (mmapio_file_lock(c, 10, 1, MMAPIO_FILE_LOCK_EXCLUSIVE) != MMAPIO_OK) _exit(22);
    if (write(pp[1], "g", 1) != 1) _exit(23);
    _exit(0);
  }
  close(pp[1]);
  char ch = 0;
  ASSERT_EQ(read(pp[0], &ch, 1), 1);
  ASSERT_EQ(ch, 'w');
  ASSERT_OK(mmapio_file_unlock(a, 0, 0));
  ASSERT_EQ(read(pp[0], &ch, 1), 1);
  ASSERT_EQ(ch, 'g');
  int ws = 0;
  ASSERT_EQ(waitpid(pid, &ws, 0), pid);
  ASSERT(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
  close(pp[0]);
  ASSERT_OK(mmapio_close(a));

  /* BORROW_FD: the map uses the caller's descriptor and never closes it;
   * locks taken through it survive the map's close (the fd holds them). */
  fd = open(p, O_RDWR);
  ASSERT(fd >= 0);
  mmapio_options o;
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_BORROW_FD;
  ASSERT_OK(mmapio_open_fd_opts(&a, fd, &o, p));
  ASSERT_EQ(mmapio_native_handle(a), fd);
  ASSERT_U64_EQ(mmapio_len(a), sizeof data);
  ASSERT_OK(mmapio_write(a, 0, "borrowed", 8));
  ASSERT_OK(mmapio_file_lock(a, 50, 1, MMAPIO_FILE_LOCK_EXCLUSIVE));
  ASSERT_OK(mmapio_close(a));
  ASSERT(fcntl(fd, F_GETFD) != -1); /* still open */
  char back[8];
  ASSERT_EQ(pread(fd, back, 8, 0), 8);
  ASSERT_MEMEQ(back, "borrowed", 8);
  EXPECT('X', 50, 1);
  /* A second borrowed map of the same fd, closed: the lock stays. */
  ASSERT_OK(mmapio_open_fd_opts(&b, fd, &o, p));
  ASSERT_OK(mmapio_close(b));
  EXPECT('X', 50, 1);
  /* Failures leave the borrowed descriptor open. */
  int ro = open(p, O_RDONLY);
  ASSERT(ro >= 0);
  ASSERT_STATUS(mmapio_open_fd_opts(&b, ro, &o, p), MMAPIO_EACCES);
  ASSERT(b == NULL);
  ASSERT(fcntl(ro, F_GETFD) != -1);
  o.mode = MMAPIO_MODE_READ_ONLY;
  ASSERT_OK(mmapio_open_fd_opts(&b, ro, &o, p));
  ASSERT_OK(mmapio_close(b));
  ASSERT(fcntl(ro, F_GETFD) != -1);
  close(ro);
  o.flags = MMAPIO_OPEN_BORROW_FD | MMAPIO_OPEN_CREATE;
  ASSERT_STATUS(mmapio_open_fd_opts(&b, fd, &o, p), MMAPIO_EINVAL);
  mmapio_options_init(&o);
  o.size = 10;
  ASSERT_STATUS(mmapio_open_fd_opts(&b, fd, &o, p), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_open_fd_opts(&b, -1, NULL, p), MMAPIO_EINVAL);
  /* Empty file through a borrowed descriptor. */
  ASSERT_EQ(ftruncate(fd, 0), 0);
  mmapio_options_init(&o);
  o.flags = MMAPIO_OPEN_BORROW_FD;
  ASSERT_STATUS(mmapio_open_fd_opts(&b, fd, &o, p), MMAPIO_ESIZE);
  o.flags = MMAPIO_OPEN_BORROW_FD | MMAPIO_OPEN_ALLOW_EMPTY;
  ASSERT_OK(mmapio_open_fd_opts(&b, fd, &o, p));
  ASSERT_OK(mmapio_resize(b, 4096));
  ASSERT_OK(mmapio_close(b));
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  ASSERT_EQ(st.st_size, 4096);
#if OFD
  EXPECT('X', 50, 1);
#else
  /* Classic record locks: the close(ro) above dropped every lock this
   * process held on the file (the limit the header documents). */
  EXPECT('U', 50, 1);
#endif
  close(fd);
  EXPECT('U', 50, 1);

  test_unlink(p);
  free(p);
  printf("ok\n");
  return 0;
}
