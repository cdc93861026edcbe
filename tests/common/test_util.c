#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#  include <process.h>
#  define test_getpid _getpid
#else
#  include <unistd.h>
#  define test_getpid getpid
#endif

char *test_tmp_path(const char *tag)
{
  static unsigned counter;
  const char *dir = getenv("MMAPIO_TEST_TMPDIR");
  if (dir == NULL || *dir == '\0') dir = getenv("TMPDIR");
#ifdef _WIN32
  if (dir == NULL || *dir == '\0') dir = getenv("TEMP");
  if (dir == NULL || *dir == '\0') dir = ".";
#else
  if (dir == NULL || *dir == '\0') dir = "/tmp";
#endif
  size_t n = strlen(dir) + strlen(tag) + 64;
  char *p = (char *)malloc(n);
  if (p == NULL) abort();
  /* Wine hands out the same small process ids again and again, so a file an
   * earlier program left behind (a failed test, or one that keeps its file)
   * can carry this very name: skip names that exist. Two live processes
   * never share a pid, so the name is still this process's alone. */
  do {
    snprintf(p, n, "%s/mmapio-%s-%d-%u", dir, tag, (int)test_getpid(), counter++);
  } while (file_exists(p));
  return p;
}

int test_write_file(const char *path, const void *data, size_t len)
{
  FILE *f = fopen(path, "wb");
  if (f == NULL) return -1;
  if (len > 0 && fwrite(data, 1, len, f) != len) { fclose(f); return -1; }
  return fclose(f) == 0 ? 0 : -1;
}

void *test_read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  size_t cap = 4096, n = 0;
  unsigned char *buf = (unsigned char *)malloc(cap);
  for (;;) {
    if (n == cap) { cap *= 2; buf = (unsigned char *)realloc(buf, cap); }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
  }
  fclose(f);
  *len = n;
  return buf;
}

void test_unlink(const char *path) { remove(path); }

char *test_path_in(const char *dir, const char *name)
{
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = (char *)malloc(n);
  if (p == NULL) abort();
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

#ifndef _WIN32
#  include <errno.h>
#  include <sys/resource.h>
#  include <sys/wait.h>
#  if defined(__linux__)
#    include <sched.h>
#    include <sys/mount.h>
#  endif

int test_child_fails;

int test_fork_call(int (*fn)(void *), void *arg)
{
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) TEST_FAIL_("fork: %s", strerror(errno));
  if (pid == 0) {
    int rc = fn(arg);
    fflush(NULL);
    _exit(rc);
  }
  int st = 0;
  pid_t w;
  while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR) {
  }
  if (w != pid) TEST_FAIL_("waitpid: %s", strerror(errno));
  return st;
}

typedef struct rlimit_call {
  int resource;
  uint64_t cur, max;
  int (*fn)(void *);
  void *arg;
} rlimit_call;

static int rlimit_then_call(void *arg)
{
  rlimit_call *c = (rlimit_call *)arg;
  struct rlimit rl;
  rl.rlim_cur = (rlim_t)c->cur;
  rl.rlim_max = (rlim_t)c->max;
  if (setrlimit(c->resource, &rl) != 0) return TEST_SKIP_CODE;
  return c->fn(c->arg);
}

int test_fork_rlimit(int resource, uint64_t cur, uint64_t max, int (*fn)(void *), void *arg)
{
  rlimit_call c;
  c.resource = resource;
  c.cur = cur;
  c.max = max;
  c.fn = fn;
  c.arg = arg;
  return test_fork_call(rlimit_then_call, &c);
}

int test_wait_child(pid_t pid)
{
  int st = 0;
  while (waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) fprintf(stderr, "child %d killed by signal %d\n", (int)pid, WTERMSIG(st));
  return -1;
}

int test_child_exit(int st, const char *what)
{
  if (!WIFEXITED(st)) TEST_FAIL_("%s: child did not exit (status %#x)", what, st);
  return WEXITSTATUS(st);
}

void test_child_killed_by(int st, int sig, const char *what)
{
  if (UNDER_SANITIZER) {
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) TEST_FAIL_("%s: child survived", what);
    return;
  }
  if (!WIFSIGNALED(st) || WTERMSIG(st) != sig)
    TEST_FAIL_("%s: child status %#x, want death by signal %d", what, st, sig);
}

void test_require_root(const char *for_what)
{
  if (geteuid() != 0) TEST_SKIP("needs root %s", for_what);
}

#  if defined(__linux__)
const char *test_private_mount_ns(void)
{
  static char why[160];
  if (unshare(CLONE_NEWNS) != 0) {
    snprintf(why, sizeof why, "unshare(CLONE_NEWNS): %s", strerror(errno));
    return why;
  }
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
    snprintf(why, sizeof why, "making / private: %s", strerror(errno));
    return why;
  }
  return NULL;
}

const char *test_private_tmpfs(const char *dir, const char *opts)
{
  static char why[160];
  const char *ns = test_private_mount_ns();
  if (ns != NULL) return ns;
  if (mount("tmpfs", dir, "tmpfs", 0, opts) != 0) {
    snprintf(why, sizeof why, "mount tmpfs: %s", strerror(errno));
    return why;
  }
  return NULL;
}

int test_fs_mount(const char *type, const char *img, const char *dir)
{
  char cmd[2400];
  const char *opts = strcmp(type, "ext4") == 0 ? "-q -F -m 0" : "-q -f";
  snprintf(cmd, sizeof cmd, "mkfs.%s %s '%s' >/dev/null 2>&1", type, opts, img);
  if (system(cmd) != 0) return TEST_FS_NO_MKFS;
  snprintf(cmd, sizeof cmd, "mount -t %s -o loop '%s' '%s' >/dev/null 2>&1", type, img, dir);
  if (system(cmd) != 0) return TEST_FS_NO_MOUNT;
  return 0;
}

typedef struct on_fs_call {
  const test_fs *fs;
  const char *needs;
  int (*fn)(const test_fs *fs, void *arg);
  void *arg;
} on_fs_call;

#  define TEST_FS_NO_TOOL 80

static int on_fs_child(void *a)
{
  const on_fs_call *c = (const on_fs_call *)a;
  char cmd[1400];
  if (c->needs != NULL) {
    snprintf(cmd, sizeof cmd, "command -v '%s' >/dev/null 2>&1", c->needs);
    if (system(cmd) != 0) return TEST_FS_NO_TOOL;
  }
  if (test_private_mount_ns() != NULL) return 77;
  int code = test_fs_mount(c->fs->type, c->fs->img, c->fs->dir);
  if (code != 0) return code;
  code = c->fn(c->fs, c->arg);
  snprintf(cmd, sizeof cmd, "umount '%s' >/dev/null 2>&1", c->fs->dir);
  if (system(cmd) != 0) {}
  return code;
}

void test_on_fs(const char *type, unsigned mib, const char *needs, const char *what,
                int (*fn)(const test_fs *fs, void *arg), void *arg)
{
  char for_what[100];
  snprintf(for_what, sizeof for_what, "to loop-mount a %s image", type);
  test_require_root(for_what);
  char tag[64];
  snprintf(tag, sizeof tag, "%s-mnt", type);
  char *dir = test_tmp_path(tag);
  snprintf(tag, sizeof tag, "%s-work", type);
  char *work = test_tmp_path(tag);
  snprintf(tag, sizeof tag, "%s-img", type);
  char *img = test_tmp_path(tag);
  ASSERT(mkdir(dir, 0755) == 0);
  ASSERT(mkdir(work, 0755) == 0);
  int fd = open(img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT(fd >= 0);
  ASSERT(ftruncate(fd, (off_t)mib * (off_t)MIB) == 0);
  close(fd);
  test_fs fs = {type, img, dir, work};
  on_fs_call c = {&fs, needs, fn, arg};
  int st = test_fork_call(on_fs_child, &c);
  /* The mounts lived only in the child's namespace. */
  (void)rmdir(dir);
  (void)rmdir(work);
  test_unlink(img);
  free(dir);
  free(work);
  free(img);
  int code = test_child_exit(st, what);
  switch (code) {
    case 0: return;
    case 77: TEST_SKIP("cannot unshare a mount namespace here (EPERM)");
    case TEST_FS_NO_TOOL: TEST_SKIP("%s is not installed", needs);
    case TEST_FS_NO_MKFS: TEST_SKIP("mkfs.%s is missing or failed", type);
    case TEST_FS_NO_MOUNT: TEST_SKIP("cannot loop-mount a %s image (no loop device, or no %s here)", type, type);
    default: TEST_FAIL_("%s on %s failed in the child (exit %d)", what, type, code);
  }
}

const char *test_fs_cut(const char *type, const char *img, const char *work)
{
  static char mnt[1100];
  char cmd[3000], snap[1100];
  snprintf(snap, sizeof snap, "%s/cut.img", work);
  snprintf(mnt, sizeof mnt, "%s/cut", work);
  snprintf(cmd, sizeof cmd, "cp --sparse=always '%s' '%s'", img, snap);
  if (system(cmd) != 0) {
    fprintf(stderr, "cannot copy the image %s to %s\n", img, snap);
    return NULL;
  }
  if (strcmp(type, "ext4") == 0) {
    /* 0: clean, 1: errors corrected (the journal was replayed); 4 and up:
     * the file system is damaged. */
    snprintf(cmd, sizeof cmd, "e2fsck -fy '%s' >/dev/null 2>&1", snap);
    int st = system(cmd);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (code < 0 || code >= 4) {
      fprintf(stderr, "e2fsck of the copy %s exited %d: the file system is damaged\n", snap, code);
      return NULL;
    }
  }
  (void)mkdir(mnt, 0755);
  /* XFS refuses a second file system with the same UUID unless told;
   * btrfs gives a cloned single-device file system a temporary one. */
  const char *opts = strcmp(type, "xfs") == 0 ? "loop,nouuid" : "loop";
  snprintf(cmd, sizeof cmd, "mount -t %s -o %s '%s' '%s' 2>&1", type, opts, snap, mnt);
  if (system(cmd) != 0) {
    fprintf(stderr, "cannot mount the power-cut copy %s (journal replay failed?)\n", snap);
    (void)unlink(snap);
    return NULL;
  }
  return mnt;
}

void test_fs_cut_end(const char *work)
{
  char cmd[2400], p[1100];
  snprintf(cmd, sizeof cmd, "umount '%s/cut' >/dev/null 2>&1", work);
  if (system(cmd) != 0) {}
  snprintf(p, sizeof p, "%s/cut", work);
  (void)rmdir(p);
  snprintf(p, sizeof p, "%s/cut.img", work);
  (void)unlink(p);
}

void test_require_dev_fuse(void)
{
  if (access("/dev/fuse", R_OK | W_OK) != 0) TEST_SKIP("/dev/fuse: %s", strerror(errno));
}
#  endif
#endif /* !_WIN32 */

char *test_long_name(const char *dir, size_t n)
{
  size_t dl = strlen(dir);
  char *p = (char *)malloc(dl + 2 + n);
  ASSERT(p != NULL);
  memcpy(p, dir, dl);
  p[dl] = '/';
  memset(p + dl + 1, 'n', n);
  p[dl + 1 + n] = '\0';
  return p;
}
