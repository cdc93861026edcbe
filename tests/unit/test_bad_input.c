/*
 * Bad input: NULL pointers, directories, FIFOs,
 * device files, missing files, files without permission, zero and huge
 * sizes. Each gets its status and a detail message naming the call and
 * path, and nothing on disk changes (a failed create leaves no file).
 */
#include "test.h"

#ifndef _WIN32
#  include <grp.h>
#  include <signal.h>
#  include <sys/wait.h>
#endif

static void check_nulls(const char *p)
{
  mmapio_map *m = BAD_MAP;
  ASSERT_STATUS(mmapio_open(NULL, p, NULL), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_open(&m, NULL, NULL), MMAPIO_EINVAL);
  ASSERT(m == NULL);
  ASSERT_STATUS(mmapio_open_ro(NULL, p), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_open_rw(NULL, p), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_create_rw(NULL, p, 10), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_open_or_create(NULL, p, 10), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_anon(NULL, 10, 0), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_retain(NULL), MMAPIO_EINVAL);
  ASSERT_OK(mmapio_close(NULL));
  uint8_t b = 0;
  ASSERT_STATUS(mmapio_read(NULL, 0, &b, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_write(NULL, 0, &b, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_flush(NULL), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_flush_range(NULL, 0, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_resize(NULL, 1), MMAPIO_EINVAL);
  mmapio_view v;
  mmapio_view_mut w;
  mmapio_segment s;
  ASSERT_STATUS(mmapio_view_get(&v, NULL, 0, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_view_get_mut(&w, NULL, 0, 1), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_segment_init(&s, NULL, 0, 1), MMAPIO_EINVAL);
  mmapio_view_release(NULL);
  ASSERT_OK(mmapio_view_mut_release(NULL));
  mmapio_segment_release(NULL);
  ASSERT_STATUS(mmapio_copy_file(NULL, NULL), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_remove_file(NULL), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio_write_file(NULL, 0, &b, 1), MMAPIO_EINVAL);
  /* Empty path: not a file. */
  m = BAD_MAP;
  ASSERT(mmapio_open_ro(&m, "") != MMAPIO_OK);
  ASSERT(m == NULL);
}

/* Every open path on a path that is not a regular file: EINVAL naming it,
 * and the path is left as it was. */
static void check_not_regular(const char *path)
{
  mmapio_map *m = BAD_MAP;
  ASSERT_ERR_HAS(mmapio_open_ro(&m, path), MMAPIO_EINVAL, path);
  ASSERT(m == NULL);
  ASSERT_ERR_HAS(mmapio_open_rw(&m, path), MMAPIO_EINVAL, path);
  if (has_cow()) ASSERT_ERR_HAS(mmapio_open_cow(&m, path), MMAPIO_EINVAL, path);
  ASSERT_ERR_HAS(mmapio_create_rw(&m, path, 4096), MMAPIO_EINVAL, path);
  ASSERT_ERR_HAS(mmapio_open_or_create(&m, path, 4096), MMAPIO_EINVAL, path);
  mmapio_options o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_TRUNCATE, 4096);
  ASSERT_ERR_HAS(mmapio_open(&m, path, &o), MMAPIO_EINVAL, path);
  ASSERT(m == NULL);
}

#ifndef _WIN32
static void on_alarm(int sig)
{
  (void)sig;
  static const char msg[] = "FAIL: an open call hung on a FIFO (it must not block)\n";
  if (write(2, msg, sizeof msg - 1) < 0) {}
  _exit(1);
}
#endif

static void check_special_files(void)
{
  char *dir = test_tmp_path("bad-dir");
  ASSERT(make_dir(dir) == 0);
  check_not_regular(dir);
  ASSERT(file_exists(dir));
  ASSERT(remove_dir(dir) == 0); /* still an empty directory */
  free(dir);
#ifndef _WIN32
  char *fifo = test_tmp_path("bad-fifo");
  ASSERT(mkfifo(fifo, 0644) == 0);
  signal(SIGALRM, on_alarm);
  alarm(60);
  check_not_regular(fifo);
  alarm(0);
  struct stat st;
  ASSERT(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
  test_unlink(fifo);
  free(fifo);

  check_not_regular("/dev/null");
  ASSERT(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
  if (stat("/dev/zero", &st) == 0) {
    mmapio_map *m;
    ASSERT_ERR_HAS(mmapio_open_ro(&m, "/dev/zero"), MMAPIO_EINVAL, "/dev/zero");
  }
#endif
}

static void check_missing(void)
{
  char *missing = test_tmp_path("bad-missing");
  mmapio_map *m = BAD_MAP;
  ASSERT_ERR_HAS(mmapio_open_ro(&m, missing), MMAPIO_ENOENT, missing);
  ASSERT(m == NULL);
  ASSERT_ERR_HAS(mmapio_open_rw(&m, missing), MMAPIO_ENOENT, missing);
  if (has_cow()) ASSERT_ERR_HAS(mmapio_open_cow(&m, missing), MMAPIO_ENOENT, missing);
  ASSERT(!file_exists(missing));
  /* A missing directory component: creating fails with ENOENT. */
  char sub[1024];
  snprintf(sub, sizeof sub, "%s/sub/file.bin", missing);
  ASSERT_ERR_HAS(mmapio_create_rw(&m, sub, 100), MMAPIO_ENOENT, sub);
  ASSERT_ERR_HAS(mmapio_open_or_create(&m, sub, 100), MMAPIO_ENOENT, sub);
  ASSERT(!file_exists(missing));
  /* A regular file used as a directory. */
  char *f = mk_file("bad-notdir", 10, 1);
  snprintf(sub, sizeof sub, "%s/x", f);
  ASSERT(mmapio_open_ro(&m, sub) != MMAPIO_OK);
  ASSERT(m == NULL);
  ASSERT(mmapio_create_rw(&m, sub, 10) != MMAPIO_OK);
  ASSERT_EQ(file_len(f), 10);
  test_unlink(f);
  free(f);
  free(missing);
}

/* Calls that fail on an existing file must leave it exactly as it was. */
static void check_nothing_changes(void)
{
  size_t ps = mmapio_page_size();
  char *p = mk_file("bad-keep", 2 * ps + 5, 131);
  file_snap s = snap_take(p);
  mmapio_map *m = BAD_MAP;
  mmapio_options o;

  ASSERT_ERR(mmapio_create_rw(&m, p, 0), MMAPIO_ESIZE, MSG_SIZE_ZERO);
  ASSERT_ERR(mmapio_create_rw(&m, p, UINT64_MAX), MMAPIO_ESIZE, size_max_msg(UINT64_MAX));
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_TRUNCATE, 0);
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_ESIZE);
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE | MMAPIO_OPEN_EXCLUSIVE, 10);
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EEXIST);
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_TRUNCATE | 0x4000u, 10);
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EINVAL);
  o = opts(MMAPIO_MODE_READ_ONLY, MMAPIO_OPEN_TRUNCATE, 10);
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EINVAL);
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_TRUNCATE, 10);
  o.struct_size += 8;
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EVERSION);
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_TRUNCATE, 10);
  o.flush_policy.kind = (mmapio_flush_kind)99;
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_EINVAL);
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_TRUNCATE, 10 * ps);
  o.max_size = ps; /* smaller than the size asked for */
  ASSERT_STATUS(mmapio_open(&m, p, &o), MMAPIO_ESIZE);
  ASSERT(m == NULL);
  ASSERT_SNAP_SAME(p, s);

  /* Failing calls on an open map leave the file alone too. */
  ASSERT_OK(mmapio_open_rw(&m, p));
  uint8_t buf[16];
  memset(buf, 0xFF, sizeof buf);
  ASSERT_STATUS(mmapio_write(m, 2 * ps + 5 - 8, buf, 16), MMAPIO_EBOUNDS);
  ASSERT_STATUS(mmapio_write(m, UINT64_MAX, buf, 1), MMAPIO_EBOUNDS);
  ASSERT_STATUS(mmapio_resize(m, 0), MMAPIO_ESIZE);
  ASSERT_STATUS(mmapio_resize(m, UINT64_MAX), MMAPIO_ESIZE);
  ASSERT_STATUS(mmapio_resize(m, MMAPIO_MAX_SIZE + 1), MMAPIO_ESIZE);
  ASSERT_OK(mmapio_close(m));
  ASSERT_SNAP_SAME(p, s);
  snap_free(&s);

  /* Failed creates leave no file. */
  char *n = test_tmp_path("bad-nocreate");
  ASSERT_STATUS(mmapio_create_rw(&m, n, 0), MMAPIO_ESIZE);
  ASSERT_STATUS(mmapio_create_rw(&m, n, MMAPIO_MAX_SIZE + 1), MMAPIO_ESIZE);
  ASSERT_STATUS(mmapio_open_or_create(&m, n, 0), MMAPIO_ESIZE);
  ASSERT_STATUS(mmapio_open_or_create(&m, n, UINT64_MAX), MMAPIO_ESIZE);
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE, 10 * ps);
  o.max_size = ps;
  ASSERT_STATUS(mmapio_open(&m, n, &o), MMAPIO_ESIZE);
  o = opts(MMAPIO_MODE_READ_WRITE, MMAPIO_OPEN_CREATE, 10);
  o.touch = (mmapio_touch_hint)42;
  ASSERT_STATUS(mmapio_open(&m, n, &o), MMAPIO_EINVAL);
  ASSERT(!file_exists(n));
  /* A huge sparse-less create that the disk cannot hold: an error (ENOSPC,
   * or ESIZE for "larger than the file system allows"), never a crash, and
   * no file left. */
  int st = mmapio_create_rw(&m, n, MMAPIO_MAX_SIZE);
  if (st == MMAPIO_OK) {
    ASSERT_OK(mmapio_close(m));
    test_unlink(n);
  } else {
    ASSERT(st == MMAPIO_ENOSPC || st == MMAPIO_ESIZE || st == MMAPIO_ENOMEM);
    if (file_exists(n)) TEST_FAIL_("failed create_rw(MMAPIO_MAX_SIZE) left %s behind", n);
  }
  free(n);
  test_unlink(p);
  free(p);
}

#ifndef _WIN32
/* Runs in a process without privileges: returns an exit code. */
static int unprivileged_checks(const char *secret, const char *lockeddir)
{
  mmapio_map *m = BAD_MAP;
  int fails = 0;
#  define CHILD_EXPECT(expr, want)                                                         \
    do {                                                                                   \
      int s_ = (expr);                                                                     \
      if (s_ != (want)) {                                                                  \
        fprintf(stderr, "child: %s returned %d (%s), want %d; \"%s\"\n", #expr, s_,        \
                mmapio_strerror(s_), (want), mmapio_last_error());                         \
        fails++;                                                                           \
      } else if ((want) == MMAPIO_EACCES && strstr(mmapio_last_error(), "(") == NULL) {    \
        fprintf(stderr, "child: %s: detail \"%s\" names no call/path\n", #expr,            \
                mmapio_last_error());                                                      \
        fails++;                                                                           \
      }                                                                                    \
    } while (0)
  CHILD_EXPECT(mmapio_open_ro(&m, secret), MMAPIO_EACCES);
  CHILD_EXPECT(mmapio_open_rw(&m, secret), MMAPIO_EACCES);
  CHILD_EXPECT(mmapio_create_rw(&m, secret, 4096), MMAPIO_EACCES);
  CHILD_EXPECT(mmapio_open_or_create(&m, secret, 4096), MMAPIO_EACCES);
  if (has_cow()) CHILD_EXPECT(mmapio_open_cow(&m, secret), MMAPIO_EACCES);
  char inside[1024];
  snprintf(inside, sizeof inside, "%s/new.bin", lockeddir);
  CHILD_EXPECT(mmapio_create_rw(&m, inside, 4096), MMAPIO_EACCES);
  CHILD_EXPECT(mmapio_open_or_create(&m, inside, 4096), MMAPIO_EACCES);
  CHILD_EXPECT(mmapio_remove_file(secret), MMAPIO_EACCES);
  if (m != NULL) {
    fprintf(stderr, "child: *out not NULL after failures\n");
    fails++;
  }
  return fails ? 1 : 0;
}

static void check_permissions(void)
{
  /* A file only root can read, in a directory only root can write. */
  char *lockeddir = test_tmp_path("bad-locked");
  ASSERT(make_dir(lockeddir) == 0);
  char secret[1024];
  snprintf(secret, sizeof secret, "%s/secret.bin", lockeddir);
  uint8_t data[100];
  pat_fill(data, sizeof data, 0, 132);
  ASSERT(test_write_file(secret, data, sizeof data) == 0);
  ASSERT(chmod(secret, 0600) == 0);
  ASSERT(chmod(lockeddir, 0755) == 0);
  file_snap s = snap_take(secret);

  int code;
  if (geteuid() != 0) {
    /* Not root: make the file unreadable to ourselves instead. */
    ASSERT(chmod(secret, 0000) == 0);
    ASSERT(chmod(lockeddir, 0555) == 0);
    code = unprivileged_checks(secret, lockeddir);
    ASSERT(chmod(lockeddir, 0755) == 0);
    ASSERT(chmod(secret, 0600) == 0);
  } else {
    fflush(NULL);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
      /* Drop every privilege; the test directory must stay reachable. */
      if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(77);
      if (geteuid() == 0) _exit(77);
      if (access(lockeddir, X_OK) != 0) _exit(78); /* a parent directory is closed to us */
      _exit(unprivileged_checks(secret, lockeddir));
    }
    int st = 0;
    ASSERT(waitpid(pid, &st, 0) == pid);
    ASSERT(WIFEXITED(st));
    code = WEXITSTATUS(st);
  }
  ASSERT_SNAP_SAME(secret, s);
  snap_free(&s);
  char inside[1024];
  snprintf(inside, sizeof inside, "%s/new.bin", lockeddir);
  ASSERT(!file_exists(inside));
  test_unlink(secret);
  remove_dir(lockeddir);
  free(lockeddir);
  if (code == 77) TEST_SKIP("cannot drop privileges (setuid 65534) for the permission checks");
  if (code == 78) TEST_SKIP("the test directory is not reachable by an unprivileged user");
  if (code != 0) TEST_FAIL_("permission checks failed in the unprivileged child (exit %d)", code);
}
#endif

int main(void)
{
  char *p = mk_file("bad", 4096, 130);
  check_nulls(p);
  check_special_files();
  check_missing();
  check_nothing_changes();
  test_unlink(p);
  free(p);
#ifndef _WIN32
  check_permissions(); /* last: it may skip */
#else
  printf("permission checks need POSIX credentials: not run on Windows\n");
#endif
  return 0;
}
