/*
 * fusetest.h -- mount tests/fuse/faultfs.c for one test program.
 *
 * fusetest_mount() moves the test process into a private mount namespace
 * (unshare(CLONE_NEWNS), / made private), starts faultfs on a fresh
 * directory and waits until the mount answers. The file system goes away
 * with the process: at exit it is unmounted and faultfs is stopped, and
 * faultfs also stops by itself if the test dies (PR_SET_PDEATHSIG).
 * Without libfuse3 at build time, root, /dev/fuse or mount namespaces the
 * test skips (77) with a printed reason.
 */
#ifndef MMAPIO_FUSETEST_H
#define MMAPIO_FUSETEST_H

#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MMAPIO_FAULTFS
#  define MMAPIO_FAULTFS ""
#endif

static char fusetest_root[1024], fusetest_back[1100], fusetest_mnt[1100];
static pid_t fusetest_pid = -1;

static void fusetest_sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static void fusetest_unmount(void)
{
  if (fusetest_pid <= 0) return;
  (void)umount2(fusetest_mnt, MNT_DETACH);
  (void)kill(fusetest_pid, SIGTERM);
  int st;
  while (waitpid(fusetest_pid, &st, 0) < 0 && errno == EINTR) {
  }
  fusetest_pid = -1;
  DIR *d = opendir(fusetest_back);
  if (d != NULL) {
    struct dirent *e;
    char p[2300];
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.') continue;
      snprintf(p, sizeof p, "%s/%s", fusetest_back, e->d_name);
      (void)unlink(p);
    }
    closedir(d);
  }
  (void)rmdir(fusetest_back);
  (void)rmdir(fusetest_mnt);
  (void)rmdir(fusetest_root);
}

/* Path of `name` as the application sees it (through FUSE). */
static char *fusetest_path(const char *name) { return test_path_in(fusetest_mnt, name); }

/* Path of `name` in the backing directory: what the file server holds. */
__attribute__((unused)) static char *fusetest_backing(const char *name)
{
  return test_path_in(fusetest_back, name);
}

/* The control file, opened with `flags` (O_RDONLY: counters, O_WRONLY: commands). */
static int fusetest_ctl_open(int flags)
{
  char p[1200];
  snprintf(p, sizeof p, "%s/.faultctl", fusetest_mnt);
  int fd;
  do {
    fd = open(p, flags | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  ASSERT(fd >= 0);
  return fd;
}

/* Send one control command ("write 5", "clear", ...). */
static void fusetest_ctl(const char *cmd)
{
  int fd = fusetest_ctl_open(O_WRONLY);
  ssize_t w;
  do {
    w = write(fd, cmd, strlen(cmd));
  } while (w < 0 && errno == EINTR);
  ASSERT_EQ(w, (long long)strlen(cmd));
  close(fd);
}

/* One counter of the control file ("writes", "write_fail", "intr", ...). */
__attribute__((unused)) static unsigned long long fusetest_counter(const char *name)
{
  char buf[512];
  int fd = fusetest_ctl_open(O_RDONLY);
  ssize_t n;
  do {
    n = read(fd, buf, sizeof buf - 1);
  } while (n < 0 && errno == EINTR);
  close(fd);
  ASSERT(n > 0);
  buf[n] = '\0';
  char key[64];
  snprintf(key, sizeof key, "%s=", name);
  for (char *q = buf; (q = strstr(q, key)) != NULL; q++) {
    if (q == buf || q[-1] == ' ') return strtoull(q + strlen(key), NULL, 10);
  }
  TEST_FAIL_("no counter %s in \"%s\"", name, buf);
  return 0;
}

/* 1 if the backing file `name` holds exactly `len` bytes equal to `want`
 * at offset `off` (and is at least off+len long). */
__attribute__((unused)) static int fusetest_backing_has(const char *name, uint64_t off, const void *want, size_t len)
{
  char *bp = fusetest_backing(name);
  size_t n = 0;
  uint8_t *got = (uint8_t *)test_read_file(bp, &n);
  free(bp);
  if (got == NULL) return 0;
  int ok = n >= off + len && memcmp(got + off, want, len) == 0;
  free(got);
  return ok;
}

static void fusetest_mount(void)
{
  if (MMAPIO_FAULTFS[0] == '\0') TEST_SKIP("faultfs not built (libfuse3 not found by pkg-config)");
  test_require_root("(FUSE mount in a private mount namespace)");
  test_require_dev_fuse();
  const char *why = test_private_mount_ns();
  if (why != NULL) TEST_SKIP("%s", why);
  const char *base = getenv("MMAPIO_TEST_TMPDIR");
  if (base == NULL || base[0] == '\0') base = "/tmp";
  snprintf(fusetest_root, sizeof fusetest_root, "%s/mmapio-fuse-XXXXXX", base);
  ASSERT(mkdtemp(fusetest_root) != NULL);
  snprintf(fusetest_back, sizeof fusetest_back, "%s/back", fusetest_root);
  snprintf(fusetest_mnt, sizeof fusetest_mnt, "%s/mnt", fusetest_root);
  ASSERT_EQ(mkdir(fusetest_back, 0700), 0);
  ASSERT_EQ(mkdir(fusetest_mnt, 0700), 0);
  pid_t parent = getpid();
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    execl(MMAPIO_FAULTFS, "faultfs", fusetest_back, fusetest_mnt, (char *)NULL);
    _exit(127);
  }
  fusetest_pid = pid;
  atexit(fusetest_unmount);
  char ctl[1200];
  snprintf(ctl, sizeof ctl, "%s/.faultctl", fusetest_mnt);
  /* Wait (bounded) until the mount answers; a faultfs that exits means
   * FUSE does not work here. */
  for (int i = 0; i < 3000; i++) {
    struct stat st;
    if (stat(ctl, &st) == 0) return;
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      fusetest_pid = -1;
      TEST_SKIP("faultfs exited (status %d) before the mount appeared", status);
    }
    fusetest_sleep_ms(10);
  }
  TEST_FAIL_("faultfs did not answer within 30 s");
}

#endif
