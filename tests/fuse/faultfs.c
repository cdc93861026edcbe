/*
 * faultfs.c -- a FUSE file system that fails on command, for the tests.
 *
 *   faultfs <backing-dir> <mountpoint>
 *
 * It serves the files of <backing-dir> (one level, regular files only) at
 * <mountpoint>, with the kernel page cache on (no direct_io), so a shared
 * writable mmap of a served file works as on a disk file system: the
 * kernel writes dirty pages back with WRITE requests, and msync/fsync send
 * FSYNC. What the backing file holds is exactly what the file server
 * received -- the tests compare it with what mmapio said was durable.
 *
 * Faults are switched by writing one command per write() to the control
 * file <mountpoint>/.faultctl (direct I/O, never cached):
 *   "write <errno>"            every WRITE fails with that errno (5 = EIO,
 *                              28 = ENOSPC); 0 turns it off
 *   "fsync <errno>"            every FSYNC fails with that errno; 0 = off
 *   "read <off> <len> <errno>" READs overlapping [off, off+len) fail
 *   "slow <ms>"                every WRITE, READ, FSYNC, OPEN and GETATTR
 *                              first sleeps that long (lets signals land
 *                              in the middle of requests); 0 = off
 *   "intr <n>"                 a slowed request whose caller got a signal
 *                              fails with EINTR, at most <n> more times
 *                              (the file system is mounted with
 *                              interruptible requests); 0 = off
 *   "clear"                    no faults
 * Reading the control file returns counters:
 *   "writes=<n> write_fail=<n> fsyncs=<n> fsync_fail=<n> reads=<n> read_fail=<n> intr=<n>\n"
 *
 * The program runs in the foreground and exits when it is unmounted or
 * gets SIGTERM. Only the tests use it.
 */
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64

#include <fuse.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CTL "/.faultctl"

static char backing[4096];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int write_err, fsync_err, read_err;
static long long read_off, read_len;
static long slow_ms;
static long intr_budget;
static unsigned long long n_intr;
static unsigned long long n_writes, n_write_fail, n_fsyncs, n_fsync_fail, n_reads, n_read_fail;

/* Returns 0, or -EINTR when the request was interrupted and the budget
 * allows failing it. */
static int slow(void)
{
  pthread_mutex_lock(&mu);
  long ms = slow_ms;
  pthread_mutex_unlock(&mu);
  if (ms <= 0) return 0;
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  if (!fuse_interrupted()) return 0;
  int fail = 0;
  pthread_mutex_lock(&mu);
  if (intr_budget > 0) {
    intr_budget--;
    n_intr++;
    fail = 1;
  }
  pthread_mutex_unlock(&mu);
  return fail ? -EINTR : 0;
}

static int real_path(char *out, size_t n, const char *path)
{
  int k = snprintf(out, n, "%s%s", backing, path);
  return (k < 0 || (size_t)k >= n) ? -ENAMETOOLONG : 0;
}

/* A request that "slow" applies to (getattr, open): 0 and its backing path,
 * or the negative errno it answers. */
static int slow_real_path(char *out, size_t n, const char *path)
{
  int r = slow();
  return r != 0 ? r : real_path(out, n, path);
}

static void *ffs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
  (void)conn;
  cfg->use_ino = 0;
  cfg->direct_io = 0;     /* page cache on: shared writable mmap works */
  cfg->kernel_cache = 0;  /* drop the cache on open: reads come from us */
  cfg->attr_timeout = 0;
  cfg->entry_timeout = 0;
  cfg->negative_timeout = 0;
  cfg->intr = 1;          /* requests are interruptible (see "intr") */
  return NULL;
}

static int ffs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
  (void)fi;
  if (strcmp(path, CTL) == 0) {
    memset(st, 0, sizeof *st);
    st->st_mode = S_IFREG | 0666;
    st->st_nlink = 1;
    st->st_size = 0;
    return 0;
  }
  char rp[8192];
  int r = slow_real_path(rp, sizeof rp, path);
  if (r != 0) return r;
  if (lstat(rp, st) != 0) return -errno;
  return 0;
}

static int ffs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                       struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
  (void)off; (void)fi; (void)flags;
  if (strcmp(path, "/") != 0) return -ENOENT;
  DIR *d = opendir(backing);
  if (d == NULL) return -errno;
  fill(buf, ".", NULL, 0, 0);
  fill(buf, "..", NULL, 0, 0);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    fill(buf, e->d_name, NULL, 0, 0);
  }
  closedir(d);
  return 0;
}

static int ffs_open(const char *path, struct fuse_file_info *fi)
{
  if (strcmp(path, CTL) == 0) {
    fi->direct_io = 1;
    fi->fh = (uint64_t)-1;
    return 0;
  }
  char rp[8192];
  int r = slow_real_path(rp, sizeof rp, path);
  if (r != 0) return r;
  int fd = open(rp, (fi->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOFOLLOW)) | O_CLOEXEC);
  if (fd < 0) return -errno;
  if (fi->flags & O_TRUNC) (void)ftruncate(fd, 0);
  fi->fh = (uint64_t)fd;
  return 0;
}

static int ffs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
  if (strcmp(path, CTL) == 0) return -EEXIST;
  char rp[8192];
  int r = real_path(rp, sizeof rp, path);
  if (r != 0) return r;
  int fd = open(rp, (fi->flags | O_CREAT | O_CLOEXEC) & ~O_NOFOLLOW, mode);
  if (fd < 0) return -errno;
  fi->fh = (uint64_t)fd;
  return 0;
}

static int ctl_read(char *buf, size_t size, off_t off)
{
  char text[512];
  pthread_mutex_lock(&mu);
  int n = snprintf(text, sizeof text,
                   "writes=%llu write_fail=%llu fsyncs=%llu fsync_fail=%llu reads=%llu "
                   "read_fail=%llu intr=%llu\n",
                   n_writes, n_write_fail, n_fsyncs, n_fsync_fail, n_reads, n_read_fail, n_intr);
  pthread_mutex_unlock(&mu);
  if (off >= n) return 0;
  size_t k = (size_t)(n - off);
  if (k > size) k = size;
  memcpy(buf, text + off, k);
  return (int)k;
}

static int ctl_write(const char *buf, size_t size)
{
  char cmd[256];
  size_t n = size < sizeof cmd - 1 ? size : sizeof cmd - 1;
  memcpy(cmd, buf, n);
  cmd[n] = '\0';
  long long a = 0, b = 0, c = 0;
  pthread_mutex_lock(&mu);
  int ok = 1;
  if (sscanf(cmd, "write %lld", &a) == 1) write_err = (int)a;
  else if (sscanf(cmd, "fsync %lld", &a) == 1) fsync_err = (int)a;
  else if (sscanf(cmd, "read %lld %lld %lld", &a, &b, &c) == 3) {
    read_off = a;
    read_len = b;
    read_err = (int)c;
  } else if (sscanf(cmd, "slow %lld", &a) == 1) slow_ms = (long)a;
  else if (sscanf(cmd, "intr %lld", &a) == 1) intr_budget = (long)a;
  else if (strncmp(cmd, "clear", 5) == 0) {
    write_err = fsync_err = read_err = 0;
    read_off = read_len = 0;
    slow_ms = 0;
    intr_budget = 0;
  } else ok = 0;
  pthread_mutex_unlock(&mu);
  return ok ? (int)size : -EINVAL;
}

static int ffs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
  if (strcmp(path, CTL) == 0) return ctl_read(buf, size, off);
  int sr = slow();
  if (sr != 0) return sr;
  pthread_mutex_lock(&mu);
  n_reads++;
  int e = 0;
  if (read_err != 0 && off < read_off + read_len && (long long)(off + (off_t)size) > read_off) {
    e = read_err;
    n_read_fail++;
  }
  pthread_mutex_unlock(&mu);
  if (e != 0) return -e;
  ssize_t r = pread((int)fi->fh, buf, size, off);
  return r < 0 ? -errno : (int)r;
}

/* A write or fsync request: slowed down (and maybe interrupted) by "slow",
 * counted in *n, and failed with *err when that is set (counted in
 * *n_fail). Returns 0, or the negative errno the request answers. */
static int injected(unsigned long long *n, unsigned long long *n_fail, const int *err)
{
  int sr = slow();
  if (sr != 0) return sr;
  pthread_mutex_lock(&mu);
  (*n)++;
  int e = *err;
  if (e != 0) (*n_fail)++;
  pthread_mutex_unlock(&mu);
  return -e;
}

static int ffs_write(const char *path, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
  if (strcmp(path, CTL) == 0) return ctl_write(buf, size);
  int e = injected(&n_writes, &n_write_fail, &write_err);
  if (e != 0) return e;
  ssize_t r = pwrite((int)fi->fh, buf, size, off);
  return r < 0 ? -errno : (int)r;
}

static int ffs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
  (void)path;
  int e = injected(&n_fsyncs, &n_fsync_fail, &fsync_err);
  if (e != 0) return e;
  if (fi != NULL && fi->fh != (uint64_t)-1) {
    int r = datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh);
    if (r != 0) return -errno;
  }
  return 0;
}

static int ffs_release(const char *path, struct fuse_file_info *fi)
{
  (void)path;
  if (fi->fh != (uint64_t)-1) close((int)fi->fh);
  return 0;
}

static int ffs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
  if (fi != NULL && fi->fh != (uint64_t)-1) return ftruncate((int)fi->fh, size) != 0 ? -errno : 0;
  char rp[8192];
  int r = real_path(rp, sizeof rp, path);
  if (r != 0) return r;
  return truncate(rp, size) != 0 ? -errno : 0;
}

static int ffs_fallocate(const char *path, int mode, off_t off, off_t len,
                         struct fuse_file_info *fi)
{
  (void)path;
  if (fi == NULL || fi->fh == (uint64_t)-1) return -EOPNOTSUPP;
  return fallocate((int)fi->fh, mode, off, len) != 0 ? -errno : 0;
}

static int ffs_unlink(const char *path)
{
  char rp[8192];
  int r = real_path(rp, sizeof rp, path);
  if (r != 0) return r;
  return unlink(rp) != 0 ? -errno : 0;
}

static int ffs_rename(const char *from, const char *to, unsigned int flags)
{
  char a[8192], b[8192];
  int r = real_path(a, sizeof a, from);
  if (r == 0) r = real_path(b, sizeof b, to);
  if (r != 0) return r;
  return renameat2(AT_FDCWD, a, AT_FDCWD, b, flags) != 0 ? -errno : 0;
}

static int ffs_link(const char *from, const char *to)
{
  char a[8192], b[8192];
  int r = real_path(a, sizeof a, from);
  if (r == 0) r = real_path(b, sizeof b, to);
  if (r != 0) return r;
  return link(a, b) != 0 ? -errno : 0;
}

static int ffs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
  (void)fi;
  char rp[8192];
  int r = real_path(rp, sizeof rp, path);
  if (r != 0) return r;
  return chmod(rp, mode) != 0 ? -errno : 0;
}

static int ffs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
  (void)fi;
  char rp[8192];
  int r = real_path(rp, sizeof rp, path);
  if (r != 0) return r;
  return utimensat(AT_FDCWD, rp, tv, 0) != 0 ? -errno : 0;
}

static const struct fuse_operations ops = {
  .init = ffs_init,
  .getattr = ffs_getattr,
  .readdir = ffs_readdir,
  .open = ffs_open,
  .create = ffs_create,
  .read = ffs_read,
  .write = ffs_write,
  .fsync = ffs_fsync,
  .release = ffs_release,
  .truncate = ffs_truncate,
  .fallocate = ffs_fallocate,
  .unlink = ffs_unlink,
  .rename = ffs_rename,
  .link = ffs_link,
  .chmod = ffs_chmod,
  .utimens = ffs_utimens,
};

static void on_intr_signal(int sig) { (void)sig; }

int main(int argc, char **argv)
{
  if (argc != 3) {
    fprintf(stderr, "usage: %s <backing-dir> <mountpoint>\n", argv[0]);
    return 2;
  }
  if (realpath(argv[1], backing) == NULL) {
    perror(argv[1]);
    return 2;
  }
  /* With interruptible requests libfuse signals the worker thread of an
   * interrupted request with SIGUSR1; the signal only needs to cut the
   * sleep short. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_intr_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  char *fargv[] = {argv[0], "-f", "-o", "fsname=faultfs,subtype=faultfs", argv[2], NULL};
  return fuse_main(5, fargv, &ops, NULL);
}
