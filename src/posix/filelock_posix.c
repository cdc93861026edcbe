/*
 * filelock_posix.c -- byte-range file locks and descriptor checks for maps
 * that borrow the caller's descriptor (include/mmapio.h, section 16).
 *
 * Linux uses open file description locks (F_OFD_SETLK / F_OFD_SETLKW):
 * they belong to the open file, not to the process, so closing another
 * descriptor of the same file does not drop them, and two opens of one file
 * in one process conflict like two processes do. Elsewhere, and in
 * MMAPIO_PORTABLE_POSIX builds, classic fcntl record locks are used, with
 * the process-wide semantics documented in the header.
 */
#include "../internal.h"
#include "posix_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#if MMAPIO__LINUX && defined(F_OFD_SETLK)
#  define MMAPIO__SETLK F_OFD_SETLK
#  define MMAPIO__SETLKW F_OFD_SETLKW
#  define MMAPIO__SETLK_NAME "fcntl(F_OFD_SETLK)"
#  define MMAPIO__SETLKW_NAME "fcntl(F_OFD_SETLKW)"
#else
#  define MMAPIO__SETLK F_SETLK
#  define MMAPIO__SETLKW F_SETLKW
#  define MMAPIO__SETLK_NAME "fcntl(F_SETLK)"
#  define MMAPIO__SETLKW_NAME "fcntl(F_SETLKW)"
#endif

int mmapio__os_check_fd(mmapio_native_file f, int need_write, const char *path)
{
  if (f < 0) return mmapio__fail_os_status(MMAPIO_EINVAL, EBADF, "fcntl", path);
  int fl = mmapio__sys_fcntl(f, F_GETFL, 0);
  if (fl < 0) return mmapio__fail_os_status(MMAPIO_EINVAL, errno, "fcntl", path);
#ifdef O_PATH
  if (fl & O_PATH)
    return mmapio__fail(MMAPIO_EACCES, "mmapio_open_fd(%s): descriptor is not open for reading",
                        mmapio__path_or(path));
#endif
  int acc = fl & O_ACCMODE;
  if (acc == O_WRONLY)
    return mmapio__fail(MMAPIO_EACCES, "mmapio_open_fd(%s): descriptor is not open for reading",
                        mmapio__path_or(path));
  if (need_write && acc != O_RDWR)
    return mmapio__fail(MMAPIO_EACCES, "mmapio_open_fd(%s): descriptor is not open for writing",
                        mmapio__path_or(path));
  struct stat st;
  if (mmapio__sys_fstat(f, &st) != 0) return mmapio__fail_os(errno, "fstat", path);
  if (S_ISDIR(st.st_mode)) return mmapio__fail_os_status(MMAPIO_EINVAL, EISDIR, "fstat", path);
  if (!S_ISREG(st.st_mode))
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_open_fd(%s): not a regular file",
                        mmapio__path_or(path));
  return MMAPIO_OK;
}

static int set_lock(int fd, short type, uint64_t off, uint64_t len, int wait, const char *path)
{
  struct flock fl;
  memset(&fl, 0, sizeof fl); /* l_pid must be 0 for OFD locks */
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = (off_t)off;
  fl.l_len = (off_t)len; /* 0: to the end, whatever the size */
  int cmd = wait ? MMAPIO__SETLKW : MMAPIO__SETLK;
  for (;;) {
    if (fcntl(fd, cmd, &fl) == 0) return MMAPIO_OK;
    int e = errno;
    if (e == EINTR) continue;
    const char *call = wait ? MMAPIO__SETLKW_NAME : MMAPIO__SETLK_NAME;
    if (e == EAGAIN || e == EACCES)
      return mmapio__fail_os_status(MMAPIO_EAGAIN, e, call, path);
    if (e == EDEADLK) return mmapio__fail_os_status(MMAPIO_EDEADLK, e, call, path);
    if (e == ENOLCK) return mmapio__fail_os_status(MMAPIO_ENOMEM, e, call, path);
    if (e == EINVAL || e == EOPNOTSUPP) return mmapio__fail_os_status(MMAPIO_ENOTSUP, e, call, path);
    return mmapio__fail_os(e, call, path);
  }
}

int mmapio__os_file_lock(mmapio_native_file f, uint64_t off, uint64_t len, int excl, int wait,
                         const char *path)
{
  return set_lock(f, excl ? (short)F_WRLCK : (short)F_RDLCK, off, len, wait, path);
}

int mmapio__os_file_unlock(mmapio_native_file f, uint64_t off, uint64_t len, const char *path)
{
  return set_lock(f, (short)F_UNLCK, off, len, 0, path);
}
