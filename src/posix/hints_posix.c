/*
 * hints_posix.c -- the POSIX side of advise, prefetch, residency, eviction,
 * memory locking and huge pages (platform.h, "Hints, locking, huge pages").
 *
 * Linux (MMAPIO__LINUX) uses madvise with the Linux advices; the portable
 * build uses only posix_madvise / posix_fadvise / mincore / mlock, the calls
 * macOS and the BSDs offer, so those paths are exercised on Linux too.
 *
 * The one rule every function here keeps: a hint never loses data. On a
 * private mapping (copy-on-write file, private anonymous memory) Linux's
 * MADV_DONTNEED throws the process's modified pages away, so private
 * mappings only ever get the non-destructive MADV_PAGEOUT / MADV_COLD.
 */
#include "posix_sys.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>

static int mmapio__hint_is_file(int kind)
{
  return kind == MMAPIO__HINT_SHARED_FILE || kind == MMAPIO__HINT_PRIVATE_FILE;
}

/* Dropping a page of these mappings keeps its content (page cache / shmem). */
static int mmapio__hint_is_shared(int kind)
{
  return kind == MMAPIO__HINT_SHARED_FILE || kind == MMAPIO__HINT_ANON_SHARED;
}

#if MMAPIO__LINUX
/* madvise that treats EINVAL (advice unknown to this kernel) as "not done". */
static int mmapio__madvise_opt(uint8_t *addr, uint64_t len, int advice)
{
  if (mmapio__sys_madvise(addr, (size_t)len, advice) == 0) return 1;
  return errno == EINVAL ? 0 : -1;
}
#endif

/* ---- advise ---------------------------------------------------------------- */

int mmapio__os_advise(uint8_t *addr, uint64_t len, mmapio_advice a, int kind, const char *path)
{
#if MMAPIO__LINUX
  int adv;
  switch (a) {
  case MMAPIO_ADVICE_NORMAL: adv = MADV_NORMAL; break;
  case MMAPIO_ADVICE_RANDOM: adv = MADV_RANDOM; break;
  case MMAPIO_ADVICE_SEQUENTIAL: adv = MADV_SEQUENTIAL; break;
  case MMAPIO_ADVICE_WILLNEED: adv = MADV_WILLNEED; break;
  case MMAPIO_ADVICE_DONTNEED:
    if (mmapio__hint_is_shared(kind)) {
      adv = MADV_DONTNEED;
      break;
    }
    /* Private pages may hold the only copy of the data: deactivate them
     * (kernel >= 5.4) instead of discarding; older kernels get nothing. */
#  ifdef MADV_COLD
    if (mmapio__madvise_opt(addr, len, MADV_COLD) < 0)
      return mmapio__fail_os(errno, "madvise(MADV_COLD)", path);
#  endif
    return MMAPIO_OK;
  default:
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_advise(%s): unknown advice %d",
                        mmapio__path_or(path), (int)a);
  }
  if (mmapio__sys_madvise(addr, (size_t)len, adv) != 0)
    return mmapio__fail_os(errno, "madvise", path);
  return MMAPIO_OK;
#else
  int adv;
  switch (a) {
  case MMAPIO_ADVICE_NORMAL: adv = POSIX_MADV_NORMAL; break;
  case MMAPIO_ADVICE_RANDOM: adv = POSIX_MADV_RANDOM; break;
  case MMAPIO_ADVICE_SEQUENTIAL: adv = POSIX_MADV_SEQUENTIAL; break;
  case MMAPIO_ADVICE_WILLNEED: adv = POSIX_MADV_WILLNEED; break;
  case MMAPIO_ADVICE_DONTNEED:
    /* POSIX_MADV_DONTNEED is non-destructive by definition (glibc makes it
     * a no-op, the BSDs and macOS deactivate the pages), but some systems
     * have implemented it as a discard; private mappings skip it. */
    if (!mmapio__hint_is_shared(kind)) return MMAPIO_OK;
    adv = POSIX_MADV_DONTNEED;
    break;
  default:
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_advise(%s): unknown advice %d",
                        mmapio__path_or(path), (int)a);
  }
  int e = posix_madvise(addr, (size_t)len, adv);
  if (e != 0) return mmapio__fail_os(e, "posix_madvise", path);
  return MMAPIO_OK;
#endif
}

/* ---- prefetch -------------------------------------------------------------- */

static int mmapio__file_willneed(mmapio_native_file f, uint64_t off, uint64_t len,
                                 const char *path)
{
#if MMAPIO__APPLE
  /* macOS has no posix_fadvise; F_RDADVISE takes an int count. */
  while (len > 0) {
    uint64_t n = len > (uint64_t)(1u << 30) ? (uint64_t)(1u << 30) : len;
    struct radvisory ra;
    ra.ra_offset = (off_t)off;
    ra.ra_count = (int)n;
    if (fcntl(f, F_RDADVISE, &ra) != 0) return mmapio__fail_os(errno, "fcntl(F_RDADVISE)", path);
    off += n;
    len -= n;
  }
  return MMAPIO_OK;
#elif defined(POSIX_FADV_WILLNEED)
  int e = posix_fadvise(f, (off_t)off, (off_t)len, POSIX_FADV_WILLNEED);
  if (e != 0) return mmapio__fail_os(e, "posix_fadvise(WILLNEED)", path);
  return MMAPIO_OK;
#else
  (void)f; (void)off; (void)len; (void)path;
  return MMAPIO_OK;
#endif
}

int mmapio__os_prefetch(uint8_t *addr, uint64_t len, mmapio_native_file f, uint64_t file_off,
                        int kind, const char *path)
{
  if (mmapio__hint_is_file(kind) && f != MMAPIO_INVALID_FILE)
    return mmapio__file_willneed(f, file_off, len, path);
  /* Anonymous memory has no file to read ahead: ask for the pages (swap-in). */
#if MMAPIO__LINUX
  if (mmapio__sys_madvise(addr, (size_t)len, MADV_WILLNEED) != 0)
    return mmapio__fail_os(errno, "madvise(MADV_WILLNEED)", path);
#else
  int e = posix_madvise(addr, (size_t)len, POSIX_MADV_WILLNEED);
  if (e != 0) return mmapio__fail_os(e, "posix_madvise(WILLNEED)", path);
#endif
  return MMAPIO_OK;
}

/* ---- residency ------------------------------------------------------------- */

int mmapio__os_residency(uint64_t *resident, const uint8_t *addr, uint64_t len, const char *path)
{
  size_t pg = mmapio__os_page_size();
  uint64_t pages = (len + pg - 1u) / pg;
  uint64_t done = 0, count = 0;
#if defined(__linux__)
  unsigned char vec[2048];
#else
  char vec[2048];
#endif
  while (done < pages) {
    size_t n = pages - done > sizeof vec ? sizeof vec : (size_t)(pages - done);
    /* mincore wants a non-const address on some systems; it only reads. */
    void *p = (void *)(uintptr_t)(addr + done * pg);
    if (mincore(p, n * pg, vec) != 0) {
      if (errno == EAGAIN) continue;
      return mmapio__fail_os(errno, "mincore", path);
    }
    for (size_t i = 0; i < n; i++) count += (uint64_t)(vec[i] & 1);
    done += n;
  }
  *resident = count;
  return MMAPIO_OK;
}

/* ---- touch ----------------------------------------------------------------- */

#if MMAPIO__LINUX
/* PAGEMAP_SCAN (Linux 6.7, <linux/fs.h>), spelled out for older headers: the
 * ioctl reports the runs of pages of a range whose categories match, here
 * "not present" (PAGE_IS_PRESENT, inverted). */
typedef struct mmapio__page_region {
  uint64_t start, end, categories;
} mmapio__page_region;
typedef struct mmapio__pm_scan_arg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
  uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
} mmapio__pm_scan_arg;
#  define MMAPIO__PAGEMAP_SCAN _IOWR('f', 16, mmapio__pm_scan_arg)
#  define MMAPIO__PAGE_IS_PRESENT ((uint64_t)1 << 3)
/* Below this, opening /proc/self/pagemap costs more than reading the pages. */
#  define MMAPIO__SCAN_MIN ((size_t)4 << 20)
/* One ioctl walks at most this much: the kernel holds the address-space
 * lock shared while it walks, and mmap/munmap of other threads wait. */
#  define MMAPIO__SCAN_STEP ((uintptr_t)64 << 20)
#  define MMAPIO__SCAN_RUNS 32u

/* 1 once the kernel refused the ioctl (older than 6.7, or /proc missing). */
static int mmapio__scan_off;

/* Touches the pages of [p, p+len) that are not present. 0 when done, -1 when
 * nothing was done and the caller must read every page. */
static int mmapio__touch_scan(const uint8_t *p, size_t len, size_t page)
{
  if (len < MMAPIO__SCAN_MIN || __atomic_load_n(&mmapio__scan_off, __ATOMIC_RELAXED)) return -1;
  int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == EACCES || errno == EPERM)
      __atomic_store_n(&mmapio__scan_off, 1, __ATOMIC_RELAXED);
    return -1;
  }
  /* Zeroed once so that tools which do not know this ioctl (valgrind) do
   * not take what the kernel writes here for uninitialised memory. */
  mmapio__page_region runs[MMAPIO__SCAN_RUNS];
  memset(runs, 0, sizeof runs);
  uintptr_t at = (uintptr_t)p, end = at + len;
  while (at < end) {
    mmapio__pm_scan_arg a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.start = at;
    a.end = end - at > MMAPIO__SCAN_STEP ? at + MMAPIO__SCAN_STEP : end;
    a.vec = (uint64_t)(uintptr_t)runs;
    a.vec_len = MMAPIO__SCAN_RUNS;
    a.category_inverted = a.category_mask = a.return_mask = MMAPIO__PAGE_IS_PRESENT;
    int n = ioctl(fd, (mmapio__ioctl_req)MMAPIO__PAGEMAP_SCAN, &a);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (uint64_t)n > MMAPIO__SCAN_RUNS || a.walk_end <= at || a.walk_end > a.end) {
      if (n < 0 && at == (uintptr_t)p && (errno == ENOTTY || errno == EINVAL))
        __atomic_store_n(&mmapio__scan_off, 1, __ATOMIC_RELAXED);
      /* Whatever the kernel could not say is read page by page. */
      mmapio__touch_pages((const uint8_t *)at, (size_t)(end - at), page);
      break;
    }
    for (int i = 0; i < n; i++) {
      uintptr_t s = (uintptr_t)runs[i].start, e = (uintptr_t)runs[i].end;
      if (s < at) s = at;
      if (e > (uintptr_t)a.walk_end) e = (uintptr_t)a.walk_end;
      if (s < e) mmapio__touch_pages((const uint8_t *)s, (size_t)(e - s), page);
    }
    at = (uintptr_t)a.walk_end;
  }
  close(fd);
  return 0;
}
#endif

void mmapio__os_touch(const uint8_t *p, size_t len, size_t page)
{
#if MMAPIO__LINUX
  if (mmapio__touch_scan(p, len, page) == 0) return;
#endif
  mmapio__touch_pages(p, len, page);
}

/* ---- evict ----------------------------------------------------------------- */

int mmapio__os_evict(uint8_t *addr, uint64_t len, mmapio_native_file f, uint64_t file_off,
                     int kind, const char *path)
{
  /* First take the pages out of this process's page tables: the page cache
   * refuses to drop pages that are still mapped. */
#if MMAPIO__LINUX
  if (mmapio__hint_is_shared(kind)) {
    /* On shared mappings MADV_DONTNEED only unmaps: the content (and any
     * dirty state) stays in the page cache / shared memory object. */
    if (mmapio__sys_madvise(addr, (size_t)len, MADV_DONTNEED) != 0)
      return mmapio__fail_os(errno, "madvise(MADV_DONTNEED)", path);
  } else {
    /* Private pages: reclaim them (written to swap if modified, kernel >=
     * 5.4), or at least deactivate them; never discard. */
    int r = 0;
#  ifdef MADV_PAGEOUT
    r = mmapio__madvise_opt(addr, len, MADV_PAGEOUT);
    if (r < 0) return mmapio__fail_os(errno, "madvise(MADV_PAGEOUT)", path);
#  endif
#  ifdef MADV_COLD
    if (r == 0 && mmapio__madvise_opt(addr, len, MADV_COLD) < 0)
      return mmapio__fail_os(errno, "madvise(MADV_COLD)", path);
#  endif
    (void)r;
  }
#elif MMAPIO__APPLE
  if (kind == MMAPIO__HINT_SHARED_FILE) {
    /* The caller flushed the range; MS_SYNC with MS_INVALIDATE writes any
     * page dirtied since and then drops the cached copies. */
    if (msync(addr, (size_t)len, MS_SYNC | MS_INVALIDATE) != 0)
      return mmapio__fail_os(errno, "msync(MS_INVALIDATE)", path);
  } else if (kind == MMAPIO__HINT_ANON_SHARED) {
    int e = posix_madvise(addr, (size_t)len, POSIX_MADV_DONTNEED);
    if (e != 0) return mmapio__fail_os(e, "posix_madvise(DONTNEED)", path);
  }
#else
  if (mmapio__hint_is_shared(kind)) {
    int e = posix_madvise(addr, (size_t)len, POSIX_MADV_DONTNEED);
    if (e != 0) return mmapio__fail_os(e, "posix_madvise(DONTNEED)", path);
  }
#endif
  /* Then drop the file's clean cached pages (a copy-on-write map's private
   * pages are not in the file's cache, so they are unaffected). */
#if defined(POSIX_FADV_DONTNEED) && !MMAPIO__APPLE
  if (mmapio__hint_is_file(kind) && f != MMAPIO_INVALID_FILE) {
    int e = posix_fadvise(f, (off_t)file_off, (off_t)len, POSIX_FADV_DONTNEED);
    if (e != 0) return mmapio__fail_os(e, "posix_fadvise(DONTNEED)", path);
  }
#else
  (void)f; (void)file_off;
#endif
  return MMAPIO_OK;
}

/* ---- locking --------------------------------------------------------------- */

int mmapio__os_lock(uint8_t *addr, uint64_t len, const char *path)
{
  if (mlock(addr, (size_t)len) == 0) return MMAPIO_OK;
  int e = errno;
  int status;
  if (e == EPERM) status = MMAPIO_EACCES;
  else if (e == ENOMEM || e == EAGAIN) status = MMAPIO_ENOMEM;
  else return mmapio__fail_os(e, "mlock", path);
  char lim[32] = "unknown";
  struct rlimit rl;
  if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
    if (rl.rlim_cur == RLIM_INFINITY) snprintf(lim, sizeof lim, "unlimited");
    else snprintf(lim, sizeof lim, "%llu bytes", (unsigned long long)rl.rlim_cur);
  }
  mmapio__fail_os_status(status, e, "mlock", path);
  mmapio__error_append("; locking %llu bytes exceeds the locked-memory limit RLIMIT_MEMLOCK "
                       "(currently %s): raise it (ulimit -l, /etc/security/limits.conf "
                       "memlock) or grant CAP_IPC_LOCK",
                       (unsigned long long)len, lim);
  return status;
}

int mmapio__os_unlock(uint8_t *addr, uint64_t len, const char *path)
{
  if (munlock(addr, (size_t)len) != 0) return mmapio__fail_os(errno, "munlock", path);
  return MMAPIO_OK;
}

/* ---- huge pages ------------------------------------------------------------ */

int mmapio__os_huge_advise(uint8_t *addr, uint64_t len, int kind, const char *path)
{
  (void)kind;
#if MMAPIO__LINUX && defined(MADV_HUGEPAGE)
  /* Anonymous memory gets transparent huge pages at fault time (when THP is
   * "madvise" or "always"). File pages are PMD-mapped only by filesystems
   * that keep large folios in the page cache, by tmpfs mounted with huge=,
   * or by khugepaged for read-only files with CONFIG_READ_ONLY_THP_FOR_FS. */
  if (mmapio__sys_madvise(addr, (size_t)len, MADV_HUGEPAGE) != 0)
    return mmapio__fail_os(errno, "madvise(MADV_HUGEPAGE)", path);
  return MMAPIO_OK;
#else
  (void)addr; (void)len;
  return mmapio__fail(MMAPIO_ENOTSUP, "huge pages cannot be requested for %s on this system",
                      mmapio__path_or(path));
#endif
}

#if defined(__linux__)
/* "Name:   1234 kB" -> 1234 when the line starts with `name`, else -1. */
static long long mmapio__smaps_kb(const char *line, const char *name)
{
  size_t n = strlen(name);
  if (strncmp(line, name, n) != 0) return -1;
  unsigned long long v = 0;
  if (sscanf(line + n, " %llu", &v) != 1) return -1;
  return (long long)v;
}
#endif

int mmapio__os_huge_query(const uint8_t *addr, uint64_t len)
{
#if defined(__linux__)
  if (addr == NULL || len == 0) return 0;
  FILE *fp = fopen("/proc/self/smaps", "re");
  if (fp == NULL) return 0;
  unsigned long long lo = (unsigned long long)(uintptr_t)addr, hi = lo + len;
  long long page_kb = (long long)(mmapio__os_page_size() / 1024u);
  char line[512];
  int in_range = 0, at_line_start = 1, active = 0;
  while (!active && fgets(line, sizeof line, fp) != NULL) {
    int starts = at_line_start;
    at_line_start = strchr(line, '\n') != NULL;
    if (!starts) continue; /* the tail of an over-long line (a long path) */
    unsigned long long s, e;
    char dash;
    /* Mapping headers are "start-end perms ...", in hex. Field names such
     * as "AnonHugePages:" fail the "%llx%c%llx" pattern with '-'. */
    if (sscanf(line, "%llx%c%llx", &s, &dash, &e) == 3 && dash == '-') {
      in_range = s < hi && e > lo;
      continue;
    }
    if (!in_range) continue;
    if (mmapio__smaps_kb(line, "AnonHugePages:") > 0 ||
        mmapio__smaps_kb(line, "ShmemPmdMapped:") > 0 ||
        mmapio__smaps_kb(line, "FilePmdMapped:") > 0 ||
        mmapio__smaps_kb(line, "ShmemHugePages:") > 0 ||
        mmapio__smaps_kb(line, "KernelPageSize:") > page_kb)
      active = 1;
  }
  fclose(fp);
  return active;
#else
  (void)addr; (void)len;
  return 0;
#endif
}

unsigned mmapio__os_hint_caps(void)
{
  unsigned caps = MMAPIO__HINTCAP_RESIDENCY;
#if MMAPIO__LINUX
  caps |= MMAPIO__HINTCAP_EVICT_MAPPED;
#  ifdef MADV_HUGEPAGE
  caps |= MMAPIO__HINTCAP_HUGE_ADVISE;
#  endif
#endif
  return caps;
}
