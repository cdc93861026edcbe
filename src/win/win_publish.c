/*
 * win_publish.c -- creating a file under a short temporary name in the
 * directory of its final name, then publishing it in one step.
 *
 * MoveFileExW without MOVEFILE_REPLACE_EXISTING fails when the target
 * exists, so the fully sized (and mapped) file appears under its name in one
 * step. Our handle was opened with FILE_SHARE_DELETE, which allows renaming
 * it while open. The temporary name is short (".mmapio-" and 12 hex
 * digits), so it never makes a legal final name too long.
 */
#include "win.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The directory part of `path` with its separator ("" when it has none:
 * the temporary then goes to the current directory, like the file). */
static size_t mmapio__publish_dir_len(const char *path)
{
  size_t i = strlen(path);
  while (i > 0 && path[i - 1] != '/' && path[i - 1] != '\\' && path[i - 1] != ':') i--;
  return i;
}

int mmapio__os_newfile_open(mmapio__os_newfile *nf, const char *path, int private_perms,
                            int direct)
{
  static volatile LONG counter;
  size_t dl = mmapio__publish_dir_len(path);
  size_t n = dl + 32;
  char *tmp = (char *)malloc(n);
  int rc = MMAPIO_EEXIST;
  (void)direct; /* always published by a no-replace rename here */
  nf->f = MMAPIO_INVALID_FILE;
  nf->tmp = NULL;
  nf->named = NULL;
  if (tmp == NULL) return mmapio__fail(MMAPIO_ENOMEM, "mmapio_open(%s): out of memory", path);
  for (int tries = 0; tries < 64 && rc == MMAPIO_EEXIST; tries++) {
    unsigned long long u = ((unsigned long long)GetCurrentProcessId() << 28) ^
                           ((unsigned long long)(ULONG)InterlockedIncrement(&counter) << 16) ^
                           (unsigned long long)GetTickCount64();
    memcpy(tmp, path, dl);
    snprintf(tmp + dl, n - dl, ".mmapio-%012llx", u & 0xffffffffffffull);
    rc = mmapio__os_open(&nf->f, tmp, MMAPIO__OPEN_RDWR, MMAPIO__CREATE_EXCL, private_perms);
  }
  if (rc != MMAPIO_OK) {
    /* Name the file the caller asked for, not our temporary. */
    int oserr = mmapio_last_os_error();
    if (oserr != 0) rc = mmapio__fail_os_status(rc, oserr, "CreateFileW", path);
    free(tmp);
    nf->f = MMAPIO_INVALID_FILE;
    return rc;
  }
  nf->tmp = tmp;
  return MMAPIO_OK;
}

int mmapio__os_newfile_publish(mmapio__os_newfile *nf, const char *path)
{
  DWORD err = 0;
  wchar_t *wt = mmapio__win_widen(nf->tmp, &err);
  wchar_t *wp = wt != NULL ? mmapio__win_widen(path, &err) : NULL;
  int rc = MMAPIO_OK;
  if (wp == NULL) {
    /* Not valid UTF-8 (EINVAL), or out of memory. */
    rc = mmapio__fail_os((int)err, "MultiByteToWideChar", path);
  } else if (MMAPIO__WIN_INJECT("MoveFileExW", 0, 0, 0) || !MoveFileExW(wt, wp, 0)) {
    DWORD e = GetLastError();
    if (e == ERROR_ALREADY_EXISTS || e == ERROR_FILE_EXISTS)
      rc = mmapio__fail_os_status(MMAPIO_EEXIST, (int)e, "MoveFileExW", path);
    else if (e == ERROR_FILENAME_EXCED_RANGE)
      rc = mmapio__fail(MMAPIO_EINVAL, "MoveFileExW(%s): file name too long (longer than the "
                                       "system allows for a name or a path)", path);
    else
      rc = mmapio__fail_os((int)e, "MoveFileExW", path);
  }
  free(wt);
  free(wp);
  if (rc == MMAPIO_OK) {
    free(nf->tmp);
    nf->tmp = NULL;
  }
  return rc;
}

void mmapio__os_newfile_discard(mmapio__os_newfile *nf)
{
  DWORD saved = GetLastError();
  if (nf->f != MMAPIO_INVALID_FILE) CloseHandle((HANDLE)nf->f);
  if (nf->tmp != NULL) {
    DWORD err = 0;
    wchar_t *wt = mmapio__win_widen(nf->tmp, &err);
    if (wt != NULL && !MMAPIO__WIN_INJECT("DeleteFileW", 0, 0, 0)) DeleteFileW(wt);
    free(wt);
  }
  free(nf->tmp);
  nf->f = MMAPIO_INVALID_FILE;
  nf->tmp = NULL;
  SetLastError(saved);
}

int mmapio__os_sync_dir(const char *path)
{
  /* NTFS records the new name in its metadata journal; a directory cannot
   * be flushed with FlushFileBuffers without write access to it, so
   * nothing more is done here (mmapio.h says so). */
  (void)path;
  return MMAPIO_OK;
}
