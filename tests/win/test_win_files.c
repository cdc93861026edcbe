/*
 * test_win_files.c -- files in the Win32 backend: error translation and
 * texts, system facts, CreateFileW flags (exclusive create, share modes,
 * non-inheritable handles, UTF-8 names, directories), duplication, sizes
 * with disk reservation, delete and copy.
 */
#include "test.h"

#ifdef _WIN32
#  include <aclapi.h>
#  include <sddl.h>
#  include <wchar.h>
#endif

#ifndef _WIN32
int main(void) { TEST_SKIP("Win32 backend test; this is not a Windows build"); }
#else

static void test_status_table(void)
{
  static const struct { DWORD e; int st; } t[] = {
    {ERROR_FILE_NOT_FOUND, MMAPIO_ENOENT}, {ERROR_PATH_NOT_FOUND, MMAPIO_ENOENT},
    {ERROR_FILE_EXISTS, MMAPIO_EEXIST}, {ERROR_ALREADY_EXISTS, MMAPIO_EEXIST},
    {ERROR_ACCESS_DENIED, MMAPIO_EACCES}, {ERROR_SHARING_VIOLATION, MMAPIO_EACCES},
    {ERROR_LOCK_VIOLATION, MMAPIO_EACCES}, {ERROR_PRIVILEGE_NOT_HELD, MMAPIO_EACCES},
    {ERROR_USER_MAPPED_FILE, MMAPIO_EACCES},
    {ERROR_DISK_FULL, MMAPIO_ENOSPC}, {ERROR_HANDLE_DISK_FULL, MMAPIO_ENOSPC},
    {ERROR_NOT_ENOUGH_MEMORY, MMAPIO_ENOMEM}, {ERROR_OUTOFMEMORY, MMAPIO_ENOMEM},
    {ERROR_COMMITMENT_LIMIT, MMAPIO_ENOMEM},
    {ERROR_INVALID_PARAMETER, MMAPIO_EINVAL}, {ERROR_INVALID_HANDLE, MMAPIO_EINVAL},
    {ERROR_NO_UNICODE_TRANSLATION, MMAPIO_EINVAL},
    {ERROR_CRC, MMAPIO_EIO}, {ERROR_GEN_FAILURE, MMAPIO_EIO}, {ERROR_SUCCESS + 99999u, MMAPIO_EIO},
  };
  size_t i;
  for (i = 0; i < sizeof t / sizeof t[0]; i++) {
    if (mmapio__os_status((int)t[i].e) != t[i].st)
      TEST_FAIL_("Win32 error %lu maps to %d, want %d", (unsigned long)t[i].e,
                 mmapio__os_status((int)t[i].e), t[i].st);
  }
}

static void test_strerror(void)
{
  char buf[256];
  mmapio__os_strerror((int)ERROR_FILE_NOT_FOUND, buf, sizeof buf);
  ASSERT(buf[0] != '\0');
  ASSERT(strchr(buf, '\r') == NULL && strchr(buf, '\n') == NULL);
  ASSERT(buf[strlen(buf) - 1] != ' ');
  /* A code without a system text prints its number. */
  mmapio__os_strerror(0x3fffff01, buf, sizeof buf);
  ASSERT_STREQ(buf, "Win32 error 1073741569");
  /* Truncation keeps the string terminated. */
  mmapio__os_strerror(0x3fffff01, buf, 8);
  ASSERT_EQ(strlen(buf), 7);
}

static void test_facts(void)
{
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  ASSERT_EQ(mmapio__os_page_size(), si.dwPageSize);
  ASSERT_EQ(mmapio__os_granularity(), si.dwAllocationGranularity);
  ASSERT_EQ(mmapio__os_granularity(), 65536);
  ASSERT_EQ(mmapio_allocation_granularity(), 65536);
  ASSERT_EQ(mmapio_page_size(), si.dwPageSize);
}

static void test_open(void)
{
  char *p = test_tmp_path("wfile");
  mmapio_native_file f = NULL;
  DWORD flags = 0;
  HANDLE h = win_open(p, 1, 1), other;
  wchar_t *w;
  DWORD err;

  /* Non-inheritable. */
  ASSERT(GetHandleInformation(h, &flags));
  ASSERT_EQ(flags & HANDLE_FLAG_INHERIT, 0);

  /* Exclusive create of an existing file. */
  ASSERT_STATUS(mmapio__os_open(&f, p, MMAPIO__OPEN_RDWR, MMAPIO__CREATE_EXCL, 1), MMAPIO_EEXIST);
  ASSERT_MSG_HAS("CreateFileW(");
  ASSERT_MSG_HAS(p);
  ASSERT_EQ(mmapio_last_os_error(), ERROR_FILE_EXISTS);

  /* Share modes: another writer and a rename are allowed while it is open. */
  w = mmapio__win_widen(p, &err);
  ASSERT(w != NULL);
  other = CreateFileW(w, GENERIC_READ | GENERIC_WRITE,
                      FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING, 0,
                      NULL);
  ASSERT(other != INVALID_HANDLE_VALUE);
  CloseHandle(other);
  {
    char *q = test_tmp_path("wfile-renamed");
    wchar_t *wq = mmapio__win_widen(q, &err);
    ASSERT(MoveFileExW(w, wq, 0));
    ASSERT(MoveFileExW(wq, w, 0));
    free(wq);
    free(q);
  }
  free(w);
  mmapio__os_close_file(h);

  /* Missing file, directory, invalid UTF-8. */
  ASSERT_OK(mmapio__os_unlink(p));
  ASSERT_STATUS(mmapio__os_open(&f, p, MMAPIO__OPEN_READ, MMAPIO__CREATE_NO, 0), MMAPIO_ENOENT);
  ASSERT_MSG_HAS("CreateFileW(");
  ASSERT_STATUS(mmapio__os_unlink(p), MMAPIO_ENOENT);
  {
    char dir[MAX_PATH];
    DWORD n = GetTempPathA(sizeof dir, dir);
    ASSERT(n > 0 && n < sizeof dir);
    ASSERT_STATUS(mmapio__os_open(&f, dir, MMAPIO__OPEN_READ, MMAPIO__CREATE_NO, 0), MMAPIO_EINVAL);
    ASSERT_STATUS(mmapio__os_open(&f, dir, MMAPIO__OPEN_RDWR, MMAPIO__CREATE_NO, 0), MMAPIO_EINVAL);
  }
  ASSERT_STATUS(mmapio__os_open(&f, "bad-\xff\xfe-utf8", MMAPIO__OPEN_READ, MMAPIO__CREATE_NO, 0),
                MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio__os_open(&f, NULL, MMAPIO__OPEN_READ, MMAPIO__CREATE_NO, 0), MMAPIO_EINVAL);
  free(p);
}

static void test_utf8_name(void)
{
  /* "mmapio-é-日本" in UTF-8: the name on disk must be the same characters. */
  char *base = test_tmp_path("utf8");
  size_t n = strlen(base) + 32;
  char *p = (char *)malloc(n);
  wchar_t *w;
  DWORD err;
  HANDLE h;
  snprintf(p, n, "%s-\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac", base);
  h = win_open(p, 1, 1);
  mmapio__os_close_file(h);
  w = mmapio__win_widen(p, &err);
  ASSERT(w != NULL);
  ASSERT(wcsstr(w, L"-\x00e9-\x65e5\x672c") != NULL);
  ASSERT(GetFileAttributesW(w) != INVALID_FILE_ATTRIBUTES);
  free(w);
  ASSERT_OK(mmapio__os_unlink(p));
  free(p);
  free(base);
}

static void test_dup(void)
{
  char *p = test_tmp_path("wdup");
  HANDLE rw = win_open_sized(p, 4096), ro = win_open(p, 0, 0), r;
  mmapio_native_file d = NULL;
  DWORD flags = 0;
  ASSERT_OK(mmapio__os_dup(&d, rw, 1, p));
  ASSERT(d != NULL && d != rw);
  ASSERT(GetHandleInformation((HANDLE)d, &flags));
  ASSERT_EQ(flags & HANDLE_FLAG_INHERIT, 0);
  mmapio__os_close_file(d);
  ASSERT_OK(mmapio__os_dup(&d, ro, 0, p));
  mmapio__os_close_file(d);
  ASSERT_STATUS(mmapio__os_dup(&d, ro, 1, p), MMAPIO_EACCES);
  ASSERT_MSG_HAS("not open for writing");
  ASSERT_STATUS(mmapio__os_dup(&d, MMAPIO_INVALID_FILE, 0, p), MMAPIO_EINVAL);
  ASSERT_STATUS(mmapio__os_dup(&d, NULL, 0, p), MMAPIO_EINVAL);
  {
    HANDLE pr, pw;
    ASSERT(CreatePipe(&pr, &pw, NULL, 0));
    ASSERT_STATUS(mmapio__os_dup(&d, pr, 0, "<pipe>"), MMAPIO_EINVAL);
    ASSERT_MSG_HAS("not a regular file");
    CloseHandle(pr);
    CloseHandle(pw);
  }
  if (WIN_HOOKS) {
    mmapio__sys_reset();
    mmapio__sys_fail_nth("DuplicateHandle", 1, (int)ERROR_NOT_ENOUGH_MEMORY);
    ASSERT_STATUS(mmapio__os_dup(&d, rw, 0, p), MMAPIO_ENOMEM);
    ASSERT_MSG_HAS("DuplicateHandle(");
    mmapio__sys_reset();
  }
  (void)r;
  mmapio__os_close_file(ro);
  mmapio__os_close_file(rw);
  ASSERT_OK(mmapio__os_unlink(p));
  free(p);
}

static void test_sizes(void)
{
  char *p = test_tmp_path("wsize");
  HANDLE h = win_open(p, 1, 1);
  uint64_t sz = 1;
  ASSERT_OK(mmapio__os_file_size(&sz, h, p));
  ASSERT_U64_EQ(sz, 0);
  mmapio__sys_reset();
  ASSERT_OK(mmapio__os_file_set_size(h, 0, 100000, 0, p));
  ASSERT_U64_EQ(win_size(h), 100000);
  if (WIN_HOOKS) {
    /* Growth reserves first, then sets the length. */
    ASSERT_EQ(mmapio__sys_count("SetFileAllocation"), 1);
    ASSERT_EQ(mmapio__sys_count("SetEndOfFile"), 1);
  }
  ASSERT_OK(mmapio__os_file_set_size(h, 100000, 5000, 0, p));
  ASSERT_U64_EQ(win_size(h), 5000);
  ASSERT_OK(mmapio__os_file_size(&sz, h, p));
  ASSERT_U64_EQ(sz, 5000);
  if (WIN_HOOKS) {
    /* A shrink reserves nothing; a sparse growth neither. */
    ASSERT_EQ(mmapio__sys_count("SetFileAllocation"), 1);
    ASSERT_OK(mmapio__os_file_set_size(h, 5000, 9000, 1, p));
    ASSERT_EQ(mmapio__sys_count("SetFileAllocation"), 1);
    ASSERT_U64_EQ(win_size(h), 9000);

    /* A full disk at reservation time: ENOSPC and the length unchanged. */
    mmapio__sys_fail_nth("SetFileAllocation", 1, (int)ERROR_DISK_FULL);
    ASSERT_STATUS(mmapio__os_file_set_size(h, 9000, 1u << 20, 0, p), MMAPIO_ENOSPC);
    ASSERT_MSG_HAS("FileAllocationInfo");
    ASSERT_MSG_HAS(p);
    ASSERT_EQ(mmapio_last_os_error(), ERROR_DISK_FULL);
    ASSERT_U64_EQ(win_size(h), 9000);
    mmapio__sys_fail_nth("SetEndOfFile", 1, (int)ERROR_HANDLE_DISK_FULL);
    ASSERT_STATUS(mmapio__os_file_set_size(h, 9000, 1u << 20, 0, p), MMAPIO_ENOSPC);
    ASSERT_MSG_HAS("SetEndOfFile(");
    ASSERT_U64_EQ(win_size(h), 9000);
    mmapio__sys_fail_nth("GetFileSizeEx", 1, (int)ERROR_INVALID_HANDLE);
    ASSERT_STATUS(mmapio__os_file_size(&sz, h, p), MMAPIO_EINVAL);
    mmapio__sys_reset();
  }
  /* The file pointer (shared with duplicates of the handle) never moves. */
  {
    LARGE_INTEGER zero, pos;
    zero.QuadPart = 0;
    ASSERT(SetFilePointerEx(h, zero, &pos, FILE_CURRENT));
    ASSERT_EQ(pos.QuadPart, 0);
  }
  ASSERT_OK(mmapio__os_file_can_reserve(h, 4096, p));
  {
    int st = mmapio__os_file_can_reserve(h, (uint64_t)1 << 62, p);
    ASSERT(st == MMAPIO_OK || st == MMAPIO_ENOSPC);
    if (st == MMAPIO_OK) printf("note: free-space check unavailable here (best effort)\n");
  }
  mmapio__os_close_file(h);

  /* Copy and delete. */
  {
    char *q = test_tmp_path("wcopy");
    uint8_t buf[100], back[100];
    HANDLE s = win_open_sized(q, 0);
    DWORD wrote = 0;
    size_t i;
    for (i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 3u + 1u);
    ASSERT(WriteFile(s, buf, sizeof buf, &wrote, NULL) && wrote == sizeof buf);
    mmapio__os_close_file(s);
    ASSERT_OK(mmapio__os_copy_file(q, p));
    win_file_bytes(p, 0, back, sizeof back);
    ASSERT_MEMEQ(buf, back, sizeof buf);
    /* Over an existing file: a failed copy or replace leaves it as it was
     * (the copy goes to a temporary file that replaces it at the end). */
    {
      char *q2 = test_tmp_path("wcopy2");
      uint8_t buf2[300];
      for (i = 0; i < sizeof buf2; i++) buf2[i] = (uint8_t)(i * 7u + 5u);
      HANDLE s2 = win_open_sized(q2, 0);
      ASSERT(WriteFile(s2, buf2, sizeof buf2, &wrote, NULL) && wrote == sizeof buf2);
      mmapio__os_close_file(s2);
      mmapio__sys_fail_nth("CopyFileW", 1, (int)ERROR_DISK_FULL);
      ASSERT_STATUS(mmapio__os_copy_file(q2, p), MMAPIO_ENOSPC);
      ASSERT_MSG_HAS("CopyFileW(");
      mmapio__sys_fail_nth("MoveFileExW", 1, (int)ERROR_ACCESS_DENIED);
      ASSERT_STATUS(mmapio__os_copy_file(q2, p), MMAPIO_EACCES);
      ASSERT_MSG_HAS("MoveFileExW(");
      mmapio__sys_reset();
      HANDLE c = win_open(p, 0, 0);
      ASSERT_U64_EQ(win_size(c), sizeof buf);
      mmapio__os_close_file(c);
      win_file_bytes(p, 0, back, sizeof back);
      ASSERT_MEMEQ(buf, back, sizeof buf);
      ASSERT_OK(mmapio__os_copy_file(q2, p));
      uint8_t back2[300];
      win_file_bytes(p, 0, back2, sizeof back2);
      ASSERT_MEMEQ(buf2, back2, sizeof buf2);
      ASSERT_OK(mmapio__os_unlink(q2));
      free(q2);
    }
    ASSERT_OK(mmapio__os_unlink(q));
    ASSERT_STATUS(mmapio__os_copy_file(q, p), MMAPIO_ENOENT);
    ASSERT_MSG_HAS("CopyFileW(");
    free(q);
  }
  ASSERT_OK(mmapio__os_unlink(p));
  free(p);
}

/* The DACL of `w` as an SDDL string (LocalFree it), or NULL. */
static wchar_t *dacl_sddl(const wchar_t *w)
{
  PSECURITY_DESCRIPTOR sd = NULL;
  PACL dacl = NULL;
  wchar_t *s = NULL;
  if (GetNamedSecurityInfoW(w, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl,
                            NULL, &sd) != ERROR_SUCCESS)
    return NULL;
  if (!ConvertSecurityDescriptorToStringSecurityDescriptorW(sd, SDDL_REVISION_1,
                                                            DACL_SECURITY_INFORMATION, &s, NULL))
    s = NULL;
  LocalFree(sd);
  return s;
}

/* A creation time in 2001, set on the file that is replaced. */
#define CREATED_LO 0x2d3e0000u
#define CREATED_HI 0x01c0e000u

static uint64_t created_time(const wchar_t *w)
{
  HANDLE h = CreateFileW(w, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                         OPEN_EXISTING, 0, NULL);
  FILETIME c;
  ASSERT(h != INVALID_HANDLE_VALUE && GetFileTime(h, &c, NULL, NULL));
  CloseHandle(h);
  return ((uint64_t)c.dwHighDateTime << 32) | c.dwLowDateTime;
}

/* No temporary file of a copy is left in the directory of `p`. */
static void no_temp_left(const char *p)
{
  char pat[4096];
  size_t dl = strlen(p);
  while (dl > 0 && p[dl - 1] != '/' && p[dl - 1] != '\\') dl--;
  snprintf(pat, sizeof pat, "%.*s.mmapio-*", (int)dl, p);
  DWORD err = 0;
  wchar_t *w = mmapio__win_widen(pat, &err);
  WIN32_FIND_DATAW fd;
  HANDLE f = FindFirstFileW(w, &fd);
  if (f != INVALID_HANDLE_VALUE) {
    FindClose(f);
    TEST_FAIL_("a temporary file is left: %ls", fd.cFileName);
  }
  free(w);
}

/* A file that mmapio_copy_file replaces keeps its DACL, creation time and
 * attributes; a failure to carry them over leaves it as it was. */
static void test_copy_keeps_meta(void)
{
  /* A directory of its own: other tests make temporary files too. */
  char *dir = test_tmp_path("wmeta_dir");
  {
    DWORD e = 0;
    wchar_t *wd = mmapio__win_widen(dir, &e);
    ASSERT(wd != NULL && CreateDirectoryW(wd, NULL));
    free(wd);
  }
  size_t dl = strlen(dir) + 16;
  char *p = (char *)malloc(dl), *q = (char *)malloc(dl);
  ASSERT(p != NULL && q != NULL);
  snprintf(p, dl, "%s/dst", dir);
  snprintf(q, dl, "%s/src", dir);
  uint8_t old[100], neu[300], back[300];
  for (size_t i = 0; i < sizeof old; i++) old[i] = (uint8_t)(i * 3u + 1u);
  for (size_t i = 0; i < sizeof neu; i++) neu[i] = (uint8_t)(i * 7u + 5u);
  ASSERT_EQ(test_write_file(p, old, sizeof old), 0);
  ASSERT_EQ(test_write_file(q, neu, sizeof neu), 0);
  DWORD err = 0;
  wchar_t *wp = mmapio__win_widen(p, &err);
  ASSERT(wp != NULL);

  /* A DACL of its own: SYSTEM full control, Everyone read. */
  PSECURITY_DESCRIPTOR want = NULL;
  BOOL present = FALSE, def = FALSE;
  PACL nd = NULL;
  ASSERT(ConvertStringSecurityDescriptorToSecurityDescriptorW(
      L"D:P(A;;FA;;;SY)(A;;FR;;;WD)", SDDL_REVISION_1, &want, NULL));
  ASSERT(GetSecurityDescriptorDacl(want, &present, &nd, &def) && present);
  ASSERT_EQ(SetNamedSecurityInfoW(wp, SE_FILE_OBJECT,
                                  DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                                  NULL, NULL, nd, NULL),
            ERROR_SUCCESS);
  LocalFree(want);
  ASSERT(SetFileAttributesW(wp, FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_ARCHIVE));
  {
    HANDLE h = CreateFileW(wp, FILE_WRITE_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           OPEN_EXISTING, 0, NULL);
    FILETIME c = {CREATED_LO, CREATED_HI};
    ASSERT(h != INVALID_HANDLE_VALUE);
    ASSERT(SetFileTime(h, &c, NULL, NULL));
    CloseHandle(h);
  }
  wchar_t *sddl = dacl_sddl(wp);
  ASSERT(sddl != NULL);
  /* Wine derives a file's DACL from its Unix mode bits and keeps no other:
   * there the comparison below proves less. */
  if (wcscmp(sddl, L"D:P(A;;FA;;;SY)(A;;FR;;;WD)") != 0)
    printf("note: the file system keeps no DACL of its own here (%ls)\n", sddl);
  uint64_t ctime0 = created_time(wp);

  if (WIN_HOOKS) {
    static const char *const calls[] = {"GetSecurityInfo", "SetSecurityInfo"};
    for (int i = 0; i < 2; i++) {
      mmapio__sys_fail_nth(calls[i], 1, (int)ERROR_ACCESS_DENIED);
      ASSERT_STATUS(mmapio__os_copy_file(q, p), MMAPIO_EACCES);
      ASSERT_MSG_HAS(calls[i]);
      mmapio__sys_reset();
      win_file_bytes(p, 0, back, sizeof old);
      ASSERT_MEMEQ(back, old, sizeof old);
      no_temp_left(p);
    }
  }

  ASSERT_OK(mmapio__os_copy_file(q, p));
  win_file_bytes(p, 0, back, sizeof neu);
  ASSERT_MEMEQ(back, neu, sizeof neu);
  wchar_t *after = dacl_sddl(wp);
  ASSERT(after != NULL);
  if (wcscmp(after, sddl) != 0) TEST_FAIL_("DACL changed: %ls -> %ls", sddl, after);
  ASSERT((GetFileAttributesW(wp) & FILE_ATTRIBUTE_HIDDEN) != 0);
  if (ctime0 == (((uint64_t)CREATED_HI << 32) | CREATED_LO))
    ASSERT_U64_EQ(created_time(wp), ctime0);
  else /* Wine on Linux: a creation time cannot be set */
    printf("note: creation times cannot be set here; not checked\n");
  no_temp_left(p);
  LocalFree(after);
  LocalFree(sddl);
  ASSERT(SetFileAttributesW(wp, FILE_ATTRIBUTE_NORMAL));
  free(wp);
  ASSERT_OK(mmapio__os_unlink(p));
  ASSERT_OK(mmapio__os_unlink(q));
  {
    DWORD e = 0;
    wchar_t *wd = mmapio__win_widen(dir, &e);
    ASSERT(wd != NULL && RemoveDirectoryW(wd));
    free(wd);
  }
  free(dir);
  free(p);
  free(q);
}

int main(void)
{
  test_status_table();
  test_strerror();
  test_facts();
  test_open();
  test_utf8_name();
  test_dup();
  test_sizes();
  test_copy_keeps_meta();
  printf("win files: ok%s\n", win_is_wine() ? " (under Wine)" : "");
  return 0;
}
#endif
