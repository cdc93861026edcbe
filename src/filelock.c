/*
 * filelock.c -- advisory byte-range locks on a map's file
 * (include/mmapio.h, section 16). The portable part checks the arguments;
 * the backends (posix/filelock_posix.c, win/filelock_win.c) take the lock
 * with the best primitive the OS has.
 */
#include "internal.h"

#include <stdint.h>

static int mmapio__file_lock_args(mmapio_map *m, uint64_t off, uint64_t len, const char *op)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "%s: map is NULL", op);
  if (m->is_anon || m->file == MMAPIO_INVALID_FILE)
    return mmapio__fail(MMAPIO_EMODE, "%s: anonymous maps have no file to lock", op);
  /* Lock ranges are signed 64-bit file offsets everywhere (off_t, and the
   * 64-bit offsets of LockFileEx are used the same way here). */
  if (off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - off)
    return mmapio__fail(MMAPIO_EINVAL, "%s(%s): range offset=%llu, len=%llu exceeds INT64_MAX",
                        op, mmapio__path_or(m->path), (unsigned long long)off,
                        (unsigned long long)len);
  return MMAPIO_OK;
}

int mmapio_file_lock(mmapio_map *m, uint64_t off, uint64_t len, unsigned flags)
{
  const unsigned known = MMAPIO_FILE_LOCK_EXCLUSIVE | MMAPIO_FILE_LOCK_NOWAIT;
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_file_lock: map is NULL");
  if (flags & ~known)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_file_lock(%s): unknown flag bits 0x%x",
                        mmapio__path_or(m->path), flags & ~known);
  int rc = mmapio__file_lock_args(m, off, len, "mmapio_file_lock");
  if (rc != MMAPIO_OK) return rc;
  return mmapio__os_file_lock(m->file, off, len, (flags & MMAPIO_FILE_LOCK_EXCLUSIVE) != 0,
                              (flags & MMAPIO_FILE_LOCK_NOWAIT) == 0, m->path);
}

int mmapio_file_unlock(mmapio_map *m, uint64_t off, uint64_t len)
{
  int rc = mmapio__file_lock_args(m, off, len, "mmapio_file_unlock");
  if (rc != MMAPIO_OK) return rc;
  return mmapio__os_file_unlock(m->file, off, len, m->path);
}
