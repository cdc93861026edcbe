/*
 * files.c -- opening, sizing and copying files with the Win32 API.
 *
 * Every handle is opened non-inheritable (a NULL SECURITY_ATTRIBUTES) and
 * with FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, so that other
 * processes can read, append, rename and delete the file while it is mapped,
 * as they can on POSIX.
 */
#include "os_fast.h"
#include "win.h"

#include <aclapi.h>
#include <stdlib.h>
#include <string.h>

#define MMAPIO__WIN_SHARE (FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)

static int mmapio__win_invalid(HANDLE h) { return h == NULL || h == INVALID_HANDLE_VALUE; }

/* 1 when `h` is an open handle to a regular disk file (not a directory,
 * pipe, console or device); its length goes to *len when not NULL. */
static int mmapio__win_is_regular(HANDLE h, uint64_t *len)
{
  BY_HANDLE_FILE_INFORMATION info;
  if (GetFileType(h) != FILE_TYPE_DISK) return 0;
  if (!GetFileInformationByHandle(h, &info)) return 0;
  if (len != NULL) *len = ((uint64_t)info.nFileSizeHigh << 32) | (uint64_t)info.nFileSizeLow;
  return (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) == 0;
}

int mmapio__os_open(mmapio_native_file *out, const char *path, int access, int create,
                    int private_perms)
{
  return mmapio__os_open_stat(out, NULL, path, access, create, private_perms);
}

int mmapio__os_open_stat(mmapio_native_file *out, uint64_t *len, const char *path, int access,
                         int create, int private_perms)
{
  DWORD err = 0;
  /* Windows has no umask; new files inherit the directory's ACL, which is
   * the closest match to 0666 & ~umask. Narrowing to the owner would need a
   * security descriptor built from the process token; it is not done (see
   * docs/platforms.md), so private_perms is accepted and ignored. */
  (void)private_perms;
  if (path == NULL) return mmapio__fail(MMAPIO_EINVAL, "CreateFileW: path is NULL");
  wchar_t *wpath = mmapio__win_widen(path, &err);
  if (wpath == NULL) return mmapio__fail_os((int)err, "MultiByteToWideChar", path);
  DWORD want = access == MMAPIO__OPEN_RDWR ? (GENERIC_READ | GENERIC_WRITE) : GENERIC_READ;
  DWORD disp = create == MMAPIO__CREATE_EXCL ? CREATE_NEW : OPEN_EXISTING;
  HANDLE h;
  if (MMAPIO__WIN_INJECT("CreateFileW", 0, 0, (int)disp)) {
    h = INVALID_HANDLE_VALUE;
  } else {
    h = CreateFileW(wpath, want, MMAPIO__WIN_SHARE, NULL, disp, FILE_ATTRIBUTE_NORMAL, NULL);
  }
  if (h == INVALID_HANDLE_VALUE) {
    err = GetLastError();
    /* Opening a directory without FILE_FLAG_BACKUP_SEMANTICS fails with
     * ERROR_ACCESS_DENIED; the contract says EINVAL for a directory. */
    DWORD attrs = err == ERROR_ACCESS_DENIED ? GetFileAttributesW(wpath) : INVALID_FILE_ATTRIBUTES;
    free(wpath);
    if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY) != 0)
      return mmapio__fail(MMAPIO_EINVAL, "CreateFileW(%s): is a directory", path);
    if (err == ERROR_FILENAME_EXCED_RANGE)
      return mmapio__fail(MMAPIO_EINVAL, "CreateFileW(%s): file name too long (longer than the "
                                         "system allows for a name or a path)", path);
    return mmapio__fail_os((int)err, "CreateFileW", path);
  }
  free(wpath);
  if (!mmapio__win_is_regular(h, len)) {
    CloseHandle(h);
    return mmapio__fail(MMAPIO_EINVAL, "CreateFileW(%s): not a regular file", path);
  }
  *out = (mmapio_native_file)h;
  return MMAPIO_OK;
}

int mmapio__os_open_map_ro(mmapio__os_mapping *om, mmapio_native_file *f, uint64_t *len,
                           const char *path)
{
  /* The mapping is left to the core's general steps (a section and a view,
   * with their own checks). */
  (void)om;
  int rc = mmapio__os_open_stat(f, len, path, MMAPIO__OPEN_READ, MMAPIO__CREATE_NO, 0);
  return rc == MMAPIO_OK ? MMAPIO__OS_NOT_MAPPED : rc;
}

int mmapio__os_dup(mmapio_native_file *out, mmapio_native_file f, int need_write,
                   const char *path)
{
  HANDLE h = (HANDLE)f, d = NULL;
  const char *p = path != NULL ? path : "<fd>";
  if (mmapio__win_invalid(h)) return mmapio__fail(MMAPIO_EINVAL, "DuplicateHandle(%s): invalid handle", p);
  if (!mmapio__win_is_regular(h, NULL))
    return mmapio__fail(MMAPIO_EINVAL, "DuplicateHandle(%s): not a regular file", p);
  if (need_write) {
    /* Win32 cannot ask a handle for its granted access, but a read-write
     * section needs GENERIC_WRITE on the file handle and is refused with
     * ERROR_ACCESS_DENIED otherwise, which is exactly the question. An
     * empty file cannot have a section at all (ERROR_FILE_INVALID); the
     * core rejects READ_WRITE on empty files anyway. */
    HANDLE s = CreateFileMappingW(h, NULL, PAGE_READWRITE, 0, 0, NULL);
    if (s != NULL) {
      CloseHandle(s);
    } else if (GetLastError() == ERROR_ACCESS_DENIED) {
      return mmapio__fail(MMAPIO_EACCES, "DuplicateHandle(%s): the handle is not open for writing", p);
    }
  }
  if (MMAPIO__WIN_INJECT("DuplicateHandle", 0, 0, 0) ||
      !DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &d, 0, FALSE,
                       DUPLICATE_SAME_ACCESS)) {
    return mmapio__fail_os((int)GetLastError(), "DuplicateHandle", p);
  }
  *out = (mmapio_native_file)d;
  return MMAPIO_OK;
}

void mmapio__os_close_file(mmapio_native_file f)
{
  HANDLE h = (HANDLE)f;
  if (!mmapio__win_invalid(h)) CloseHandle(h);
}

int mmapio__os_file_size(uint64_t *out, mmapio_native_file f, const char *path)
{
  LARGE_INTEGER sz;
  if (MMAPIO__WIN_INJECT("GetFileSizeEx", 0, 0, 0) || !GetFileSizeEx((HANDLE)f, &sz))
    return mmapio__fail_os((int)GetLastError(), "GetFileSizeEx", path != NULL ? path : "<fd>");
  *out = (uint64_t)sz.QuadPart;
  return MMAPIO_OK;
}

/* Errors meaning "this file system (or Wine) cannot set the allocation
 * size"; the reservation is best effort there, as posix_fallocate is on
 * file systems without fallocate. */
static int mmapio__win_alloc_unsupported(DWORD e)
{
  return e == ERROR_CALL_NOT_IMPLEMENTED || e == ERROR_NOT_SUPPORTED ||
         e == ERROR_INVALID_FUNCTION || e == ERROR_INVALID_PARAMETER;
}

DWORD mmapio__win_set_size(HANDLE f, uint64_t old_len, uint64_t new_len, int sparse,
                           const char **call)
{
  FILE_END_OF_FILE_INFO eof;
  if (new_len > (uint64_t)INT64_MAX) {
    *call = "SetEndOfFile";
    return ERROR_INVALID_PARAMETER;
  }
  if (new_len > old_len && !sparse) {
    /* Reserve the clusters before the length changes, so that a full disk
     * is ERROR_DISK_FULL here and the length stays as it was, instead of an
     * in-page error when a page is written later. */
    FILE_ALLOCATION_INFO alloc;
    alloc.AllocationSize.QuadPart = (LONGLONG)new_len;
    if (MMAPIO__WIN_INJECT("SetFileAllocation", new_len, 0, 0) ||
        !SetFileInformationByHandle(f, FileAllocationInfo, &alloc, sizeof alloc)) {
      DWORD e = GetLastError();
      if (!mmapio__win_alloc_unsupported(e)) {
        *call = "SetFileInformationByHandle(FileAllocationInfo)";
        return e;
      }
    }
  }
  /* SetFileInformationByHandle instead of SetFilePointerEx + SetEndOfFile:
   * the file pointer is shared with every duplicate of the handle (the
   * caller's handle after mmapio_open_fd) and must not move. */
  eof.EndOfFile.QuadPart = (LONGLONG)new_len;
  if (MMAPIO__WIN_INJECT("SetEndOfFile", new_len, 0, 0) ||
      !SetFileInformationByHandle(f, FileEndOfFileInfo, &eof, sizeof eof)) {
    DWORD e = GetLastError();
    *call = "SetEndOfFile";
    if (new_len > old_len && !sparse) {
      /* Give back the clusters reserved above (best effort). */
      FILE_ALLOCATION_INFO alloc;
      alloc.AllocationSize.QuadPart = (LONGLONG)old_len;
      SetFileInformationByHandle(f, FileAllocationInfo, &alloc, sizeof alloc);
    }
    return e;
  }
  return 0;
}

int mmapio__os_file_nocow(mmapio_native_file f, const char *path)
{
  /* NTFS overwrites a file's clusters in place. */
  (void)f;
  (void)path;
  return MMAPIO_OK;
}

int mmapio__os_file_set_size(mmapio_native_file f, uint64_t old_len, uint64_t new_len,
                             int sparse, const char *path)
{
  const char *call = "SetEndOfFile";
  DWORD e = mmapio__win_set_size((HANDLE)f, old_len, new_len, sparse, &call);
  if (e != 0) return mmapio__fail_os((int)e, call, path != NULL ? path : "<fd>");
  return MMAPIO_OK;
}

int mmapio__os_file_can_reserve(mmapio_native_file f, uint64_t len, const char *path)
{
  /* Compare with the free space of the file's volume. Any failure to find
   * out means "unknown", which is OK (best effort by contract). */
  wchar_t name[MAX_PATH + 1], vol[MAX_PATH + 1];
  ULARGE_INTEGER avail;
  FILE_STANDARD_INFO st;
  uint64_t have = 0;
  DWORD n = GetFinalPathNameByHandleW((HANDLE)f, name, MAX_PATH, FILE_NAME_NORMALIZED);
  if (n == 0 || n >= MAX_PATH) return MMAPIO_OK;
  if (!GetVolumePathNameW(name, vol, MAX_PATH)) return MMAPIO_OK;
  if (!GetDiskFreeSpaceExW(vol, &avail, NULL, NULL)) return MMAPIO_OK;
  if (GetFileInformationByHandleEx((HANDLE)f, FileStandardInfo, &st, sizeof st))
    have = (uint64_t)st.AllocationSize.QuadPart;
  if (len > have && len - have > (uint64_t)avail.QuadPart)
    return mmapio__fail_os((int)ERROR_DISK_FULL, "GetDiskFreeSpaceExW", path != NULL ? path : "<fd>");
  return MMAPIO_OK;
}

int mmapio__os_file_can_hold(mmapio_native_file f, uint64_t len, const char *path)
{
  /* NTFS and ReFS limits are far above MMAPIO_MAX_SIZE on current Windows;
   * a refusal shows up as the allocation failing, before any change. */
  (void)f; (void)len; (void)path;
  return MMAPIO_OK;
}

int mmapio__os_file_reset(mmapio_native_file f, uint64_t old_len, uint64_t new_len, int sparse,
                          const char *path)
{
  /* The free-space check first; then the length goes to 0 and grows again
   * (reserving the clusters unless sparse). */
  int rc = sparse ? MMAPIO_OK : mmapio__os_file_can_reserve(f, new_len, path);
  if (rc == MMAPIO_OK) rc = mmapio__os_file_set_size(f, old_len, 0, 1, path);
  if (rc == MMAPIO_OK) rc = mmapio__os_file_set_size(f, 0, new_len, sparse, path);
  return rc;
}

/* mmapio__win_write_at and mmapio__win_read_at: positioned transfers of
 * at most `max` bytes per call, continued after short ones. */
static DWORD mmapio__win_io_at(HANDLE f, int write, uint64_t at, uint8_t *b, uint64_t len, DWORD max,
                               uint64_t *done)
{
  const char *call = write ? "WriteFile" : "ReadFile";
  uint64_t moved = 0;
  DWORD e = 0;
  LARGE_INTEGER zero, cur;
  if (max == 0 || max > MMAPIO__WIN_IO_MAX) max = MMAPIO__WIN_IO_MAX;
  /* A positioned transfer on a synchronous handle still moves the file
   * pointer: keep it to put it back. */
  zero.QuadPart = 0;
  int have_cur = SetFilePointerEx(f, zero, &cur, FILE_CURRENT) != 0;
  while (moved < len) {
    uint64_t left = len - moved;
    DWORD n = left < (uint64_t)max ? (DWORD)left : max;
    DWORD got = 0;
    OVERLAPPED ov;
    uint64_t off = at + moved;
    memset(&ov, 0, sizeof ov);
    ov.Offset = (DWORD)(off & 0xffffffffu);
    ov.OffsetHigh = (DWORD)(off >> 32);
    BOOL ok = !MMAPIO__WIN_INJECT(call, off, n, 0) &&
              (write ? WriteFile(f, b + moved, n, &got, &ov) : ReadFile(f, b + moved, n, &got, &ov));
    if (!ok) {
      e = GetLastError();
      if (e == 0) e = write ? ERROR_WRITE_FAULT : ERROR_READ_FAULT;
      break;
    }
    if (got == 0) {
      /* Nothing taken (write) or the end of the file (read). */
      e = write ? ERROR_WRITE_FAULT : ERROR_HANDLE_EOF;
      break;
    }
    moved += got > n ? n : got;
  }
  if (have_cur) SetFilePointerEx(f, cur, NULL, FILE_BEGIN);
  if (done != NULL) *done = moved;
  return e;
}

DWORD mmapio__win_write_at(HANDLE f, uint64_t at, const void *buf, uint64_t len, DWORD max,
                           uint64_t *done)
{
  return mmapio__win_io_at(f, 1, at, (uint8_t *)(uintptr_t)buf, len, max, done);
}

DWORD mmapio__win_read_at(HANDLE f, uint64_t at, void *buf, uint64_t len, DWORD max,
                          uint64_t *done)
{
  return mmapio__win_io_at(f, 0, at, (uint8_t *)buf, len, max, done);
}

int mmapio__os_unlink(const char *path)
{
  DWORD err = 0;
  if (path == NULL) return mmapio__fail(MMAPIO_EINVAL, "DeleteFileW: path is NULL");
  wchar_t *w = mmapio__win_widen(path, &err);
  if (w == NULL) return mmapio__fail_os((int)err, "MultiByteToWideChar", path);
  BOOL ok = !MMAPIO__WIN_INJECT("DeleteFileW", 0, 0, 0) && DeleteFileW(w);
  err = ok ? 0 : GetLastError();
  free(w);
  if (!ok) return mmapio__fail_os((int)err, "DeleteFileW", path);
  return MMAPIO_OK;
}

/* The attributes an existing `dst` keeps when mmapio_copy_file replaces
 * it. Not READONLY: a read-only temporary file could not be deleted after
 * a failed replace (and Windows refuses to replace a read-only `dst`
 * anyway: EACCES). */
#define MMAPIO__WIN_KEEP_ATTRS                                                 \
  (FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_SYSTEM | FILE_ATTRIBUTE_ARCHIVE |    \
   FILE_ATTRIBUTE_NOT_CONTENT_INDEXED)

/* Gives the temporary file `wt` what the existing file `wd` is besides its
 * bytes: its DACL (protected or inheriting, as it was: a temporary file in
 * the same directory inherits the same entries), its creation time and its
 * attributes (MMAPIO__WIN_KEEP_ATTRS). Returns 0, or the failing call's
 * error with its name in *call. */
static DWORD mmapio__win_copy_meta(const wchar_t *wd, const wchar_t *wt, DWORD dattrs,
                                   const char **call)
{
  PSECURITY_DESCRIPTOR sd = NULL;
  PACL dacl = NULL;
  FILETIME created;
  SECURITY_DESCRIPTOR_CONTROL ctl = 0;
  DWORD rev = 0, e = 0;
  HANDLE hd = CreateFileW(wd, READ_CONTROL | FILE_READ_ATTRIBUTES, MMAPIO__WIN_SHARE, NULL,
                          OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
  *call = "CreateFileW";
  if (mmapio__win_invalid(hd)) return GetLastError();
  *call = "GetSecurityInfo";
  e = MMAPIO__WIN_INJECT("GetSecurityInfo", 0, 0, 0)
          ? GetLastError()
          : GetSecurityInfo(hd, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl,
                            NULL, &sd);
  if (e == 0 && !GetFileTime(hd, &created, NULL, NULL)) {
    e = GetLastError();
    *call = "GetFileTime";
  }
  CloseHandle(hd);
  if (e == 0 && !GetSecurityDescriptorControl(sd, &ctl, &rev)) ctl = 0;
  HANDLE ht = INVALID_HANDLE_VALUE;
  if (e == 0) {
    *call = "CreateFileW";
    ht = CreateFileW(wt, READ_CONTROL | WRITE_DAC | FILE_WRITE_ATTRIBUTES, MMAPIO__WIN_SHARE, NULL,
                     OPEN_EXISTING, 0, NULL);
    if (mmapio__win_invalid(ht)) e = GetLastError();
  }
  if (e == 0 && dacl != NULL) {
    *call = "SetSecurityInfo";
    SECURITY_INFORMATION si = DACL_SECURITY_INFORMATION |
                              ((ctl & SE_DACL_PROTECTED) != 0 ? PROTECTED_DACL_SECURITY_INFORMATION
                                                              : UNPROTECTED_DACL_SECURITY_INFORMATION);
    e = MMAPIO__WIN_INJECT("SetSecurityInfo", 0, 0, 0)
            ? GetLastError()
            : SetSecurityInfo(ht, SE_FILE_OBJECT, si, NULL, NULL, dacl, NULL);
  }
  if (e == 0 && !SetFileTime(ht, &created, NULL, NULL)) {
    e = GetLastError();
    *call = "SetFileTime";
  }
  if (!mmapio__win_invalid(ht)) CloseHandle(ht);
  if (sd != NULL) LocalFree(sd);
  if (e == 0 && (dattrs & MMAPIO__WIN_KEEP_ATTRS) != 0 &&
      !SetFileAttributesW(wt, dattrs & MMAPIO__WIN_KEEP_ATTRS)) {
    e = GetLastError();
    *call = "SetFileAttributesW";
  }
  return e;
}

/* mmapio_copy_file: CopyFileW into a temporary file in the directory of
 * `dst` (mmapio__os_newfile_open's short name); over an existing `dst`, the
 * temporary file takes its DACL, creation time and attributes
 * (mmapio__win_copy_meta); then, in one step,
 * MoveFileExW(MOVEFILE_REPLACE_EXISTING) to `dst`. A failure deletes the
 * temporary file and leaves `dst` as it was. (ReplaceFileW would do the
 * carrying over itself, but fails under Wine on the paths the tests use.) */
int mmapio__os_copy_file(const char *src, const char *dst)
{
  DWORD err = 0;
  if (src == NULL || dst == NULL) return mmapio__fail(MMAPIO_EINVAL, "CopyFileW: path is NULL");
  wchar_t *ws = mmapio__win_widen(src, &err);
  if (ws == NULL) return mmapio__fail_os((int)err, "MultiByteToWideChar", src);
  wchar_t *wd = mmapio__win_widen(dst, &err);
  if (wd == NULL) {
    free(ws);
    return mmapio__fail_os((int)err, "MultiByteToWideChar", dst);
  }
  DWORD sattrs = GetFileAttributesW(ws);
  if (sattrs != INVALID_FILE_ATTRIBUTES && (sattrs & FILE_ATTRIBUTE_DIRECTORY) != 0) {
    free(ws);
    free(wd);
    return mmapio__fail(MMAPIO_EINVAL, "CopyFileW(%s): is a directory", src);
  }
  mmapio__os_newfile nf;
  int rc = mmapio__os_newfile_open(&nf, dst, 0, 0);
  wchar_t *wt = NULL;
  if (rc == MMAPIO_OK) {
    CloseHandle((HANDLE)nf.f); /* CopyFileW writes it by name */
    nf.f = MMAPIO_INVALID_FILE;
    wt = mmapio__win_widen(nf.tmp, &err);
    if (wt == NULL) rc = mmapio__fail_os((int)err, "MultiByteToWideChar", dst);
  }
  if (rc == MMAPIO_OK) {
    BOOL ok = !MMAPIO__WIN_INJECT("CopyFileW", 0, 0, 0) && CopyFileW(ws, wt, FALSE);
    if (!ok) rc = mmapio__fail_os((int)GetLastError(), "CopyFileW", src);
  }
  if (rc == MMAPIO_OK) {
    DWORD dattrs = GetFileAttributesW(wd);
    const char *call = NULL;
    DWORD e = 0;
    if (dattrs != INVALID_FILE_ATTRIBUTES && (dattrs & FILE_ATTRIBUTE_DIRECTORY) != 0) {
      rc = mmapio__fail(MMAPIO_EINVAL, "CopyFileW(%s): is a directory", dst);
    } else if (dattrs != INVALID_FILE_ATTRIBUTES &&
               (e = mmapio__win_copy_meta(wd, wt, dattrs, &call)) != 0) {
      rc = mmapio__fail_os((int)e, call, dst);
    } else if (MMAPIO__WIN_INJECT("MoveFileExW", 0, 0, 0) ||
               !MoveFileExW(wt, wd, MOVEFILE_REPLACE_EXISTING)) {
      rc = mmapio__fail_os((int)GetLastError(), "MoveFileExW", dst);
    }
  }
  if (rc == MMAPIO_OK) {
    free(nf.tmp); /* it has dst's name now */
    nf.tmp = NULL;
  }
  mmapio__os_newfile_discard(&nf); /* the temporary file, unless renamed */
  free(wt);
  free(ws);
  free(wd);
  return rc;
}
