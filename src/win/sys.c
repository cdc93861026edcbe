/*
 * sys.c -- Win32 system facts, error translation, run-time API lookup and
 * the test-only switch that disables placeholders (the hook engine itself
 * is src/hooks.c).
 */
#include "win.h"

#include <stdlib.h>
#include <string.h>

/* ---- System facts -------------------------------------------------------- */

/* Both values are constant for the life of the process; a racing first call
 * stores the same value twice, which is harmless, but the stores go through
 * interlocked operations so that MSVC and GCC agree this is not a data race. */
static volatile LONG mmapio__win_page;
static volatile LONG mmapio__win_gran;

static void mmapio__win_sysinfo(void)
{
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  InterlockedExchange(&mmapio__win_page, (LONG)si.dwPageSize);
  InterlockedExchange(&mmapio__win_gran, (LONG)si.dwAllocationGranularity);
}

size_t mmapio__os_page_size(void)
{
  LONG v = InterlockedCompareExchange(&mmapio__win_page, 0, 0);
  if (v == 0) {
    mmapio__win_sysinfo();
    v = InterlockedCompareExchange(&mmapio__win_page, 0, 0);
  }
  return (size_t)v;
}

/* View offsets of MapViewOfFile must be multiples of this (64 KiB on every
 * Windows version so far), not of the page size. */
size_t mmapio__os_granularity(void)
{
  LONG v = InterlockedCompareExchange(&mmapio__win_gran, 0, 0);
  if (v == 0) {
    mmapio__win_sysinfo();
    v = InterlockedCompareExchange(&mmapio__win_gran, 0, 0);
  }
  return (size_t)v;
}

/* ---- Errors -------------------------------------------------------------- */

int mmapio__os_status(int oserr)
{
  switch ((DWORD)oserr) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
    case ERROR_BAD_NETPATH:
      return MMAPIO_ENOENT;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
      return MMAPIO_EEXIST;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
    case ERROR_PRIVILEGE_NOT_HELD:
    case ERROR_WRITE_PROTECT:
    /* Truncating a file that another mapping (maybe in another process)
     * still covers: a sharing conflict, like the two above. */
    case ERROR_USER_MAPPED_FILE:
      return MMAPIO_EACCES;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
      return MMAPIO_ENOSPC;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT:
    case ERROR_NO_SYSTEM_RESOURCES:
      return MMAPIO_ENOMEM;
    /* Argument problems: a bad handle, a bad parameter, a path that is not
     * valid UTF-8 or not a valid file name. */
    case ERROR_INVALID_PARAMETER:
    case ERROR_INVALID_HANDLE:
    case ERROR_NO_UNICODE_TRANSLATION:
    case ERROR_INVALID_NAME:
    case ERROR_DIRECTORY:
      return MMAPIO_EINVAL;
    case ERROR_CALL_NOT_IMPLEMENTED:
    case ERROR_NOT_SUPPORTED:
      return MMAPIO_ENOTSUP;
    default:
      return MMAPIO_EIO;
  }
}

void mmapio__os_strerror(int oserr, char *buf, size_t n)
{
  wchar_t wbuf[512];
  if (buf == NULL || n == 0) return;
  DWORD wn = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                            (DWORD)oserr, 0, wbuf, (DWORD)(sizeof wbuf / sizeof wbuf[0]), NULL);
  /* The system texts end with ".\r\n"; the line break would split our
   * one-line detail messages. */
  while (wn > 0 && (wbuf[wn - 1] == L'\r' || wbuf[wn - 1] == L'\n' || wbuf[wn - 1] == L' '))
    wn--;
  int len = 0;
  if (wn > 0) {
    len = WideCharToMultiByte(CP_UTF8, 0, wbuf, (int)wn, buf, (int)(n - 1), NULL, NULL);
  }
  if (len <= 0) {
    /* No text for this code (or it did not fit): print the number so the
     * message still says what happened. */
    char tmp[32];
    unsigned long v = (unsigned long)(DWORD)oserr;
    size_t i = sizeof tmp - 1, j = 0;
    const char *prefix = "Win32 error ";
    tmp[i] = '\0';
    do {
      tmp[--i] = (char)('0' + (v % 10u));
      v /= 10u;
    } while (v != 0 && i > 0);
    while (*prefix != '\0' && j + 1 < n) buf[j++] = *prefix++;
    while (tmp[i] != '\0' && j + 1 < n) buf[j++] = tmp[i++];
    buf[j] = '\0';
    return;
  }
  buf[len] = '\0';
}

/* ---- UTF-8 paths --------------------------------------------------------- */

wchar_t *mmapio__win_widen(const char *s, DWORD *err)
{
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
  if (n <= 0) {
    *err = GetLastError();
    if (*err == 0) *err = ERROR_NO_UNICODE_TRANSLATION;
    return NULL;
  }
  wchar_t *w = (wchar_t *)malloc((size_t)n * sizeof(wchar_t));
  if (w == NULL) {
    *err = ERROR_NOT_ENOUGH_MEMORY;
    return NULL;
  }
  if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
    *err = GetLastError();
    if (*err == 0) *err = ERROR_NO_UNICODE_TRANSLATION;
    free(w);
    return NULL;
  }
  return w;
}

/* ---- Run-time API lookup ------------------------------------------------- */

static mmapio__win_api mmapio__win_api_table;
static INIT_ONCE mmapio__win_api_once = INIT_ONCE_STATIC_INIT;

/* Placeholders exist in kernelbase.dll since Windows 10 1803, but a system
 * (or Wine) may export the functions and still reject the flags, so a small
 * placeholder is reserved, split and released once to prove they work. */
static int mmapio__win_probe_placeholders(const mmapio__win_api *api)
{
  size_t gran = mmapio__os_granularity();
  size_t page = mmapio__os_page_size();
  if (api->VirtualAlloc2 == NULL || api->MapViewOfFile3 == NULL || api->UnmapViewOfFile2 == NULL)
    return 0;
  char *p = (char *)api->VirtualAlloc2(NULL, NULL, 2 * gran, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
                                 PAGE_NOACCESS, NULL, 0);
  if (p == NULL) return 0;
  /* Splitting at page (not allocation) granularity is what growth needs. */
  int ok = VirtualFree(p, page, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER) != 0;
  if (ok) ok = VirtualFree(p, 2 * gran, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS) != 0;
  VirtualFree(p, 0, MEM_RELEASE);
  return ok;
}

static BOOL CALLBACK mmapio__win_api_init(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
  HMODULE kb = GetModuleHandleW(L"kernelbase.dll");
  HMODULE nt = GetModuleHandleW(L"ntdll.dll");
  mmapio__win_api *api = &mmapio__win_api_table;
  (void)once; (void)param; (void)ctx;
  if (kb != NULL) {
    /* Casting through FARPROC -> void * -> the real type avoids the
     * function-type cast warnings of GCC; the ABI is the same. */
    api->VirtualAlloc2 = (mmapio__win_VirtualAlloc2_fn)(void (*)(void))GetProcAddress(kb, "VirtualAlloc2");
    api->MapViewOfFile3 =
        (mmapio__win_MapViewOfFile3_fn)(void (*)(void))GetProcAddress(kb, "MapViewOfFile3");
    api->UnmapViewOfFile2 =
        (mmapio__win_UnmapViewOfFile2_fn)(void (*)(void))GetProcAddress(kb, "UnmapViewOfFile2");
    api->WaitOnAddress =
        (mmapio__win_WaitOnAddress_fn)(void (*)(void))GetProcAddress(kb, "WaitOnAddress");
    api->WakeByAddressAll =
        (mmapio__win_WakeByAddressAll_fn)(void (*)(void))GetProcAddress(kb, "WakeByAddressAll");
  }
  if (api->WaitOnAddress == NULL || api->WakeByAddressAll == NULL) {
    api->WaitOnAddress = NULL;
    api->WakeByAddressAll = NULL;
  }
  api->is_wine = nt != NULL && GetProcAddress(nt, "wine_get_version") != NULL;
  api->placeholders = mmapio__win_probe_placeholders(api);
#if MMAPIO__HOOKS
  {
    /* Test builds only: MMAPIO_WIN_NO_PLACEHOLDERS=1 forces the fallback
     * (moving resizes) so that both paths can be tested on one machine. The
     * shipped library reads no environment variable. */
    const char *env = getenv("MMAPIO_WIN_NO_PLACEHOLDERS");
    if (env != NULL && env[0] == '1') api->placeholders = 0;
  }
#endif
  return TRUE;
}

const mmapio__win_api *mmapio__win_get_api(void)
{
  InitOnceExecuteOnce(&mmapio__win_api_once, mmapio__win_api_init, NULL, NULL);
  return &mmapio__win_api_table;
}
