/*
 * flush.c -- explicit flushes, durability levels, the flush policies and
 * sticky write-back errors.
 *
 * A flush holds `stable` shared: the mapping cannot move while the OS call
 * runs, but readers and writers are not excluded (a long msync must not
 * stall mmapio_write).
 *
 * Sticky write-back errors
 * ------------------------
 * When the OS fails to write dirty pages back (an I/O error, a full disk),
 * Linux marks the pages clean and reports the error once: a retried msync
 * then succeeds although the bytes never reached the file. So every
 * write-back of a map goes through mmapio__flush_pages below -- explicit
 * flushes, flush_range, every policy, the background flusher, async tasks and
 * the final flush of close -- and the first failure is remembered in the map
 * (status, OS code, original message, failed range). From then on every
 * flush, flush_range and the last close still reach the OS but return that
 * failure, until the application acknowledges it with mmapio_clear_error.
 * The only cost when nothing failed is one relaxed load of `m->ferr` per
 * flush; the write path pays nothing.
 */
#include "internal.h"

/* Error paths stay out of line so the flush fast path inlines. */
#if defined(__GNUC__) || defined(__clang__)
#  define MMAPIO__COLD __attribute__((noinline, cold))
#else
#  define MMAPIO__COLD
#endif

static int mmapio__flushable(const mmapio_map *m)
{
  return m->mode == MMAPIO_MODE_READ_WRITE && !m->is_anon;
}

/* ---- The sticky record (error paths only) ------------------------------- */

static void mmapio__ferr_lock(mmapio_map *m)
{
  while (__atomic_exchange_n(&m->ferr_lock, 1u, __ATOMIC_ACQUIRE) != 0u) mmapio__sleep_ms(0);
}

static void mmapio__ferr_unlock(mmapio_map *m) { mmapio__st_release(&m->ferr_lock, 0u); }

/* Report the sticky failure for operation `op` (the thread's detail message
 * and OS code are set). Returns the sticky status, or OK when a concurrent
 * mmapio_clear_error removed it. */
MMAPIO__COLD static int mmapio__ferr_report(mmapio_map *m, const char *op)
{
  mmapio__ferr_lock(m);
  int st = m->ferr;
  mmapio__ferr_rec r = m->ferr_rec;
  mmapio__ferr_unlock(m);
  if (st == 0) return MMAPIO_OK;
  return mmapio__fail_keep_os(st, r.oserr,
                              "%s(%s): an earlier write-back failed for bytes [%llu, %llu) and "
                              "is not acknowledged (mmapio_clear_error): %s",
                              op, mmapio__path_or(m->path), (unsigned long long)r.off,
                              (unsigned long long)r.end, r.msg);
}

/* A write-back of [off, end) failed with `rc`, whose detail message this
 * thread holds. The first failure since the last clear is recorded as it
 * is; later ones widen the range and are reported as the first one. */
MMAPIO__COLD static int mmapio__ferr_record(mmapio_map *m, int rc, uint64_t off, uint64_t end,
                                            const char *op)
{
  mmapio__ferr_lock(m);
  int first = m->ferr == 0;
  if (first) {
    m->ferr_rec.status = rc;
    m->ferr_rec.oserr = mmapio_last_os_error();
    m->ferr_rec.off = off;
    m->ferr_rec.end = end;
    const char *msg = mmapio_last_error();
    size_t i = 0;
    for (; i + 1 < sizeof m->ferr_rec.msg && msg[i] != '\0'; i++) m->ferr_rec.msg[i] = msg[i];
    m->ferr_rec.msg[i] = '\0';
    mmapio__st_release(&m->ferr, rc);
  } else {
    if (off < m->ferr_rec.off) m->ferr_rec.off = off;
    if (end > m->ferr_rec.end) m->ferr_rec.end = end;
  }
  mmapio__ferr_unlock(m);
  /* The first failure keeps its own message (the OS call and its text). */
  return first ? rc : mmapio__ferr_report(m, op);
}

int mmapio_flush_error(const mmapio_map *m, uint64_t *off, uint64_t *len)
{
  if (m == NULL) return MMAPIO_OK;
  if (MMAPIO__LIKELY(mmapio__ld_relaxed(&m->ferr) == 0)) return MMAPIO_OK;
  /* The spin flag is bookkeeping, not state: the query takes a const map. */
  mmapio_map *mm = (mmapio_map *)(uintptr_t)m;
  mmapio__ferr_lock(mm);
  int st = mm->ferr;
  uint64_t o = mm->ferr_rec.off, e = mm->ferr_rec.end;
  mmapio__ferr_unlock(mm);
  if (st != 0) {
    if (off != NULL) *off = o;
    if (len != NULL) *len = e - o;
  }
  return st;
}

int mmapio_clear_error(mmapio_map *m)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_clear_error: map is NULL");
  mmapio__ferr_lock(m);
  mmapio__st_release(&m->ferr, 0);
  m->ferr_rec.status = 0;
  m->ferr_rec.oserr = 0;
  m->ferr_rec.off = 0;
  m->ferr_rec.end = 0;
  m->ferr_rec.msg[0] = '\0';
  mmapio__ferr_unlock(m);
  return MMAPIO_OK;
}

uint64_t mmapio__pending_report(const mmapio_map *m)
{
  uint64_t p = mmapio__ld_acquire(&m->pending);
  if (MMAPIO__LIKELY(mmapio__ld_relaxed(&m->ferr) == 0)) return p;
  uint64_t off = 0, len = 0;
  if (mmapio_flush_error(m, &off, &len) == MMAPIO_OK) return p;
  /* Bytes of the failed range are not known to be in the file. */
  uint64_t floor = m->policy.kind == MMAPIO_FLUSH_EVERY_WRITES ? 1u : (len != 0 ? len : 1u);
  return p > floor ? p : floor;
}

/* ---- Recovery: re-dirty what is still in memory ------------------------- */

/* After a failed write-back the OS has marked the pages of the range clean
 * although the file never received them; they still hold the new bytes
 * while they stay in memory. Write one byte of every resident page back
 * onto itself so the page is dirty again and a later flush really writes
 * it. This runs under the exclusive hold (taken without waiting: when
 * another thread holds a view, or the caller does, nothing is done), so no
 * writer can change the byte between the read and the write back; the
 * copies are guarded, so a page that cannot be written (a full disk) is
 * skipped instead of raising SIGBUS. Pages that were already evicted are
 * left alone: their bytes are lost, and the sticky error says so. Recovery
 * never clears the error: the application still has to acknowledge it. */
MMAPIO__COLD static void mmapio__redirty(mmapio_map *m, uint64_t start, uint64_t end)
{
  mmapio__slot *s;
  mmapio__saved_error e;
  mmapio__error_save(&e);
  if (mmapio__lock_excl(m, &s, "mmapio_flush", 1) != MMAPIO_OK) {
    mmapio__error_restore(&e);
    return;
  }
  uint64_t ps = mmapio_page_size();
  uint64_t total = mmapio__len(m);
  if (end > total) end = total;
  if (mmapio__os_fault_install() == MMAPIO_OK) {
    for (uint64_t at = start; at < end; at += ps) {
      uint8_t *p = m->om.base + at;
      uint64_t resident = 0;
      if (mmapio__os_residency(&resident, p, 1, m->path) != MMAPIO_OK || resident == 0) continue;
      uint8_t b;
      uintptr_t fa;
      if (mmapio__os_guarded_copy(&b, p, 1, p, p + 1, &fa) != MMAPIO_OK) continue;
      (void)mmapio__os_guarded_copy(p, &b, 1, p, p + 1, &fa);
    }
  }
  mmapio__unlock_excl(m, s);
  mmapio__error_restore(&e);
}

/* A write-back of [start, end) failed: recover what can be, remember it. */
MMAPIO__COLD static int mmapio__flush_failed(mmapio_map *m, int rc, uint64_t start, uint64_t end,
                                            const char *op)
{
  mmapio__redirty(m, start, end);
  return mmapio__ferr_record(m, rc, start, end, op);
}

/* ---- The write-back routine --------------------------------------------- */

/* Flush [off, off+len) after expanding it to pages, clamped to the length
 * seen under the lock. `*flushed` receives the expanded length. Every
 * write-back of the library comes through here; see "Sticky write-back
 * errors" above. */
static inline int mmapio__flush_pages(mmapio_map *m, uint64_t off, uint64_t len,
                                      uint64_t *flushed, const char *op)
{
  uint64_t ps = mmapio_page_size();
  int rc = MMAPIO_OK;
  mmapio__slock_rd(&m->stable);
  uint64_t total = mmapio__len(m);
  uint64_t start = off - off % ps;
  uint64_t end = mmapio_align_up(off + len, ps);
  if (end > total) end = total;
  *flushed = end > start ? end - start : 0;
  /* An empty map (MMAPIO_OPEN_ALLOW_EMPTY) at FULL still syncs the file, so
   * that a truncation to 0 is durable. */
  if (end > start || (total == 0 && m->durability == MMAPIO_DURABLE_FULL))
    rc = mmapio__os_flush_counted(m, start, end > start ? end - start : 0); /* stats.c */
  mmapio__slock_rdunlock(&m->stable);
  if (MMAPIO__UNLIKELY(rc != MMAPIO_OK)) return mmapio__flush_failed(m, rc, start, end, op);
  if (MMAPIO__UNLIKELY(mmapio__ld_relaxed(&m->ferr) != 0)) return mmapio__ferr_report(m, op);
  return MMAPIO_OK;
}

/* Debit the accumulator by `seen` (what it held before a successful flush);
 * concurrent additions stay pending. */
static void mmapio__pending_debit(mmapio_map *m, uint64_t seen)
{
  uint64_t cur = mmapio__ld_acquire(&m->pending);
  while (!mmapio__cas(&m->pending, &cur, cur >= seen ? cur - seen : 0)) {
  }
}

static int mmapio__flush_all_op(mmapio_map *m, const char *op)
{
  uint64_t flushed;
  /* Read first: bytes written while the flush runs are counted again and
   * flushed next time, never lost from the accounting. A failed flush
   * leaves the accumulator as it was. */
  uint64_t before = mmapio__ld_acquire(&m->pending);
  int rc = mmapio__flush_pages(m, 0, UINT64_MAX / 2, &flushed, op);
  if (rc == MMAPIO_OK) mmapio__pending_debit(m, before);
  return rc;
}

int mmapio__flush_all(mmapio_map *m) { return mmapio__flush_all_op(m, "mmapio_flush"); }

int mmapio__flush_final(mmapio_map *m)
{
  if (!mmapio__flushable(m)) return MMAPIO_OK;
  if (m->policy.kind != MMAPIO_FLUSH_MANUAL) return mmapio__flush_all_op(m, "mmapio_close");
  if (MMAPIO__UNLIKELY(mmapio__ld_relaxed(&m->ferr) != 0)) return mmapio__ferr_report(m, "mmapio_close");
  return MMAPIO_OK;
}

int mmapio_flush(mmapio_map *m)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_flush: map is NULL");
  if (!mmapio__flushable(m)) return MMAPIO_OK;
  return mmapio__flush_all_op(m, "mmapio_flush");
}

int mmapio_flush_range(mmapio_map *m, uint64_t off, uint64_t len)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_flush_range: map is NULL");
  if (len == 0) return MMAPIO_OK;
  uint64_t total = mmapio__len(m);
  if (!mmapio__in_bounds(off, len, total)) return mmapio__fail_bounds(off, len, total);
  if (!mmapio__flushable(m)) return MMAPIO_OK;
  uint64_t flushed;
  int rc = mmapio__flush_pages(m, off, len, &flushed, "mmapio_flush_range");
  if (rc != MMAPIO_OK) return rc;
  mmapio_flush_kind k = m->policy.kind;
  if (k == MMAPIO_FLUSH_ALWAYS || k == MMAPIO_FLUSH_EVERY_BYTES || k == MMAPIO_FLUSH_EVERY_MILLIS) {
    uint64_t cur = mmapio__ld_acquire(&m->pending);
    while (!mmapio__cas(&m->pending, &cur, cur > flushed ? cur - flushed : 0)) {
    }
  }
  return MMAPIO_OK;
}

/* A policy flush that is due. At MMAPIO_DURABLE_NONE it only resets the
 * accumulator: NONE promises nothing but what the OS does on its own (its
 * periodic writeback), so the write path makes no system call -- starting
 * writeback over the map here would write-protect every page and make the
 * next writes fault again. Explicit flushes at NONE still start writeback. */
static int mmapio__policy_flush(mmapio_map *m)
{
  if (m->durability == MMAPIO_DURABLE_NONE) {
    mmapio__pending_debit(m, mmapio__ld_acquire(&m->pending));
    return MMAPIO_OK;
  }
  return mmapio__flush_all_op(m, "mmapio_write");
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
      return mmapio__policy_flush(m);
    case MMAPIO_FLUSH_EVERY_BYTES:
      if (mmapio__fetch_add(&m->pending, nbytes) + nbytes >= every && every != 0)
        return mmapio__policy_flush(m);
      return MMAPIO_OK;
    case MMAPIO_FLUSH_EVERY_WRITES:
      if (mmapio__fetch_add(&m->pending, 1) + 1 >= every && every != 0)
        return mmapio__policy_flush(m);
      return MMAPIO_OK;
    case MMAPIO_FLUSH_EVERY_MILLIS:
      mmapio__fetch_add(&m->pending, nbytes);
      /* In a child of fork() the flusher thread starts again on demand. */
      if (MMAPIO__UNLIKELY(mmapio__ld_relaxed(&mmapio__fl_restart) != 0u)) mmapio__flusher_kick();
      return MMAPIO_OK;
  }
  return MMAPIO_OK;
}
