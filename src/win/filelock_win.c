/*
 * filelock_win.c -- byte-range file locks (LockFileEx / UnlockFileEx) and
 * the descriptor check for maps that borrow the caller's HANDLE
 * (include/mmapio.h, section 16).
 */
#include "win.h"

#include <string.h>

static int mmapio__win_bad(HANDLE h) { return h == NULL || h == INVALID_HANDLE_VALUE; }

int mmapio__os_check_fd(mmapio_native_file f, int need_write, const char *path)
{
  HANDLE h = (HANDLE)f;
  const char *p = path != NULL ? path : "<fd>";
  BY_HANDLE_FILE_INFORMATION info;
  if (mmapio__win_bad(h)) return mmapio__fail(MMAPIO_EINVAL, "mmapio_open_fd(%s): invalid handle", p);
  if (GetFileType(h) != FILE_TYPE_DISK || !GetFileInformationByHandle(h, &info) ||
      (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_open_fd(%s): not a regular file", p);
  if (need_write) {
    /* As for duplication: a read-write section needs GENERIC_WRITE. */
    HANDLE s = CreateFileMappingW(h, NULL, PAGE_READWRITE, 0, 0, NULL);
    if (s != NULL) {
      CloseHandle(s);
    } else if (GetLastError() == ERROR_ACCESS_DENIED) {
      return mmapio__fail(MMAPIO_EACCES, "mmapio_open_fd(%s): the handle is not open for writing", p);
    }
  }
  return MMAPIO_OK;
}

static void mmapio__win_range(OVERLAPPED *ov, DWORD *lo, DWORD *hi, uint64_t off, uint64_t len)
{
  /* len 0 means "to the end of any size": lock up to the largest offset. */
  if (len == 0) len = UINT64_MAX - off;
  memset(ov, 0, sizeof *ov);
  ov->Offset = (DWORD)(off & 0xFFFFFFFFu);
  ov->OffsetHigh = (DWORD)(off >> 32);
  *lo = (DWORD)(len & 0xFFFFFFFFu);
  *hi = (DWORD)(len >> 32);
}

int mmapio__os_file_lock(mmapio_native_file f, uint64_t off, uint64_t len, int excl, int wait,
                         const char *path)
{
  OVERLAPPED ov;
  DWORD lo, hi;
  mmapio__win_range(&ov, &lo, &hi, off, len);
  DWORD fl = (excl ? LOCKFILE_EXCLUSIVE_LOCK : 0u) | (wait ? 0u : LOCKFILE_FAIL_IMMEDIATELY);
  if (LockFileEx((HANDLE)f, fl, 0, lo, hi, &ov)) return MMAPIO_OK;
  DWORD e = GetLastError();
  if (e == ERROR_LOCK_VIOLATION || e == ERROR_IO_PENDING)
    return mmapio__fail_os_status(MMAPIO_EAGAIN, (int)e, "LockFileEx", path);
  return mmapio__fail_os((int)e, "LockFileEx", path);
}

int mmapio__os_file_unlock(mmapio_native_file f, uint64_t off, uint64_t len, const char *path)
{
  OVERLAPPED ov;
  DWORD lo, hi;
  mmapio__win_range(&ov, &lo, &hi, off, len);
  if (UnlockFileEx((HANDLE)f, 0, lo, hi, &ov)) return MMAPIO_OK;
  DWORD e = GetLastError();
  /* Not a locked range (Wine reports a lock violation for it). */
  if (e == ERROR_NOT_LOCKED || e == ERROR_LOCK_VIOLATION)
    return mmapio__fail_os_status(MMAPIO_EINVAL, (int)e, "UnlockFileEx", path);
  return mmapio__fail_os((int)e, "UnlockFileEx", path);
}
