/*
 * append.c -- a logical end separate from the mapped capacity
 * (include/mmapio.h, section 17): mmapio_append writes at the logical end
 * and grows the capacity in geometric steps, so that most appends are a
 * plain copy; close cuts the file back to the logical end.
 *
 * The logical end is one atomic counter (stored + 1 so that 0 means "not
 * in use yet, the end is the length"). An append reserves its range with a
 * fetch-and-add, so concurrent appenders get disjoint ranges without a lock;
 * the copy then runs under a shared hold, which keeps a moving resize and
 * close away but does not exclude readers (nobody else writes a reserved
 * range). Growth is done by one appender at a time (append_grow), through
 * mmapio_resize, which keeps views valid when it grows in place.
 */
#include "internal.h"

#include <string.h>

#define MMAPIO__GROW_MIN (UINT64_C(64) << 10) /* smallest growth step */
#define MMAPIO__GROW_MAX (UINT64_C(1) << 30)  /* largest growth step */

/* The logical end, starting the counter at the length on first use. */
static uint64_t mmapio__logical_start(mmapio_map *m)
{
  uint64_t v = mmapio__ld_acquire(&m->logical1);
  if (v != 0) return v - 1u;
  uint64_t want = mmapio__len(m) + 1u;
  uint64_t zero = 0;
  if (mmapio__cas(&m->logical1, &zero, want)) return want - 1u;
  return zero - 1u; /* another thread started it */
}

uint64_t mmapio_logical_len(const mmapio_map *m)
{
  if (m == NULL) return 0;
  uint64_t v = mmapio__ld_acquire(&m->logical1);
  return v != 0 ? v - 1u : mmapio__len(m);
}

/* The capacity to grow to so that `need` bytes fit: the next geometric
 * step (the current length again, between 64 KiB and 1 GiB), page
 * aligned, kept within max_size when `need` fits there (so the growth is
 * in place) and within MMAPIO_MAX_SIZE. */
static uint64_t mmapio__grow_target(const mmapio_map *m, uint64_t cur, uint64_t need)
{
  uint64_t step = cur < MMAPIO__GROW_MIN ? MMAPIO__GROW_MIN : cur;
  if (step > MMAPIO__GROW_MAX) step = MMAPIO__GROW_MAX;
  uint64_t t = cur + step;
  if (t < need) t = need;
  t = mmapio_align_up(t, (uint64_t)mmapio__os_page_size());
  if (m->max_size != 0 && need <= m->max_size && t > m->max_size) t = m->max_size;
  if (t > MMAPIO_MAX_SIZE) t = MMAPIO_MAX_SIZE;
  return t < need ? need : t;
}

/* Make the capacity at least `need` (one grower at a time). */
static int mmapio__ensure_capacity(mmapio_map *m, uint64_t need, const char *op)
{
  if (need > MMAPIO_MAX_SIZE)
    return mmapio__fail(MMAPIO_ESIZE, "%s(%s): New size %llu exceeds maximum safe limit of %llu bytes",
                        op, mmapio__path_or(m->path), (unsigned long long)need,
                        (unsigned long long)MMAPIO_MAX_SIZE);
  for (;;) {
    uint64_t cur = mmapio__len(m);
    if (cur >= need) return MMAPIO_OK;
    /* append_grow: 0 idle, 1 growing, 2 growing with others asleep (they
     * say so before they sleep, so the grower wakes only when needed). */
    uint32_t g = 0;
    if (mmapio__cas(&m->append_grow, &g, 1u)) {
      int rc = MMAPIO_OK;
      cur = mmapio__len(m);
      if (cur < need) rc = mmapio_resize(m, mmapio__grow_target(m, cur, need));
      if (__atomic_exchange_n(&m->append_grow, 0u, __ATOMIC_ACQ_REL) == 2u)
        mmapio__wake_u32(&m->append_grow);
      return rc;
    }
    if (g == 1u && !mmapio__cas(&m->append_grow, &g, 2u)) continue;
    mmapio__wait_u32(&m->append_grow, 2u, 50u);
  }
}

static int mmapio__append_mode(mmapio_map *m, const char *op)
{
  if (m->mode != MMAPIO_MODE_READ_WRITE)
    return mmapio__fail(MMAPIO_EMODE, "%s(%s): only READ_WRITE maps have a logical end", op,
                        mmapio__path_or(m->path));
  return MMAPIO_OK;
}

int mmapio_append(mmapio_map *m, const void *data, size_t len, uint64_t *off_out)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_append: map is NULL");
  if (data == NULL && len > 0) return mmapio__fail(MMAPIO_EINVAL, "mmapio_append: data is NULL");
  int rc = mmapio__append_mode(m, "mmapio_append");
  if (rc != MMAPIO_OK) return rc;
  uint64_t start = mmapio__logical_start(m);
  if (len == 0) {
    if (off_out != NULL) *off_out = start;
    return MMAPIO_OK;
  }
  if ((uint64_t)len > MMAPIO_MAX_SIZE)
    return mmapio__fail(MMAPIO_ESIZE, "mmapio_append(%s): %llu bytes exceed the maximum size",
                        mmapio__path_or(m->path), (unsigned long long)len);
  /* Reserve [off, off + len) for this caller. */
  uint64_t off = mmapio__fetch_add(&m->logical1, (uint64_t)len) - 1u;
  uint64_t end = off + (uint64_t)len;
  rc = mmapio__ensure_capacity(m, end, "mmapio_append");
  if (rc == MMAPIO_OK) {
    mmapio__slot *s;
    rc = mmapio__lock_shared(m, &s);
    if (rc == MMAPIO_OK) {
      uint64_t total = mmapio__len(m);
      if (!mmapio__in_bounds(off, (uint64_t)len, total))
        rc = mmapio__fail_bounds(off, (uint64_t)len, total); /* shrunk meanwhile */
      else
        rc = mmapio__copy_in(m, m->om.base + off, data, len, off);
      mmapio__unlock_shared(m, s);
    }
  }
  if (rc != MMAPIO_OK) {
    /* Give the range back if nobody appended after it; otherwise it stays
     * as a hole of zeros (documented). */
    uint64_t exp = end + 1u;
    (void)mmapio__cas(&m->logical1, &exp, off + 1u);
    return rc;
  }
  if (off_out != NULL) *off_out = off;
  return mmapio__policy_after_write(m, (uint64_t)len);
}

int mmapio_set_logical_len(mmapio_map *m, uint64_t new_len)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_set_logical_len: map is NULL");
  int rc = mmapio__append_mode(m, "mmapio_set_logical_len");
  if (rc != MMAPIO_OK) return rc;
  uint64_t old = mmapio__logical_start(m);
  if (new_len > old) {
    rc = mmapio__ensure_capacity(m, new_len, "mmapio_set_logical_len");
    if (rc != MMAPIO_OK) return rc;
  } else if (new_len < old) {
    /* Bytes past the logical end read as zero when it grows again, as
     * after ftruncate: clear what is cut off (within the capacity). */
    mmapio__slot *s;
    rc = mmapio__lock_shared(m, &s);
    if (rc != MMAPIO_OK) return rc;
    uint64_t total = mmapio__len(m);
    uint64_t hi = old < total ? old : total;
    if (new_len < hi) memset(m->om.base + new_len, 0, (size_t)(hi - new_len));
    mmapio__unlock_shared(m, s);
  }
  mmapio__st_release(&m->logical1, new_len + 1u);
  return MMAPIO_OK;
}

int mmapio__logical_cut(mmapio_map *m)
{
  if (m->is_anon || m->mode != MMAPIO_MODE_READ_WRITE || m->file == MMAPIO_INVALID_FILE)
    return MMAPIO_OK;
  uint64_t logical = mmapio__ld_acquire(&m->logical1) - 1u;
  uint64_t len = mmapio__len(m);
  if (logical >= len) return MMAPIO_OK;
  return mmapio__os_file_set_size(m->file, len, logical, 1, m->path);
}
