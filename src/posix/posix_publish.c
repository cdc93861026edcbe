/*
 * posix_publish.c -- atomic "create under a temporary name, then publish".
 *
 * link(2) fails with EEXIST when the target exists, so a fully sized file
 * appears under its name in one step and concurrent open-or-create calls
 * never see it with length 0.
 */
#include "internal.h"

#include <errno.h>
#include <unistd.h>

int mmapio__os_publish(const char *tmp, const char *path)
{
  if (link(tmp, path) != 0) {
    int e = errno;
    if (e == EEXIST) return mmapio__fail_os(e, "link", path);
    if (e == EPERM || e == EOPNOTSUPP || e == EXDEV || e == EMLINK || e == ENOSYS)
      return mmapio__fail_os_status(MMAPIO_ENOTSUP, e, "link", path);
    return mmapio__fail_os(e, "link", path);
  }
  if (unlink(tmp) != 0) {
    /* The file is published; a stray temporary name is only untidy. */
    (void)0;
  }
  return MMAPIO_OK;
}
