/*
 * posix_publish.c -- atomic "create under a temporary name, then publish".
 *
 * Linux: renameat2(RENAME_NOREPLACE) moves the fully sized file to its name
 * in one step and fails with EEXIST if the name exists. Elsewhere (and on
 * file systems without that flag) link(2) does the same, followed by
 * unlinking the temporary name. Either way concurrent open-or-create calls
 * never see the file with length 0.
 */
#include "internal.h"
#include "posix_sys.h"

#include <errno.h>

static int mmapio__publish_link(const char *tmp, const char *path)
{
  if (mmapio__sys_link(tmp, path) != 0) {
    int e = errno;
    if (e == EPERM || e == EOPNOTSUPP || e == EXDEV || e == EMLINK || e == ENOSYS)
      return mmapio__fail_os_status(MMAPIO_ENOTSUP, e, "link", path);
    return mmapio__fail_os(e, "link", path);
  }
  if (mmapio__sys_unlink(tmp) != 0) {
    /* The file now has two names. Take the published one back so that the
     * failed call leaves nothing behind, and report the failure. */
    int e = errno;
    (void)mmapio__sys_unlink(path);
    return mmapio__fail_os(e, "unlink", tmp);
  }
  return MMAPIO_OK;
}

int mmapio__os_publish(const char *tmp, const char *path)
{
#if MMAPIO__LINUX && !defined(MMAPIO_PORTABLE_POSIX)
  if (mmapio__sys_rename_noreplace(tmp, path) == 0) return MMAPIO_OK;
  int e = errno;
  if (e != EINVAL && e != ENOSYS && e != EOPNOTSUPP) return mmapio__fail_os(e, "renameat2", path);
#endif
  return mmapio__publish_link(tmp, path);
}
