/*
 * posix_sys.c -- system facts, errno translation, and the syscall table of
 * the POSIX backend (test builds; the hook engine itself is src/hooks.c).
 */
#include "posix_sys.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* ---- System facts --------------------------------------------------------- */

size_t mmapio__os_page_size(void)
{
  /* The page size cannot change while the process runs; cache it. A racing
   * first call stores the same value twice, which is harmless. */
  static size_t cached;
  size_t pg = mmapio__ld_relaxed(&cached);
  if (pg == 0) {
    long v = sysconf(_SC_PAGESIZE);
    pg = v > 0 ? (size_t)v : 4096u;
    mmapio__st_relaxed(&cached, pg);
  }
  return pg;
}

/* mmap offsets only need page alignment on POSIX. */
size_t mmapio__os_granularity(void) { return mmapio__os_page_size(); }

/* glibc with _GNU_SOURCE declares the GNU strerror_r (returns char *, may
 * ignore buf), other C libraries the XSI one (returns int, fills buf). The
 * return type picks the matching helper at compile time, so this works with
 * either declaration without guessing from feature macros. */
static const char *mmapio__strerror_gnu(char *r, char *buf) { (void)buf; return r; }
static const char *mmapio__strerror_xsi(int r, char *buf) { return r == 0 ? buf : NULL; }

void mmapio__os_strerror(int oserr, char *buf, size_t n)
{
  if (buf == NULL || n == 0) return;
  buf[0] = '\0';
  const char *s = _Generic(strerror_r(oserr, buf, n),
                           char *: mmapio__strerror_gnu,
                           default: mmapio__strerror_xsi)(strerror_r(oserr, buf, n), buf);
  if (s == NULL || s[0] == '\0') {
    snprintf(buf, n, "error %d", oserr);
  } else if (s != buf) {
    snprintf(buf, n, "%s", s);
  }
}

int mmapio__os_status(int oserr)
{
  switch (oserr) {
  case 0: return MMAPIO_OK;
  case ENOENT:
  case ENOTDIR: /* a path component is not a directory: the file cannot exist */
    return MMAPIO_ENOENT;
  case EEXIST: return MMAPIO_EEXIST;
  case EACCES:
  case EPERM:
  case EROFS:
  case ETXTBSY:
    return MMAPIO_EACCES;
  case ENOSPC:
#ifdef EDQUOT
  case EDQUOT:
#endif
    return MMAPIO_ENOSPC;
  case EFBIG: /* larger than the file system or RLIMIT_FSIZE allows: a size problem */
    return MMAPIO_ESIZE;
  case ENOMEM:
  case EOVERFLOW: /* mmap: the length does not fit the address space */
    return MMAPIO_ENOMEM;
  case EISDIR: return MMAPIO_EINVAL; /* the API reports directories as EINVAL */
#if defined(ENOTSUP)
  case ENOTSUP:
#endif
#if defined(EOPNOTSUPP) && (!defined(ENOTSUP) || EOPNOTSUPP != ENOTSUP)
  case EOPNOTSUPP:
#endif
  case ENOSYS:
    return MMAPIO_ENOTSUP;
  case ETIMEDOUT: return MMAPIO_ETIMEDOUT;
  default:
    /* EINVAL too: by the time the backend calls the OS the arguments were
     * checked, so an EINVAL from the kernel is an OS-side refusal (e.g. a
     * file system without mmap support), not a caller mistake. Call sites
     * that know better pass an explicit status. */
    return MMAPIO_EIO;
  }
}

/* ---- The syscall table (test builds) --------------------------------------- */
#if MMAPIO__HOOKS

mmapio__sys_table mmapio__sys = {
  mmapio__sys_real_open,
  mmapio__sys_real_fstat,
  mmapio__sys_real_fcntl,
  mmapio__sys_real_dup,
  mmapio__sys_real_close,
  mmapio__sys_real_ftruncate,
  mmapio__sys_real_fallocate,
  mmapio__sys_real_posix_fallocate,
  mmapio__sys_real_preallocate,
  mmapio__sys_real_mmap,
  mmapio__sys_real_munmap,
  mmapio__sys_real_mremap,
  mmapio__sys_real_msync,
  mmapio__sys_real_madvise,
  mmapio__sys_real_fsync,
  mmapio__sys_real_fdatasync,
  mmapio__sys_real_fullfsync,
  mmapio__sys_real_sync_file_range,
  mmapio__sys_real_copy_file_range,
  mmapio__sys_real_read,
  mmapio__sys_real_write,
  mmapio__sys_real_unlink,
  mmapio__sys_real_link,
  mmapio__sys_real_rename_noreplace,
  mmapio__sys_real_rename,
  mmapio__sys_real_linkat,
  mmapio__sys_real_lseek,
  mmapio__sys_real_flistxattr,
  mmapio__sys_real_fgetxattr,
  mmapio__sys_real_fsetxattr,
};

#endif /* MMAPIO__HOOKS */
