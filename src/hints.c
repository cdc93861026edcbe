/*
 * hints.c -- advise, prefetch, touch, residency, eviction, and the open-time
 * hooks for the touch hint and huge pages.
 *
 * Locking: every OS call below runs while the caller holds m->stable shared.
 * That keeps the mapping from moving or shrinking (a moving resize takes
 * `stable` exclusively after it holds the map) but, unlike a shared hold of
 * the map, it never blocks writers: touching or locking a 1 GiB map must not
 * stall mmapio_write for its whole duration. No function here waits for
 * anything else while it holds `stable`, so it cannot take part in a
 * deadlock. Ranges are expanded to whole pages (start rounded down, end
 * rounded up and clamped to the length) so callers may pass any offset.
 *
 * Check order (the conventions at the top of include/mmapio.h): arguments -> zero-length action (OK) ->
 * mode (no hint depends on it) -> bounds -> the operation.
 */
#include "internal.h"

/* A page-expanded range inside the mapping. */
typedef struct mmapio__hrange {
  uint8_t *addr;  /* page-aligned start address */
  uint64_t off;   /* the file offset of addr */
  uint64_t len;   /* bytes from addr to the clamped end (> 0) */
  uint64_t pages; /* pages intersecting the range */
} mmapio__hrange;

/* What dropping a page of this map would do (platform.h). */
static int mmapio__hint_kind(const mmapio_map *m)
{
  if (m->is_anon)
    return m->om.anon_shared ? MMAPIO__HINT_ANON_SHARED : MMAPIO__HINT_ANON_PRIVATE;
  return m->mode == MMAPIO_MODE_COPY_ON_WRITE ? MMAPIO__HINT_PRIVATE_FILE
                                              : MMAPIO__HINT_SHARED_FILE;
}

/* Bounds-check (off, len > 0) against the length read under `stable` and
 * expand it to pages. */
static int mmapio__hint_range(mmapio__hrange *r, mmapio_map *m, uint64_t off, uint64_t len)
{
  uint64_t total = mmapio__len(m);
  if (!mmapio__in_bounds(off, len, total)) return mmapio__fail_bounds(off, len, total);
  uint64_t pg = (uint64_t)mmapio_page_size();
  /* Whole pages of the file (a window's byte 0 need not start a page). */
  r->addr = mmapio__file_pages(m, off, len, total, pg, &r->len, &r->off);
  r->pages = (r->len + pg - 1u) / pg;
  return MMAPIO_OK;
}

/* ---- advise (feature ADVISE) --------------------------------------------- */

int mmapio_advise(mmapio_map *m, uint64_t off, uint64_t len, mmapio_advice a)
{
#if MMAPIO_WITH_ADVISE
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_advise: map is NULL");
  if ((unsigned)a > (unsigned)MMAPIO_ADVICE_DONTNEED)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_advise(%s): unknown advice %d",
                        mmapio__path_or(m->path), (int)a);
  if (len == 0) return MMAPIO_OK;
  mmapio__hrange r = {NULL, 0, 0, 0};
  mmapio__slock_rd(&m->stable);
  int rc = mmapio__hint_range(&r, m, off, len);
  if (rc == MMAPIO_OK) rc = mmapio__os_advise(r.addr, r.len, a, mmapio__hint_kind(m), m->path);
  mmapio__slock_rdunlock(&m->stable);
  return rc;
#else
  (void)m; (void)off; (void)len; (void)a;
  return mmapio__fail(MMAPIO_ENOTSUP, "mmapio_advise: the ADVISE feature is not built in");
#endif
}

/* ---- prefetch ------------------------------------------------------------ */

static int mmapio__prefetch_locked(mmapio_map *m, uint64_t off, uint64_t len)
{
  mmapio__hrange r = {NULL, 0, 0, 0};
  int rc = mmapio__hint_range(&r, m, off, len);
  if (rc != MMAPIO_OK) return rc;
  return mmapio__os_prefetch(r.addr, r.len, m->file, r.off, mmapio__hint_kind(m), m->path);
}

int mmapio_prefetch(mmapio_map *m, uint64_t off, uint64_t len)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_prefetch: map is NULL");
  if (len == 0) return MMAPIO_OK;
  mmapio__slock_rd(&m->stable);
  int rc = mmapio__prefetch_locked(m, off, len);
  mmapio__slock_rdunlock(&m->stable);
  return rc;
}

/* ---- touch --------------------------------------------------------------- */

/* Read one byte of every page of the range that is not mapped yet
 * (mmapio__os_touch, mmapio__touch_pages); nothing is ever written, so a touch never dirties a page (file mtime and content
 * stay as they were). MADV_POPULATE_READ measured 20x slower over a warm
 * 1 GiB map, and mincore cannot tell a mapped page from a cached one; where
 * the OS can say which pages are mapped already (mmapio__os_touch), only the
 * others are read. */
static int mmapio__touch_locked(mmapio_map *m, uint64_t off, uint64_t len)
{
  mmapio__hrange r = {NULL, 0, 0, 0};
  int rc = mmapio__hint_range(&r, m, off, len);
  if (rc != MMAPIO_OK) return rc;
  /* Fault-safe maps touch under the fault guard: a page that cannot be read
   * is MMAPIO_EFAULT instead of SIGBUS. */
  if (m->open_flags & MMAPIO_OPEN_FAULT_SAFE)
    return mmapio__guarded_touch(m, off, len, "mmapio_touch_range");
  mmapio__os_touch((const uint8_t *)r.addr, (size_t)r.pages * mmapio_page_size(),
                   mmapio_page_size());
  return MMAPIO_OK;
}

int mmapio_touch_range(mmapio_map *m, uint64_t off, uint64_t len)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_touch_range: map is NULL");
  if (len == 0) return MMAPIO_OK;
  if (m->open_flags & MMAPIO_OPEN_FAULT_SAFE)
    return mmapio__guarded_touch_held(m, off, len, 0, "mmapio_touch_range");
  mmapio__slock_rd(&m->stable);
  int rc = mmapio__touch_locked(m, off, len);
  mmapio__slock_rdunlock(&m->stable);
  return rc;
}

int mmapio_touch(mmapio_map *m)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_touch: map is NULL");
  if (m->open_flags & MMAPIO_OPEN_FAULT_SAFE)
    return mmapio__guarded_touch_held(m, 0, 0, 1, "mmapio_touch_range");
  mmapio__slock_rd(&m->stable);
  uint64_t total = mmapio__len(m);
  int rc = total == 0 ? MMAPIO_OK : mmapio__touch_locked(m, 0, total);
  mmapio__slock_rdunlock(&m->stable);
  return rc;
}

/* ---- residency ----------------------------------------------------------- */

int mmapio_residency(uint64_t *resident_pages, uint64_t *total_pages, mmapio_map *m,
                     uint64_t off, uint64_t len)
{
  if (resident_pages == NULL || total_pages == NULL || m == NULL)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_residency: NULL argument");
  if (len == 0) {
    *resident_pages = 0;
    *total_pages = 0;
    return MMAPIO_OK;
  }
  mmapio__hrange r = {NULL, 0, 0, 0};
  uint64_t resident = 0;
  mmapio__slock_rd(&m->stable);
  int rc = mmapio__hint_range(&r, m, off, len);
  if (rc == MMAPIO_OK) rc = mmapio__os_residency(&resident, r.addr, r.len, m->path);
  mmapio__slock_rdunlock(&m->stable);
  if (rc != MMAPIO_OK) return rc;
  *resident_pages = resident;
  *total_pages = r.pages;
  return MMAPIO_OK;
}

/* ---- evict --------------------------------------------------------------- */

int mmapio_evict(mmapio_map *m, uint64_t off, uint64_t len)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_evict: map is NULL");
  if (len == 0) return MMAPIO_OK;
  /* Dirty pages of a RW file map are written first, so that dropping them
   * from the cache loses nothing and the next read comes from the file.
   * mmapio_flush_range takes `stable` itself (a shared hold must not be
   * taken twice by one thread: a waiting moving resize would deadlock it,
   * see mmapio__slock_rd in internal.h), and it checks
   * the bounds with the same message we would give. */
  if (m->mode == MMAPIO_MODE_READ_WRITE && !m->is_anon) {
    int frc = mmapio_flush_range(m, off, len);
    if (frc != MMAPIO_OK) return frc;
  }
  mmapio__hrange r = {NULL, 0, 0, 0};
  mmapio__slock_rd(&m->stable);
  int rc = mmapio__hint_range(&r, m, off, len);
  if (rc == MMAPIO_OK)
    rc = mmapio__os_evict(r.addr, r.len, m->file, r.off, mmapio__hint_kind(m), m->path);
  mmapio__slock_rdunlock(&m->stable);
  return rc;
}

/* ---- open-time hooks ----------------------------------------------------- */

/* Called by the core while the new map is private to the opening thread. */
int mmapio__apply_touch_hint(mmapio_map *m, mmapio_touch_hint t)
{
  uint64_t total = mmapio__len(m);
  if (total == 0 || t == MMAPIO_TOUCH_NEVER) return MMAPIO_OK;
  int rc;
  mmapio__slock_rd(&m->stable);
  /* LAZY only starts read-ahead and returns; EAGER faults every page in
   * before open returns. */
  if (t == MMAPIO_TOUCH_EAGER) rc = mmapio__touch_locked(m, 0, total);
  else rc = mmapio__prefetch_locked(m, 0, total);
  mmapio__slock_rdunlock(&m->stable);
  return rc;
}

/* Huge pages are best effort and honest: the advice is given over the whole
 * reservation (so in-place growth keeps it), no page is touched or dirtied,
 * and m->huge_active says what the OS has granted so far -- usually 0 right
 * after mapping, since huge pages are allocated when pages are first faulted
 * in. mmapio__huge_pages_query() re-evaluates it later. */
void mmapio__apply_huge_pages(mmapio_map *m)
{
  mmapio__st_relaxed(&m->huge_active, 0);
#if MMAPIO_WITH_HUGEPAGES
  if (m->om.base == NULL) return;
  uint64_t total = mmapio__len(m);
  uint64_t span = m->om.reserved > total ? m->om.reserved : total;
  if (span == 0) return;
  /* A refusal is not an error: the flag is a request, and the answer is
   * reported by mmapio_huge_pages_active(). Keep no detail message from it.
   * A window's advice starts at the page holding its byte 0. */
  uint64_t lead = m->om.delta % (uint64_t)mmapio_page_size();
  mmapio__saved_error e;
  mmapio__error_save(&e);
  (void)mmapio__os_huge_advise(m->om.base - lead, span + lead, mmapio__hint_kind(m), m->path);
  mmapio__error_restore(&e);
  mmapio__st_relaxed(&m->huge_active, mmapio__os_huge_query(m->om.base, total));
#endif
}

int mmapio__huge_pages_query(const mmapio_map *m)
{
#if MMAPIO_WITH_HUGEPAGES
  if (m == NULL || !(m->open_flags & MMAPIO_OPEN_HUGE_PAGES)) return 0;
  /* The accessor takes a const map; the lock is bookkeeping, not state. */
  mmapio_map *mm = (mmapio_map *)(uintptr_t)m;
  mmapio__slock_rd(&mm->stable);
  uint64_t total = mmapio__len(mm);
  int active = (mm->om.base != NULL && total > 0) ? mmapio__os_huge_query(mm->om.base, total) : 0;
  mmapio__st_relaxed(&mm->huge_active, active);
  mmapio__slock_rdunlock(&mm->stable);
  return active;
#else
  (void)m;
  return 0;
#endif
}
