/*
 * locking.c -- pin a map's pages in RAM (feature LOCKING): mlock / munlock
 * on POSIX, VirtualLock / VirtualUnlock on Windows.
 *
 * Like the other hints, each call holds m->stable shared while the OS call
 * runs, so the mapping cannot move or shrink underneath it, and writers are
 * not blocked. Locks belong to the pages of the current mapping: they survive
 * in-place growth, but a moving resize (mremap on Linux keeps them, an
 * unmap + remap elsewhere does not) may drop them; lock again after one.
 */
#include "internal.h"

#if MMAPIO_WITH_LOCKING

/* lock (do_lock = 1) or unlock the page-expanded [off, off+len). */
static int mmapio__lock_range(mmapio_map *m, uint64_t off, uint64_t len, int do_lock,
                              int whole_map)
{
  mmapio__slock_rd(&m->stable);
  uint64_t total = mmapio__len(m);
  if (whole_map) {
    off = 0;
    len = total;
  }
  int rc = MMAPIO_OK;
  if (!mmapio__in_bounds(off, len, total)) {
    rc = mmapio__fail_bounds(off, len, total);
  } else if (len > 0) {
    uint64_t span, file_off;
    uint8_t *a = mmapio__file_pages(m, off, len, total, (uint64_t)mmapio_page_size(), &span,
                                    &file_off);
    (void)file_off;
    if (do_lock) rc = mmapio__os_lock(a, span, m->path);
    else rc = mmapio__os_unlock(a, span, m->path);
  }
  mmapio__slock_rdunlock(&m->stable);
  return rc;
}

int mmapio_lock(mmapio_map *m, uint64_t off, uint64_t len)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_lock: map is NULL");
  if (len == 0) return MMAPIO_OK;
  return mmapio__lock_range(m, off, len, 1, 0);
}

int mmapio_unlock(mmapio_map *m, uint64_t off, uint64_t len)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_unlock: map is NULL");
  if (len == 0) return MMAPIO_OK;
  return mmapio__lock_range(m, off, len, 0, 0);
}

int mmapio_lock_all(mmapio_map *m)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_lock_all: map is NULL");
  return mmapio__lock_range(m, 0, 0, 1, 1);
}

int mmapio_unlock_all(mmapio_map *m)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_unlock_all: map is NULL");
  return mmapio__lock_range(m, 0, 0, 0, 1);
}

#else /* !MMAPIO_WITH_LOCKING: linkable stubs */

static int mmapio__locking_off(void)
{
  return mmapio__fail(MMAPIO_ENOTSUP, "memory locking (feature LOCKING) is not built in");
}
int mmapio_lock(mmapio_map *m, uint64_t off, uint64_t len)
{
  (void)m; (void)off; (void)len;
  return mmapio__locking_off();
}
int mmapio_unlock(mmapio_map *m, uint64_t off, uint64_t len)
{
  (void)m; (void)off; (void)len;
  return mmapio__locking_off();
}
int mmapio_lock_all(mmapio_map *m)
{
  (void)m;
  return mmapio__locking_off();
}
int mmapio_unlock_all(mmapio_map *m)
{
  (void)m;
  return mmapio__locking_off();
}

#endif
