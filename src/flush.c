/*
 * flush.c -- explicit flushes, durability levels and the flush policies.
 *
 * A flush holds `stable` shared: the mapping cannot move while the OS call
 * runs, but readers and writers are not excluded (a long msync must not
 * stall mmapio_write).
 */
#include "internal.h"

static int mmapio__flushable(const mmapio_map *m)
{
  return m->mode == MMAPIO_MODE_READ_WRITE && !m->is_anon;
}

/* Flush [off, off+len) after expanding it to pages, clamped to the length
 * seen under the lock. `*flushed` receives the expanded length. */
static int mmapio__flush_pages(mmapio_map *m, uint64_t off, uint64_t len, uint64_t *flushed)
{
  uint64_t ps = mmapio_page_size();
  int rc = MMAPIO_OK;
  mmapio__rwlock_rdlock(&m->stable);
  uint64_t total = mmapio__len(m);
  uint64_t start = off - off % ps;
  uint64_t end = mmapio_align_up(off + len, ps);
  if (end > total) end = total;
  *flushed = end > start ? end - start : 0;
  if (end > start) rc = mmapio__os_flush_counted(m, start, end - start); /* stats.c */
  mmapio__rwlock_rdunlock(&m->stable);
  return rc;
}

int mmapio__flush_all(mmapio_map *m)
{
  uint64_t flushed;
  /* Reset first: bytes written while the flush runs are counted again and
   * flushed next time, never lost from the accounting. */
  uint64_t before = mmapio__ld_acquire(&m->pending);
  int rc = mmapio__flush_pages(m, 0, UINT64_MAX / 2, &flushed);
  if (rc == MMAPIO_OK) {
    uint64_t cur = before;
    /* Subtract what we saw; concurrent additions stay pending. */
    while (!mmapio__cas(&m->pending, &cur, cur >= before ? cur - before : 0)) {
    }
  }
  return rc;
}

int mmapio_flush(mmapio_map *m)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_flush: map is NULL");
  if (!mmapio__flushable(m)) return MMAPIO_OK;
  return mmapio__flush_all(m);
}

int mmapio_flush_range(mmapio_map *m, uint64_t off, uint64_t len)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_flush_range: map is NULL");
  if (len == 0) return MMAPIO_OK;
  uint64_t total = mmapio__len(m);
  if (!mmapio__in_bounds(off, len, total)) return mmapio__fail_bounds(off, len, total);
  if (!mmapio__flushable(m)) return MMAPIO_OK;
  uint64_t flushed;
  int rc = mmapio__flush_pages(m, off, len, &flushed);
  if (rc != MMAPIO_OK) return rc;
  mmapio_flush_kind k = m->policy.kind;
  if (k == MMAPIO_FLUSH_ALWAYS || k == MMAPIO_FLUSH_EVERY_BYTES || k == MMAPIO_FLUSH_EVERY_MILLIS) {
    uint64_t cur = mmapio__ld_acquire(&m->pending);
    while (!mmapio__cas(&m->pending, &cur, cur > flushed ? cur - flushed : 0)) {
    }
  }
  return MMAPIO_OK;
}

int mmapio__policy_after_write(mmapio_map *m, uint64_t nbytes)
{
  if (!mmapio__flushable(m)) return MMAPIO_OK;
  uint64_t every = m->policy.every;
  switch (m->policy.kind) {
    case MMAPIO_FLUSH_MANUAL:
      return MMAPIO_OK;
    case MMAPIO_FLUSH_ALWAYS:
      mmapio__fetch_add(&m->pending, nbytes);
      return mmapio__flush_all(m);
    case MMAPIO_FLUSH_EVERY_BYTES:
      if (mmapio__fetch_add(&m->pending, nbytes) + nbytes >= every && every != 0)
        return mmapio__flush_all(m);
      return MMAPIO_OK;
    case MMAPIO_FLUSH_EVERY_WRITES:
      if (mmapio__fetch_add(&m->pending, 1) + 1 >= every && every != 0)
        return mmapio__flush_all(m);
      return MMAPIO_OK;
    case MMAPIO_FLUSH_EVERY_MILLIS:
      mmapio__fetch_add(&m->pending, nbytes);
      /* In a child of fork() the flusher thread starts again on demand. */
      if (MMAPIO__UNLIKELY(mmapio__ld_relaxed(&mmapio__fl_restart) != 0u)) mmapio__flusher_kick();
      return MMAPIO_OK;
  }
  return MMAPIO_OK;
}
