/*
 * fault.c -- guarded copies between the caller and the mapping, and probe.
 *
 * A mapping is only as good as the file behind it: when another process
 * truncates the file, when a sparse file's disk fills up or when the device
 * reports an I/O error, the next access to the affected pages raises SIGBUS
 * (POSIX) or EXCEPTION_IN_PAGE_ERROR (Windows) and kills the process. Maps
 * opened with MMAPIO_OPEN_FAULT_SAFE route mmapio_read / mmapio_write (and
 * the touch hints) through a guarded copy instead: the OS backend turns a
 * fault whose address lies inside the mapped side of the copy into
 * MMAPIO_EFAULT, and leaves every other fault to whoever handled it before.
 *
 * This file is the portable half: it decides when to guard, computes the
 * offset of a fault and writes the detail message. The handler itself lives
 * in posix/fault_posix.c and win/fault_win.c (platform.h, "Fault safety").
 */
#include "internal.h"

#include <string.h>

/* The message names the operation, the offset inside the mapping and the
 * path, so a log line alone tells which file lost which bytes. */
static int mmapio__fault_fail(const mmapio_map *m, const char *op, uint64_t off)
{
  return mmapio__fail(MMAPIO_EFAULT,
                      "%s(%s): fault at offset %llu: pages not backed (file truncated, "
                      "disk full or I/O error)",
                      op, mmapio__path_or(m->path), (unsigned long long)off);
}

/* Offset (inside the mapping) to report for a fault at `addr` during an
 * access to the mapped range [lo, lo+len) that starts at mapping offset
 * `off`. A copy routine does not necessarily touch its range in order (glibc
 * stores the head of a large copy last, and loads the tail first), so the
 * address the CPU faulted on is not always the first lost byte. On this
 * error path we look again, page by page in ascending order with the guarded
 * touch, and report the first byte of the first page that cannot be read,
 * clamped to the start of the range. When every page reads fine (a write
 * fault on a page that can be read: a sparse file on a full disk) the page
 * of the faulting address is reported. */
static uint64_t mmapio__fault_offset(uintptr_t addr, const void *lo, uint64_t len, uint64_t off)
{
  uintptr_t l = (uintptr_t)lo, pg = (uintptr_t)mmapio__os_page_size();
  uintptr_t a = (addr >= l && (uint64_t)(addr - l) < len) ? addr : l + (uintptr_t)(len - 1u);
  uintptr_t first = a - a % pg;
  uintptr_t start = l - l % pg;
  uintptr_t at = 0;
  if (first > start &&
      mmapio__os_guarded_touch((const void *)start, (size_t)(first - start), (size_t)pg, &at) ==
          MMAPIO_EFAULT &&
      at >= start && at < first)
    first = at - at % pg;
  if (first < l) first = l;
  return off + (uint64_t)(first - l);
}

int mmapio__copy_out(mmapio_map *m, void *dst, const uint8_t *src, size_t len, uint64_t off)
{
  /* Without the flag the cost is this one test: behaviour and speed are
   * those of a plain memcpy. */
  if (MMAPIO__LIKELY((m->open_flags & MMAPIO_OPEN_FAULT_SAFE) == 0u) || len == 0) {
    if (len != 0) memcpy(dst, src, len);
    return MMAPIO_OK;
  }
  uintptr_t at = 0;
  int rc = mmapio__os_guarded_copy(dst, src, len, src, src + len, &at);
  if (rc == MMAPIO_OK) return MMAPIO_OK;
  return mmapio__fault_fail(m, "mmapio_read", mmapio__fault_offset(at, src, len, off));
}

int mmapio__copy_in(mmapio_map *m, uint8_t *dst, const void *src, size_t len, uint64_t off)
{
  if (MMAPIO__LIKELY((m->open_flags & MMAPIO_OPEN_FAULT_SAFE) == 0u) || len == 0) {
    if (len != 0) memcpy(dst, src, len);
    return MMAPIO_OK;
  }
  uintptr_t at = 0;
  int rc = mmapio__os_guarded_copy(dst, src, len, dst, dst + len, &at);
  if (rc == MMAPIO_OK) return MMAPIO_OK;
  return mmapio__fault_fail(m, "mmapio_write", mmapio__fault_offset(at, dst, len, off));
}

int mmapio__fault_enable(mmapio_map *m)
{
#if MMAPIO_WITH_FAULT_SAFE
  int rc = mmapio__os_fault_install();
  if (rc != MMAPIO_OK) {
    return mmapio__fail(rc, "mmapio_open(%s): MMAPIO_OPEN_FAULT_SAFE is not supported on this "
                            "platform or toolchain",
                        mmapio__path_or(m->path));
  }
  return MMAPIO_OK;
#else
  return mmapio__fail(MMAPIO_ENOTSUP,
                      "mmapio_open(%s): MMAPIO_OPEN_FAULT_SAFE is compiled out of this build",
                      mmapio__path_or(m->path));
#endif
}

/* The whole pages holding (off, len): their page-aligned start address,
 * returned, and their length in *span (a page multiple: the OS mapping
 * itself covers whole pages, so rounding the end up stays inside it). For a
 * window the start may lie before the window's byte 0; *lead says by how
 * much it lies before `off`. */
static const uint8_t *mmapio__page_span(const mmapio_map *m, uint64_t off, uint64_t len,
                                        uint64_t *span, uint64_t *lead)
{
  uint64_t page = (uint64_t)mmapio__os_page_size();
  uint64_t fo;
  /* No clamp: end rounded up to the page (UINT64_MAX / 2 > any map). */
  const uint8_t *lo = mmapio__file_pages(m, off, len, UINT64_MAX / 2, page, span, &fo);
  *lead = (off + m->om.delta) % page;
  return lo;
}

/* The guarded touch over a page-expanded span, without taking a lock: the
 * caller keeps the mapping from moving. On a fault, the reported offset is
 * clamped to the caller's range (the fault may be on the rounded-down first
 * page, before `off`). */
static int mmapio__touch_span(mmapio_map *m, uint64_t off, uint64_t len, const char *op)
{
  uint64_t span, lead;
  const uint8_t *lo = mmapio__page_span(m, off, len, &span, &lead);
  int rc = mmapio__os_fault_install();
  if (rc != MMAPIO_OK) {
    return mmapio__fail(rc, "%s(%s): guarded access is not supported on this platform or toolchain",
                        op, mmapio__path_or(m->path));
  }
  uintptr_t at = 0;
  rc = mmapio__os_guarded_touch(lo, (size_t)span, mmapio__os_page_size(), &at);
  if (rc == MMAPIO_OK) return MMAPIO_OK;
  /* Offset from lo, then from off (lo lies `lead` bytes before off). */
  uint64_t rel = mmapio__fault_offset(at, lo, span, 0);
  uint64_t fo = rel > lead ? off + (rel - lead) : off;
  return mmapio__fault_fail(m, op, fo);
}

int mmapio__guarded_touch(mmapio_map *m, uint64_t off, uint64_t len, const char *op)
{
  if (len == 0) return MMAPIO_OK;
  return mmapio__touch_span(m, off, len, op);
}

/* Pages touched per shared hold: a writer waits for at most this many page
 * reads (1 MiB with 4 KiB pages). */
#define MMAPIO__TOUCH_BATCH 256u

int mmapio__guarded_touch_held(mmapio_map *m, uint64_t off, uint64_t len, int whole,
                               const char *op)
{
  /* mmapio_write copies under the exclusive hold, so reading the pages
   * under the shared hold never races with it. A thread that holds a write
   * view itself (EDEADLK from the shared hold) is the only writer there can
   * be, so it touches under `stable` alone, as the unguarded touch does. */
  uint64_t pg = (uint64_t)mmapio__os_page_size();
  mmapio__slot *s;
  int rc = mmapio__lock_shared(m, &s);
  if (rc == MMAPIO_EDEADLK) {
    mmapio__slock_rd(&m->stable);
    uint64_t total = mmapio__len(m);
    if (whole) {
      off = 0;
      len = total;
    }
    if (!mmapio__in_bounds(off, len, total)) rc = mmapio__fail_bounds(off, len, total);
    else rc = mmapio__guarded_touch(m, off, len, op);
    mmapio__slock_rdunlock(&m->stable);
    return rc;
  }
  if (rc != MMAPIO_OK) return rc;
  uint64_t total = mmapio__len(m);
  if (whole) {
    off = 0;
    len = total;
  }
  if (!mmapio__in_bounds(off, len, total)) {
    rc = mmapio__fail_bounds(off, len, total);
    mmapio__unlock_shared(m, s);
    return rc;
  }
  uint64_t end = off + len;
  for (uint64_t at = off; at < end;) {
    uint64_t batch_end = (at - at % pg) + MMAPIO__TOUCH_BATCH * pg;
    if (batch_end > end) batch_end = end;
    rc = mmapio__guarded_touch(m, at, batch_end - at, op);
    if (rc != MMAPIO_OK || batch_end >= end) break;
    at = batch_end;
    /* Let waiting writers in between batches; the length cannot shrink
     * below `end` while we are out (a shrink would make later batches
     * EBOUNDS, checked below). */
    mmapio__unlock_shared(m, s);
    rc = mmapio__lock_shared(m, &s);
    if (rc != MMAPIO_OK) return rc;
    total = mmapio__len(m);
    if (end > total) {
      rc = mmapio__fail_bounds(off, len, total);
      break;
    }
  }
  mmapio__unlock_shared(m, s);
  return rc;
}

int mmapio_probe(mmapio_map *m, uint64_t off, uint64_t len)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_probe: map is NULL");
  if (len == 0) return MMAPIO_OK;

  /* Like the other hints, probe holds `stable` shared: the mapping cannot
   * move (a moving resize takes it exclusively), yet probe neither waits for
   * writers nor fails with EDEADLK when the caller holds a write view.
   * Bounds are checked under it; in-place growth only extends the length. */
  mmapio__slock_rd(&m->stable);
  int rc;
  uint64_t total = mmapio__len(m);
  if (!mmapio__in_bounds(off, len, total)) {
    rc = mmapio__fail_bounds(off, len, total);
    mmapio__slock_rdunlock(&m->stable);
    return rc;
  }

  uint64_t span, lead;
  const uint8_t *lo = mmapio__page_span(m, off, len, &span, &lead);
  /* Let the kernel populate the range first: it reports an unbacked page
   * without any signal. When it is not available, or when it says a page is
   * not backed (it does not say which), the guarded touch finds the page. */
  rc = mmapio__os_populate_read((void *)(uintptr_t)lo, (size_t)span);
  if (rc != MMAPIO_OK) rc = mmapio__touch_span(m, off, len, "mmapio_probe");
  mmapio__slock_rdunlock(&m->stable);
  return rc;
}
