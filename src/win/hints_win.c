/*
 * hints_win.c -- the Windows side of advise, prefetch, residency, eviction,
 * memory locking and huge pages (platform.h, "Hints, locking, huge pages").
 *
 *  - WILLNEED and prefetch: PrefetchVirtualMemory (Windows 8+, looked up at
 *    run time; on older systems the hint is accepted and does nothing).
 *  - DONTNEED and evict: VirtualUnlock over a range that is not locked is the
 *    documented way to remove pages from the process's working set. The pages
 *    go to the standby/modified lists (nothing is lost, also for private
 *    copy-on-write pages). Side effect: pages the caller had locked with
 *    mmapio_lock become unlocked.
 *  - NORMAL, RANDOM, SEQUENTIAL: Windows has no per-range access-pattern
 *    advice for mapped views; accepted and ignored.
 *  - residency: QueryWorkingSetEx (K32QueryWorkingSetEx in kernel32): pages
 *    in this process's working set.
 *  - lock: VirtualLock, growing the working-set quota with
 *    SetProcessWorkingSetSize when it is too small.
 *  - huge pages: large pages need SEC_LARGE_PAGES when the section is created
 *    and SeLockMemoryPrivilege; they cannot be requested for an existing
 *    view, so the request is reported as not granted.
 */
#include "win.h"

typedef struct mmapio__win_range {
  PVOID VirtualAddress;
  SIZE_T NumberOfBytes;
} mmapio__win_range;
typedef BOOL(WINAPI *mmapio__win_prefetch_fn)(HANDLE, ULONG_PTR, mmapio__win_range *, ULONG);

/* PSAPI_WORKING_SET_EX_INFORMATION without depending on the psapi.h version. */
typedef struct mmapio__win_wsex {
  PVOID VirtualAddress;
  ULONG_PTR VirtualAttributes; /* bit 0: Valid (in the working set), bit 23: LargePage */
} mmapio__win_wsex;
typedef BOOL(WINAPI *mmapio__win_qwsex_fn)(HANDLE, PVOID, DWORD);

#define MMAPIO__WSEX_VALID ((ULONG_PTR)1)
#define MMAPIO__WSEX_LARGE ((ULONG_PTR)1 << 23)

static void (*mmapio__win_kernel32(const char *name))(void)
{
  HMODULE k = GetModuleHandleW(L"kernel32.dll");
  if (k == NULL) return NULL;
  /* Going through a generic function pointer type keeps compilers from
   * warning about the FARPROC conversion. */
  return (void (*)(void))GetProcAddress(k, name);
}

static mmapio__win_prefetch_fn mmapio__win_prefetch_api(void)
{
  return (mmapio__win_prefetch_fn)mmapio__win_kernel32("PrefetchVirtualMemory");
}

static mmapio__win_qwsex_fn mmapio__win_qwsex_api(void)
{
  mmapio__win_qwsex_fn fn = (mmapio__win_qwsex_fn)mmapio__win_kernel32("K32QueryWorkingSetEx");
  if (fn == NULL) {
    HMODULE p = LoadLibraryW(L"psapi.dll");
    if (p != NULL)
      fn = (mmapio__win_qwsex_fn)(void (*)(void))GetProcAddress(p, "QueryWorkingSetEx");
  }
  return fn;
}

static int mmapio__win_prefetch(uint8_t *addr, uint64_t len, const char *path)
{
  mmapio__win_prefetch_fn fn = mmapio__win_prefetch_api();
  if (fn == NULL) return MMAPIO_OK; /* Windows 7: no read-ahead API; a hint may be ignored */
  mmapio__win_range r;
  r.VirtualAddress = addr;
  r.NumberOfBytes = (SIZE_T)len;
  if (!fn(GetCurrentProcess(), 1, &r, 0))
    return mmapio__fail_os((int)GetLastError(), "PrefetchVirtualMemory", path);
  return MMAPIO_OK;
}

/* Remove the range from the working set. VirtualUnlock reports
 * ERROR_NOT_LOCKED for pages that were not locked, which is the normal case
 * and exactly the documented trimming behaviour. */
static int mmapio__win_trim(uint8_t *addr, uint64_t len, const char *path)
{
  if (VirtualUnlock(addr, (SIZE_T)len)) return MMAPIO_OK;
  DWORD e = GetLastError();
  if (e == ERROR_NOT_LOCKED) return MMAPIO_OK;
  return mmapio__fail_os((int)e, "VirtualUnlock", path);
}

int mmapio__os_advise(uint8_t *addr, uint64_t len, mmapio_advice a, int kind, const char *path)
{
  (void)kind;
  switch (a) {
  case MMAPIO_ADVICE_NORMAL:
  case MMAPIO_ADVICE_RANDOM:
  case MMAPIO_ADVICE_SEQUENTIAL:
    return MMAPIO_OK;
  case MMAPIO_ADVICE_WILLNEED:
    return mmapio__win_prefetch(addr, len, path);
  case MMAPIO_ADVICE_DONTNEED:
    return mmapio__win_trim(addr, len, path);
  default:
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_advise(%s): unknown advice %d",
                        mmapio__path_or(path), (int)a);
  }
}

int mmapio__os_prefetch(uint8_t *addr, uint64_t len, mmapio_native_file f, uint64_t file_off,
                        int kind, const char *path)
{
  (void)f; (void)file_off; (void)kind;
  return mmapio__win_prefetch(addr, len, path);
}

int mmapio__os_residency(uint64_t *resident, const uint8_t *addr, uint64_t len, const char *path)
{
  mmapio__win_qwsex_fn fn = mmapio__win_qwsex_api();
  if (fn == NULL)
    return mmapio__fail(MMAPIO_ENOTSUP, "QueryWorkingSetEx(%s): not available on this system",
                        mmapio__path_or(path));
  size_t pg = mmapio__os_page_size();
  uint64_t pages = (len + pg - 1u) / pg;
  uint64_t done = 0, count = 0;
  mmapio__win_wsex info[512];
  while (done < pages) {
    size_t n = pages - done > 512u ? 512u : (size_t)(pages - done);
    for (size_t i = 0; i < n; i++) {
      info[i].VirtualAddress = (PVOID)(uintptr_t)(addr + (done + i) * pg);
      info[i].VirtualAttributes = 0;
    }
    if (!fn(GetCurrentProcess(), info, (DWORD)(n * sizeof info[0])))
      return mmapio__fail_os((int)GetLastError(), "QueryWorkingSetEx", path);
    for (size_t i = 0; i < n; i++) count += (info[i].VirtualAttributes & MMAPIO__WSEX_VALID) ? 1u : 0u;
    done += n;
  }
  *resident = count;
  return MMAPIO_OK;
}

int mmapio__os_evict(uint8_t *addr, uint64_t len, mmapio_native_file f, uint64_t file_off,
                     int kind, const char *path)
{
  (void)f; (void)file_off; (void)kind;
  return mmapio__win_trim(addr, len, path);
}

int mmapio__os_lock(uint8_t *addr, uint64_t len, const char *path)
{
  if (VirtualLock(addr, (SIZE_T)len)) return MMAPIO_OK;
  DWORD e = GetLastError();
  if (e == ERROR_WORKING_SET_QUOTA || e == ERROR_NO_SYSTEM_RESOURCES) {
    /* A process may lock only a few pages less than its minimum working-set
     * size: grow both bounds by the request plus some slack, then retry. */
    HANDLE self = GetCurrentProcess();
    SIZE_T mn = 0, mx = 0;
    SIZE_T slack = (SIZE_T)64 * mmapio__os_page_size();
    if (GetProcessWorkingSetSize(self, &mn, &mx) &&
        SetProcessWorkingSetSize(self, mn + (SIZE_T)len + slack, mx + (SIZE_T)len + slack)) {
      if (VirtualLock(addr, (SIZE_T)len)) return MMAPIO_OK;
    }
    e = GetLastError();
  }
  int status;
  if (e == ERROR_PRIVILEGE_NOT_HELD || e == ERROR_ACCESS_DENIED) status = MMAPIO_EACCES;
  else if (e == ERROR_WORKING_SET_QUOTA || e == ERROR_NO_SYSTEM_RESOURCES ||
           e == ERROR_NOT_ENOUGH_MEMORY || e == ERROR_COMMITMENT_LIMIT)
    status = MMAPIO_ENOMEM;
  else return mmapio__fail_os((int)e, "VirtualLock", path);
  mmapio__fail_os_status(status, (int)e, "VirtualLock", path);
  mmapio__error_append("; locking %llu bytes exceeds the process working-set quota: raise "
                       "it with SetProcessWorkingSetSize (needs the 'Increase a process "
                       "working set' privilege) or lock less",
                       (unsigned long long)len);
  return status;
}

int mmapio__os_unlock(uint8_t *addr, uint64_t len, const char *path)
{
  if (VirtualUnlock(addr, (SIZE_T)len)) return MMAPIO_OK;
  DWORD e = GetLastError();
  /* Unlocking pages that are not locked is not an error (as with munlock). */
  if (e == ERROR_NOT_LOCKED) return MMAPIO_OK;
  return mmapio__fail_os((int)e, "VirtualUnlock", path);
}

int mmapio__os_huge_advise(uint8_t *addr, uint64_t len, int kind, const char *path)
{
  (void)addr; (void)len; (void)kind;
  return mmapio__fail(MMAPIO_ENOTSUP,
                      "large pages for %s must be requested when the section is created "
                      "(SEC_LARGE_PAGES, SeLockMemoryPrivilege)",
                      mmapio__path_or(path));
}

int mmapio__os_huge_query(const uint8_t *addr, uint64_t len)
{
  if (addr == NULL || len == 0) return 0;
  mmapio__win_qwsex_fn fn = mmapio__win_qwsex_api();
  if (fn == NULL) return 0;
  /* Large pages back a whole view, so the first page tells. */
  mmapio__win_wsex info;
  info.VirtualAddress = (PVOID)(uintptr_t)addr;
  info.VirtualAttributes = 0;
  if (!fn(GetCurrentProcess(), &info, (DWORD)sizeof info)) return 0;
  return (info.VirtualAttributes & MMAPIO__WSEX_VALID) && (info.VirtualAttributes & MMAPIO__WSEX_LARGE)
             ? 1
             : 0;
}

unsigned mmapio__os_hint_caps(void) { return MMAPIO__HINTCAP_RESIDENCY; }

/* Windows cannot say cheaply which pages are mapped: every page is read. */
void mmapio__os_touch(const uint8_t *p, size_t len, size_t page) { mmapio__touch_pages(p, len, page); }
