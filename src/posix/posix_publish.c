/*
 * posix_publish.c -- creating a file so that it never appears under its
 * name with another length: it is created without a name (or under a short
 * temporary one) in the same directory, sized, mapped, and only then given
 * its name in one step that fails if the name exists.
 *
 * Linux: open(dir, O_TMPFILE) makes a file without a name; linkat() with
 * AT_EMPTY_PATH (or through /proc/self/fd) gives it one (EEXIST if the
 * name exists). No temporary name
 * ever exists, so names up to NAME_MAX work and a crash leaves nothing.
 * Elsewhere, and on file systems without O_TMPFILE: a short hidden name
 * ".mmapio-<hex>" in the same directory, published with
 * renameat2(RENAME_NOREPLACE) on Linux, else link(2) + unlink of the
 * temporary name. On file systems without hard links (FAT, some FUSE and
 * network file systems) the final name is claimed with O_CREAT|O_EXCL and
 * the temporary renamed over it: there a concurrent opener may briefly see
 * an empty file.
 *
 * SPARSE|TRUNCATE (`direct`): the final name is created with O_CREAT|O_EXCL
 * and sized in place, like a TRUNCATE of an existing SPARSE file: one call
 * fewer and no journal work for an unnamed inode, at the price of a file
 * that is visible, empty, until it is sized. A failure after the create
 * removes the name again (O_EXCL made it ours).
 *
 * Durable names: mmapio__os_sync_dir() fsyncs the directory, which is what
 * makes a new name survive a power cut on POSIX file systems.
 */
#include "internal.h"
#include "posix_sys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The directory part of `path` ("." when it has none), malloc'ed. */
static char *dir_of(const char *path)
{
  const char *slash = strrchr(path, '/');
  size_t n = slash == NULL ? 1 : (slash == path ? 1 : (size_t)(slash - path));
  char *d = (char *)malloc(n + 1);
  if (d == NULL) return NULL;
  if (slash == NULL) memcpy(d, ".", 1);
  else if (slash == path) memcpy(d, "/", 1);
  else memcpy(d, path, n);
  d[n] = '\0';
  return d;
}

static int fail_name(int e, const char *call, const char *path)
{
  if (e == ENAMETOOLONG)
    return mmapio__fail(MMAPIO_EINVAL, "%s(%s): file name too long (longer than the system "
                                       "allows for a name or a path)", call, path);
  if (e == EISDIR) return mmapio__fail_os_status(MMAPIO_EINVAL, e, call, path);
  return mmapio__fail_os(e, call, path);
}

static void newfile_init(mmapio__os_newfile *nf)
{
  nf->f = MMAPIO_INVALID_FILE;
  nf->tmp = NULL;
  nf->named = NULL;
}

/* A short temporary name in `dir` that is unlikely to exist: the process
 * id, a process-wide counter and the clock; a collision tries again. */
static int open_named_temp(mmapio__os_newfile *nf, const char *dir, const char *path, int perms)
{
  static uint64_t counter;
  size_t n = strlen(dir) + 40;
  char *tmp = (char *)malloc(n);
  if (tmp == NULL) return mmapio__fail(MMAPIO_ENOMEM, "mmapio_open(%s): out of memory", path);
  int e = EEXIST;
  for (int tries = 0; tries < 64 && e == EEXIST; tries++) {
    uint64_t u = ((uint64_t)getpid() << 32) ^ (mmapio__fetch_add(&counter, 1) << 20) ^
                 mmapio__monotonic_ms();
    snprintf(tmp, n, "%s/.mmapio-%012llx", dir, (unsigned long long)(u & 0xffffffffffffull));
    int fd = mmapio__sys_open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)perms);
    if (fd >= 0) {
      nf->f = fd;
      nf->tmp = tmp;
      return MMAPIO_OK;
    }
    e = errno;
  }
  free(tmp);
  return fail_name(e, "open", path);
}

/* A named temporary file beside `path` (in its directory), for a caller
 * that renames it over `path` (mmapio_copy_file's replace). */
int mmapio__posix_temp_beside(mmapio__os_newfile *nf, const char *path, int perms)
{
  newfile_init(nf);
  char *dir = dir_of(path);
  if (dir == NULL) return mmapio__fail(MMAPIO_ENOMEM, "mmapio_copy_file(%s): out of memory", path);
  int rc = open_named_temp(nf, dir, path, perms);
  free(dir);
  return rc;
}

/* `direct`: the final name itself, exclusively. One call, and the EEXIST
 * of the create is the answer to "does the name exist" (no probe). */
static int open_direct(mmapio__os_newfile *nf, const char *path, int perms)
{
  int fd = mmapio__sys_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)perms);
  if (fd < 0) return fail_name(errno, "open", path);
  nf->f = fd;
  nf->named = path;
  return MMAPIO_OK;
}

int mmapio__os_newfile_open(mmapio__os_newfile *nf, const char *path, int private_perms,
                            int direct)
{
  newfile_init(nf);
  int perms = private_perms ? 0600 : 0666; /* the umask applies */
  if (direct) return open_direct(nf, path, perms);
  char *dir = dir_of(path);
  if (dir == NULL) return mmapio__fail(MMAPIO_ENOMEM, "mmapio_open(%s): out of memory", path);
  int rc;
#if MMAPIO__LINUX && defined(O_TMPFILE)
  int fd = mmapio__sys_open(dir, O_RDWR | O_TMPFILE | O_CLOEXEC, (mode_t)perms);
  if (fd >= 0) {
    free(dir);
    nf->f = fd;
    return MMAPIO_OK;
  }
  int e = errno;
  /* Kernels before 3.11 answer EISDIR (O_TMPFILE contains O_DIRECTORY),
   * file systems without it EOPNOTSUPP; anything else (a missing directory,
   * no permission, read-only) is the answer for the named file too. */
  if (e != EISDIR && e != EOPNOTSUPP && e != EINVAL && e != ENOSYS) {
    free(dir);
    return fail_name(e, "open", path);
  }
#endif
  rc = open_named_temp(nf, dir, path, perms);
  free(dir);
  return rc;
}

/* No hard links here: claim the name exclusively, then move the sized file
 * over our own empty claim. */
static int publish_claim(mmapio__os_newfile *nf, const char *path)
{
  int fd = mmapio__sys_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)0600);
  if (fd < 0) return fail_name(errno, "open", path);
  mmapio__posix_close_quiet(fd);
  if (mmapio__sys_rename(nf->tmp, path) != 0) {
    int e = errno;
    (void)mmapio__sys_unlink(path);
    return fail_name(e, "rename", path);
  }
  return MMAPIO_OK;
}

static int publish_named(mmapio__os_newfile *nf, const char *path)
{
#if MMAPIO__LINUX
  if (mmapio__sys_rename_noreplace(nf->tmp, path) == 0) return MMAPIO_OK;
  int e = errno;
  if (e != EINVAL && e != ENOSYS && e != EOPNOTSUPP) return fail_name(e, "renameat2", path);
#endif
  if (mmapio__sys_link(nf->tmp, path) != 0) {
    int le = errno;
    if (le == EPERM || le == EOPNOTSUPP || le == EXDEV || le == EMLINK || le == ENOSYS)
      return publish_claim(nf, path);
    return fail_name(le, "link", path);
  }
  if (mmapio__sys_unlink(nf->tmp) != 0) {
    /* The file now has two names. Take the published one back so that the
     * failed call leaves nothing behind, and report the failure. */
    int ue = errno;
    (void)mmapio__sys_unlink(path);
    return mmapio__fail_os(ue, "unlink", nf->tmp);
  }
  return MMAPIO_OK;
}

int mmapio__os_newfile_publish(mmapio__os_newfile *nf, const char *path)
{
  int rc;
  if (nf->named != NULL) {
    nf->named = NULL; /* it has its name already, and keeps it */
    return MMAPIO_OK;
  }
  if (nf->tmp != NULL) {
    rc = publish_named(nf, path);
    if (rc == MMAPIO_OK) {
      free(nf->tmp);
      nf->tmp = NULL;
    }
    return rc;
  }
#if MMAPIO__LINUX
  /* Naming an O_TMPFILE file: AT_EMPTY_PATH on the descriptor (Linux 6.10
   * and later allow it to the process that opened the file; before, it
   * needs CAP_DAC_READ_SEARCH), else through /proc (any user, when /proc
   * is mounted). The /proc path costs a walk through procfs on every
   * create, so AT_EMPTY_PATH is tried first until it is refused once
   * (ENOENT): from then on this process goes to /proc directly. */
  static int empty_refused;
  int e = ENOENT;
  if (!mmapio__ld_relaxed(&empty_refused)) {
    if (mmapio__sys_linkat(nf->f, "", AT_FDCWD, path, AT_EMPTY_PATH) == 0) return MMAPIO_OK;
    e = errno;
    /* EEXIST, EACCES, ...: the answer for any way of naming it. */
    if (e != ENOENT && e != EPERM) return fail_name(e, "linkat", path);
  }
  char proc[48];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", nf->f);
  if (mmapio__sys_linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0) {
    if (e == ENOENT && !mmapio__ld_relaxed(&empty_refused)) mmapio__st_relaxed(&empty_refused, 1);
    return MMAPIO_OK;
  }
  int e2 = errno;
  /* ENOENT from both: the directory itself is gone (or /proc is missing
   * and AT_EMPTY_PATH refused); otherwise this is the better answer. */
  if (e2 != ENOENT) e = e2;
  return fail_name(e, "linkat", path);
#else
  return mmapio__fail(MMAPIO_EIO, "mmapio_open(%s): unnamed temporary file", path);
#endif
}

void mmapio__os_newfile_discard(mmapio__os_newfile *nf)
{
  int saved = errno;
  if (nf->f != MMAPIO_INVALID_FILE) (void)mmapio__sys_close(nf->f);
  if (nf->tmp != NULL) (void)mmapio__sys_unlink(nf->tmp);
  /* Created exclusively under its final name by this call: remove it. */
  if (nf->named != NULL) (void)mmapio__sys_unlink(nf->named);
  free(nf->tmp);
  nf->f = MMAPIO_INVALID_FILE;
  nf->tmp = NULL;
  nf->named = NULL;
  errno = saved;
}

int mmapio__os_sync_dir(const char *path)
{
  char *dir = dir_of(path);
  if (dir == NULL) return mmapio__fail(MMAPIO_ENOMEM, "mmapio_open(%s): out of memory", path);
  int flags = O_RDONLY | O_CLOEXEC;
#ifdef O_DIRECTORY
  flags |= O_DIRECTORY;
#endif
  int fd = mmapio__sys_open(dir, flags, (mode_t)0);
  if (fd < 0) {
    int rc = mmapio__fail_os(errno, "open", dir);
    free(dir);
    return rc;
  }
  int r;
  do {
    r = mmapio__sys_fsync_dir(fd);
  } while (r != 0 && errno == EINTR);
  int e = r != 0 ? errno : 0;
  mmapio__posix_close_quiet(fd);
  /* Some file systems cannot sync a directory (EINVAL, EBADF for a
   * read-only descriptor on a few systems); nothing more can be done. */
  int rc = MMAPIO_OK;
  if (e != 0 && e != EINVAL && e != EBADF && e != EOPNOTSUPP && e != EROFS)
    rc = mmapio__fail_os(e, "fsync", dir);
  free(dir);
  return rc;
}
