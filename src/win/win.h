/*
 * win.h -- private declarations shared by the Win32 backend (the .c files in src/win).
 *
 * Only the Win32 API is used (plus a few functions of kernelbase.dll that
 * are looked up at run time because older Windows versions and Wine may
 * lack them). The code builds with MinGW-w64 and is written to build with
 * MSVC as well: no GCC extensions in this directory.
 */
#ifndef MMAPIO_WIN_H
#define MMAPIO_WIN_H

#ifndef WIN32_LEAN_AND_MEAN
#  define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#  define NOMINMAX
#endif
/* SRWLOCK, CONDITION_VARIABLE, FLS and SetFileInformationByHandle need
 * Windows Vista; FlushProcessWriteBuffers too. */
#if !defined(_WIN32_WINNT) || _WIN32_WINNT < 0x0600
#  undef _WIN32_WINNT
#  define _WIN32_WINNT 0x0600
#endif
#include <windows.h>

#include "hooks.h"
#include "internal.h"

/* ---- Functions resolved at run time (kernelbase.dll) -------------------- */
/* The prototypes use `void *` for MEM_EXTENDED_PARAMETER so that old SDK
 * headers (and MinGW headers without the Windows 10 declarations) work. */
typedef PVOID(WINAPI *mmapio__win_VirtualAlloc2_fn)(HANDLE, PVOID, SIZE_T, ULONG, ULONG, void *,
                                                   ULONG);
typedef PVOID(WINAPI *mmapio__win_MapViewOfFile3_fn)(HANDLE, HANDLE, PVOID, ULONG64, SIZE_T, ULONG,
                                                    ULONG, void *, ULONG);
typedef BOOL(WINAPI *mmapio__win_UnmapViewOfFile2_fn)(HANDLE, PVOID, ULONG);
typedef BOOL(WINAPI *mmapio__win_WaitOnAddress_fn)(volatile VOID *, PVOID, SIZE_T, DWORD);
typedef VOID(WINAPI *mmapio__win_WakeByAddressAll_fn)(PVOID);

typedef struct mmapio__win_api {
  mmapio__win_VirtualAlloc2_fn VirtualAlloc2;
  mmapio__win_MapViewOfFile3_fn MapViewOfFile3;
  mmapio__win_UnmapViewOfFile2_fn UnmapViewOfFile2;
  mmapio__win_WaitOnAddress_fn WaitOnAddress;
  mmapio__win_WakeByAddressAll_fn WakeByAddressAll;
  int placeholders; /* all three placeholder functions are present and work */
  int is_wine;      /* running under Wine (ntdll exports wine_get_version) */
} mmapio__win_api;

/* The table, resolved once (thread-safe). Never NULL. */
const mmapio__win_api *mmapio__win_get_api(void);

/* Placeholder flags (Windows 10 1803 SDK); defined here for older headers. */
#ifndef MEM_RESERVE_PLACEHOLDER
#  define MEM_RESERVE_PLACEHOLDER 0x00040000
#endif
#ifndef MEM_REPLACE_PLACEHOLDER
#  define MEM_REPLACE_PLACEHOLDER 0x00004000
#endif
#ifndef MEM_PRESERVE_PLACEHOLDER
#  define MEM_PRESERVE_PLACEHOLDER 0x00000002
#endif
#ifndef MEM_COALESCE_PLACEHOLDERS
#  define MEM_COALESCE_PLACEHOLDERS 0x00000001
#endif

/* ---- UTF-8 paths --------------------------------------------------------- */
/* Convert a UTF-8 path to a malloc'ed UTF-16 string. Returns NULL and sets
 * *err (ERROR_NO_UNICODE_TRANSLATION, ERROR_NOT_ENOUGH_MEMORY) on failure. */
wchar_t *mmapio__win_widen(const char *s, DWORD *err);

/* ---- The test-hook table -------------------------------------------------- */
/* Every Win32 call that the backend makes on files and mappings first calls
 * mmapio__win_hook(name, a, b, flags). In MMAPIO_TEST_HOOKS builds that
 * asks the engine of src/hooks.c, which records the call (when recording)
 * and returns a Win32 error code when a test asked for this call to fail
 * (0 otherwise); the caller then sets it
 * with SetLastError() and fails exactly as if the OS had failed. The names
 * recorded are:
 *   "CreateFileW", "DuplicateHandle", "GetFileSizeEx", "CreateFileMappingW",
 *   "MapViewOfFile" (a: 0, b: length), "MapViewOfFile3" (a: offset, b: length),
 *   "VirtualAlloc2" (b: length), "VirtualFree" (a: offset from base, b: length),
 *   "UnmapViewOfFile" (a: address, b: bytes unmapped, one record per unmap
 *   of a whole mapping even when it consists of several views),
 *   "FlushViewOfFile" (a: address, b: length), "FlushFileBuffers",
 *   "SetEndOfFile" (a: new length; done with SetFileInformationByHandle
 *   (FileEndOfFileInfo) so that the file pointer, shared with duplicated
 *   handles, is not moved), "SetFileAllocation" (a: allocation size; done
 *   with SetFileInformationByHandle(FileAllocationInfo)), "DeleteFileW",
 *   "CopyFileW" (files.c), "MoveFileExW" (win_publish.c, files.c),
 *   "WriteFile" and "ReadFile" (a: file offset, b: bytes asked for; one
 *   record per call: mmapio__win_write_at and mmapio__win_read_at split a
 *   transfer into several).
 * Synchronisation calls (SRW locks, WaitOnAddress, ...) are not hooked. */
static __inline DWORD mmapio__win_hook(const char *name, uint64_t a, uint64_t b, int flags)
{
#if MMAPIO__HOOKS
  /* The engine of src/hooks.c, shared with the POSIX backend. */
  int err = 0;
  if (!mmapio__hook_call(name, a, b, flags, &err)) return 0;
  return err != 0 ? (DWORD)err : (DWORD)ERROR_GEN_FAILURE;
#else
  (void)name; (void)a; (void)b; (void)flags;
  return 0;
#endif
}

/* Evaluate to 1 (and set the thread's last error) when the hook injects a
 * failure for this call. */
#define MMAPIO__WIN_INJECT(name, a, b, fl) mmapio__win_inject_((name), (a), (b), (fl))
static __inline int mmapio__win_inject_(const char *name, uint64_t a, uint64_t b, int flags)
{
  DWORD e = mmapio__win_hook(name, a, b, flags);
  if (e == 0) return 0;
  SetLastError(e);
  return 1;
}

/* ---- File helpers shared by files.c and map.c ---------------------------- */
/* Change the length of `f`, reserving disk space first when growing and not
 * sparse. Returns 0 or a Win32 error code; records nothing (the callers
 * decide whether the failure is reported or part of a rollback). On failure
 * *call names the failing call. */
DWORD mmapio__win_set_size(HANDLE f, uint64_t old_len, uint64_t new_len, int sparse,
                           const char **call);

/* Largest transfer of one ReadFile/WriteFile call: its length is a DWORD,
 * and a smaller piece also keeps one call from running for minutes. */
#define MMAPIO__WIN_IO_MAX ((DWORD)1 << 30)

/* Write all `len` bytes of `buf` to `f` at file offset `at` (positioned
 * writes), in WriteFile calls of at most `max` bytes (0: MMAPIO__WIN_IO_MAX;
 * tests pass tiny pieces), continuing after a short write. Stops at the
 * first failure, and at a call that writes nothing (ERROR_WRITE_FAULT, so
 * that it cannot spin). Returns 0 or that first Win32 error; *done (may be
 * NULL) receives the bytes written before it. Records nothing. The handle's
 * file pointer, which its duplicates share, is left where it was. */
DWORD mmapio__win_write_at(HANDLE f, uint64_t at, const void *buf, uint64_t len, DWORD max,
                           uint64_t *done);

/* Read `len` bytes of `f` at file offset `at` into `buf`, the same way
 * (ReadFile calls of at most `max` bytes, short reads continued). The end
 * of the file before `len` bytes is ERROR_HANDLE_EOF. Returns 0 or the
 * first Win32 error; *done (may be NULL) receives the bytes read. Hooked
 * as "ReadFile" (a: file offset, b: bytes asked for). */
DWORD mmapio__win_read_at(HANDLE f, uint64_t at, void *buf, uint64_t len, DWORD max,
                          uint64_t *done);

/* ---- Named sections (map.c, used by shm_win.c) -------------------------- */
/* Map all `len` bytes of the paging-file section `s`, which the mapping
 * adopts (it is closed on unmap, and on failure here). */
int mmapio__win_map_adopt(mmapio__os_mapping *om, HANDLE s, uint64_t len, const char *name);

#endif /* MMAPIO_WIN_H */
