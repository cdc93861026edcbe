/*
 * atomic.c -- atomic views (feature ATOMIC): naturally aligned u32/u64 cells
 * of a map, used with the header-inline mmapio_load_u64 / mmapio_fetch_add_u64
 * / ... operations.
 *
 * An atomic view is a *pin*, not a lock: it only increments m->pins. Writers
 * never wait for pins (atomics and mmapio_write may race by design, exactly
 * as two threads using atomics on shared memory would), but close and any
 * resize that could move or shrink the mapping refuse with MMAPIO_EBUSY while
 * a pin exists. In-place growth keeps the base address and is allowed.
 *
 * Getting a view takes a shared hold only for the few instructions that
 * check the length and publish the pin: a moving resize holds the map
 * exclusively while it checks m->pins, so either it sees our pin, or it ran
 * entirely before our bounds check and we see its new length.
 */
#include "internal.h"

#define MMAPIO__BORROW_PIN 0x4u /* priv_.kind_ of an atomic view */

#if MMAPIO_WITH_ATOMIC

static int mmapio__atomic_get(mmapio_atomic *out, mmapio_map *m, uint64_t off, size_t count,
                              unsigned size)
{
  if (out == NULL || m == NULL)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_atomic_u%u: NULL argument", size * 8u);
  /* Alignment before bounds (include/mmapio.h, section 10). The mapping base is page aligned,
   * so an aligned offset is an aligned address. */
  /* The address is aligned when the file offset is (a window's base is
   * aligned down to the allocation granularity, then offset). */
  if ((off + m->om.offset) % size != 0)
    return mmapio__fail(MMAPIO_EALIGN, "atomic alignment error: required=%u, offset=%llu", size,
                        (unsigned long long)off);
  /* The byte length saturates instead of wrapping, so a huge count is
   * reported as out of bounds rather than accepted. */
  uint64_t len = (uint64_t)count > UINT64_MAX / size ? UINT64_MAX : (uint64_t)count * size;

  /* A thread that holds the map exclusively (a write view or mut iterator)
   * already keeps the mapping still; taking a shared hold would be EDEADLK. */
  mmapio__slot *s = mmapio__slot_get(m);
  if (s == NULL) return MMAPIO_ENOMEM;
  int held = 0;
  if (!mmapio__ld_relaxed(&s->excl)) {
    int rc = mmapio__lock_shared(m, &s);
    if (rc != MMAPIO_OK) return rc;
    held = 1;
  }
  uint64_t total = mmapio__len(m);
  int rc = MMAPIO_OK;
  if (!mmapio__in_bounds(off, len, total)) rc = mmapio__fail_bounds(off, len, total);
  else mmapio__fetch_add(&m->pins, 1u);
  uint8_t *base = m->om.base;
  if (held) mmapio__unlock_shared(m, s);
  if (rc != MMAPIO_OK) return rc;

  /* A zero-element view at the very end of an empty map has no address. */
  out->ptr = base != NULL ? base + off : NULL;
  out->count = count;
  out->writable = m->mode != MMAPIO_MODE_READ_ONLY;
  out->priv_.slot_ = NULL;
  out->priv_.wstate_ = NULL;
  out->priv_.map_ = m;
  out->priv_.kind_ = MMAPIO__BORROW_PIN;
  out->priv_.version_ = MMAPIO_BORROW_VERSION_;
  return MMAPIO_OK;
}

int mmapio_atomic_u32(mmapio_atomic *out, mmapio_map *m, uint64_t off)
{
  return mmapio__atomic_get(out, m, off, 1, 4u);
}

int mmapio_atomic_u64(mmapio_atomic *out, mmapio_map *m, uint64_t off)
{
  return mmapio__atomic_get(out, m, off, 1, 8u);
}

int mmapio_atomic_u32_array(mmapio_atomic *out, mmapio_map *m, uint64_t off, size_t count)
{
  return mmapio__atomic_get(out, m, off, count, 4u);
}

int mmapio_atomic_u64_array(mmapio_atomic *out, mmapio_map *m, uint64_t off, size_t count)
{
  return mmapio__atomic_get(out, m, off, count, 8u);
}

void mmapio_atomic_release(mmapio_atomic *a)
{
  if (a == NULL || a->priv_.kind_ != MMAPIO__BORROW_PIN || a->priv_.map_ == NULL) return;
  mmapio_map *m = a->priv_.map_;
  a->priv_.map_ = NULL;
  a->priv_.kind_ = 0;
  a->ptr = NULL;
  a->count = 0;
  /* A reaper may wait for the last pin of a map whose references are all
   * gone (lifetime.c); after the decrement only the address is used. */
  if (mmapio__fetch_sub(&m->pins, 1u) == (MMAPIO__WAITING_BIT | 1u)) mmapio__wake_u32(&m->pins);
}

#else /* !MMAPIO_WITH_ATOMIC: linkable stubs */

static int mmapio__atomic_off(void)
{
  return mmapio__fail(MMAPIO_ENOTSUP, "atomic views (feature ATOMIC) are not built in");
}
int mmapio_atomic_u32(mmapio_atomic *out, mmapio_map *m, uint64_t off)
{
  (void)out; (void)m; (void)off;
  return mmapio__atomic_off();
}
int mmapio_atomic_u64(mmapio_atomic *out, mmapio_map *m, uint64_t off)
{
  (void)out; (void)m; (void)off;
  return mmapio__atomic_off();
}
int mmapio_atomic_u32_array(mmapio_atomic *out, mmapio_map *m, uint64_t off, size_t count)
{
  (void)out; (void)m; (void)off; (void)count;
  return mmapio__atomic_off();
}
int mmapio_atomic_u64_array(mmapio_atomic *out, mmapio_map *m, uint64_t off, size_t count)
{
  (void)out; (void)m; (void)off; (void)count;
  return mmapio__atomic_off();
}
void mmapio_atomic_release(mmapio_atomic *a) { (void)a; }

#endif
