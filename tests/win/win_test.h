/*
 * win_test.h -- helpers shared by the white-box tests of the Win32 backend
 * (tests/win/test_*.c). They call the mmapio__os_* contract directly and use
 * the test hooks of platform.h. On other platforms every test skips.
 */
#ifndef MMAPIO_WIN_TEST_H
#define MMAPIO_WIN_TEST_H

#include "test.h"

#ifdef _WIN32
#  include "win/win.h"

#  include <stdlib.h>
#  include <string.h>

#  if defined(MMAPIO_TEST_HOOKS) && MMAPIO_TEST_HOOKS
#    define WIN_HOOKS 1
#  else
#    define WIN_HOOKS 0
#  endif

#  define ASSERT_MSG_HAS(needle)                                                \
    do {                                                                        \
      if (strstr(mmapio_last_error(), (needle)) == NULL)                        \
        TEST_FAIL_("last error does not contain \"%s\"", (needle));             \
    } while (0)

static inline int win_is_wine(void) { return mmapio__win_get_api()->is_wine; }

static inline HANDLE win_open(const char *p, int rw, int excl)
{
  mmapio_native_file f = NULL;
  ASSERT_OK(mmapio__os_open(&f, p, rw ? MMAPIO__OPEN_RDWR : MMAPIO__OPEN_READ,
                            excl ? MMAPIO__CREATE_EXCL : MMAPIO__CREATE_NO, 0));
  return (HANDLE)f;
}

static inline HANDLE win_open_sized(const char *p, uint64_t len)
{
  HANDLE h = win_open(p, 1, 1);
  ASSERT_OK(mmapio__os_file_set_size(h, 0, len, 0, p));
  return h;
}

static inline uint64_t win_size(HANDLE h)
{
  LARGE_INTEGER sz;
  if (!GetFileSizeEx(h, &sz)) TEST_FAIL_("GetFileSizeEx: %lu", (unsigned long)GetLastError());
  return (uint64_t)sz.QuadPart;
}

/* Read bytes of the file through a separate handle (not the mapping). */
static inline void win_file_bytes(const char *p, uint64_t off, uint8_t *out, uint64_t n)
{
  DWORD err = 0, got = 0;
  wchar_t *w = mmapio__win_widen(p, &err);
  HANDLE h;
  OVERLAPPED ov;
  ASSERT(w != NULL);
  h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                  OPEN_EXISTING, 0, NULL);
  free(w);
  ASSERT(h != INVALID_HANDLE_VALUE);
  memset(&ov, 0, sizeof ov);
  ov.Offset = (DWORD)(off & 0xffffffffu);
  ov.OffsetHigh = (DWORD)(off >> 32);
  if (!ReadFile(h, out, (DWORD)n, &got, &ov)) TEST_FAIL_("ReadFile: %lu", (unsigned long)GetLastError());
  CloseHandle(h);
  ASSERT_EQ(got, n);
}

static inline uint8_t pat(uint64_t i) { return (uint8_t)(1u + (i * 7u + (i >> 9)) % 251u); }
static inline void fill_pat(uint8_t *p, uint64_t n)
{
  uint64_t i;
  for (i = 0; i < n; i++) p[i] = pat(i);
}
static inline int check_pat(const uint8_t *p, uint64_t n)
{
  uint64_t i;
  for (i = 0; i < n; i++)
    if (p[i] != pat(i)) return 0;
  return 1;
}
static inline int all_zero(const uint8_t *p, uint64_t n)
{
  uint64_t i;
  for (i = 0; i < n; i++)
    if (p[i] != 0) return 0;
  return 1;
}

#endif /* _WIN32 */
#endif
