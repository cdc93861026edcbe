/*
 * shm_win.c -- named shared memory for the Win32 backend: sections backed
 * by the paging file, named in the session's "Local\" namespace.
 *
 * Windows has no shm_unlink: a named section exists while some process
 * holds a handle to it (our maps hold one until they are closed), and its
 * size is fixed when it is created. So removing a name is a no-op, and a
 * shared-memory map cannot be resized (the core refuses with ENOTSUP).
 * Handles are not inheritable (NULL security attributes).
 */
#include "win.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t mmapio__os_shm_name_max(void) { return 254; }

/* "Local\<name>" as UTF-8 (for messages) and as UTF-16 (for the calls). */
static wchar_t *mmapio__win_shm_name(char *label, size_t n, const char *name, DWORD *err)
{
  (void)snprintf(label, n, "Local\\%s", name);
  return mmapio__win_widen(label, err);
}

int mmapio__os_shm_open(mmapio_native_file *f, mmapio__os_mapping *om, uint64_t *len,
                        const char *name, uint64_t size, int create)
{
  char label[300];
  DWORD err = 0;
  HANDLE s = NULL;
  int created = 0;
  *f = MMAPIO_INVALID_FILE;
  *len = 0;
  wchar_t *w = mmapio__win_shm_name(label, sizeof label, name, &err);
  if (w == NULL) return mmapio__fail_os((int)err, "MultiByteToWideChar", label);

  if (create != MMAPIO__CREATE_EXCL) {
    s = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, w);
    if (s == NULL) {
      err = GetLastError();
      if (create == MMAPIO__CREATE_NO || err != ERROR_FILE_NOT_FOUND) {
        free(w);
        return mmapio__fail_os((int)err, "OpenFileMappingW", label);
      }
    }
  }
  if (s == NULL) {
    if (MMAPIO__WIN_INJECT("CreateFileMappingW", 0, size, PAGE_READWRITE)) {
      s = NULL;
    } else {
      s = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, (DWORD)(size >> 32),
                             (DWORD)(size & 0xffffffffu), w);
    }
    if (s == NULL) {
      err = GetLastError();
      free(w);
      return mmapio__fail_os((int)err, "CreateFileMappingW", label);
    }
    if (GetLastError() == ERROR_ALREADY_EXISTS) {
      /* Someone else created it first: we got a handle to theirs. */
      if (create == MMAPIO__CREATE_EXCL) {
        CloseHandle(s);
        free(w);
        return mmapio__fail_os((int)ERROR_ALREADY_EXISTS, "CreateFileMappingW", label);
      }
    } else {
      created = 1;
    }
  }
  free(w);

  if (created) {
    *len = size;
  } else {
    /* Windows does not tell the size of a section directly: map all of it
     * and ask for the size of the view (a multiple of the page size). */
    MEMORY_BASIC_INFORMATION mbi;
    void *v = MapViewOfFile(s, FILE_MAP_READ, 0, 0, 0);
    if (v == NULL) {
      int st = mmapio__fail_os((int)GetLastError(), "MapViewOfFile", label);
      CloseHandle(s);
      return st;
    }
    memset(&mbi, 0, sizeof mbi);
    if (VirtualQuery(v, &mbi, sizeof mbi) == 0) {
      int st = mmapio__fail_os((int)GetLastError(), "VirtualQuery", label);
      UnmapViewOfFile(v);
      CloseHandle(s);
      return st;
    }
    UnmapViewOfFile(v);
    *len = (uint64_t)mbi.RegionSize;
  }
  {
    int rc = mmapio__win_map_adopt(om, s, *len, label);
    if (rc != MMAPIO_OK) *len = 0;
    return rc;
  }
}

int mmapio__os_shm_remove(const char *name)
{
  char label[300];
  DWORD err = 0;
  wchar_t *w = mmapio__win_shm_name(label, sizeof label, name, &err);
  if (w == NULL) return mmapio__fail_os((int)err, "MultiByteToWideChar", label);
  /* Nothing to remove: the section goes away with its last handle. Only
   * tell a name that exists nowhere from one that does. */
  HANDLE s = OpenFileMappingW(FILE_MAP_READ, FALSE, w);
  err = GetLastError();
  free(w);
  if (s == NULL) return mmapio__fail_os((int)err, "OpenFileMappingW", label);
  CloseHandle(s);
  return MMAPIO_OK;
}

int mmapio__os_shm_resizable(void) { return 0; }

int mmapio__os_memfd(mmapio_native_file *out, uint64_t size)
{
  (void)size;
  *out = MMAPIO_INVALID_FILE;
  return mmapio__fail(MMAPIO_ENOTSUP,
                      "mmapio_anon: MMAPIO_ANON_FD needs memfd_create (Linux); on Windows use "
                      "mmapio_shm_open");
}

/* ---- Clock for the statistics (stats.c) -------------------------------- */
uint64_t mmapio__os_monotonic_ns(void)
{
  LARGE_INTEGER c, f;
  /* The frequency is fixed at boot and cheap to ask for. */
  if (!QueryPerformanceFrequency(&f) || f.QuadPart <= 0) return 0;
  uint64_t hz = (uint64_t)f.QuadPart;
  QueryPerformanceCounter(&c);
  /* Split to avoid overflowing 64 bits. */
  return (uint64_t)c.QuadPart / hz * 1000000000u + (uint64_t)c.QuadPart % hz * 1000000000u / hz;
}
