/*
 * win_publish.c -- atomic "create under a temporary name, then publish".
 *
 * MoveFileExW without MOVEFILE_REPLACE_EXISTING fails when the target exists,
 * so the fully sized file appears under its name in one step. Our handle was
 * opened with FILE_SHARE_DELETE, which allows renaming it while open.
 */
#include "internal.h"

#include <stdlib.h>
#include "win.h"

static wchar_t *mmapio__publish_wide(const char *s)
{
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
  if (n <= 0) return NULL;
  wchar_t *w = (wchar_t *)malloc((size_t)n * sizeof(wchar_t));
  if (w != NULL && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) <= 0) {
    free(w);
    return NULL;
  }
  return w;
}

int mmapio__os_publish(const char *tmp, const char *path)
{
  wchar_t *wt = mmapio__publish_wide(tmp), *wp = mmapio__publish_wide(path);
  int rc = MMAPIO_OK;
  if (wt == NULL || wp == NULL) {
    rc = mmapio__fail(MMAPIO_EINVAL, "MoveFileExW(%s): path is not valid UTF-8", path);
  } else if (MMAPIO__WIN_INJECT("MoveFileExW", 0, 0, 0) || !MoveFileExW(wt, wp, 0)) {
    DWORD e = GetLastError();
    if (e == ERROR_ALREADY_EXISTS || e == ERROR_FILE_EXISTS)
      rc = mmapio__fail_os_status(MMAPIO_EEXIST, (int)e, "MoveFileExW", path);
    else if (e == ERROR_NOT_SUPPORTED || e == ERROR_INVALID_FUNCTION)
      rc = mmapio__fail_os_status(MMAPIO_ENOTSUP, (int)e, "MoveFileExW", path);
    else
      rc = mmapio__fail_os((int)e, "MoveFileExW", path);
  }
  free(wt);
  free(wp);
  return rc;
}
