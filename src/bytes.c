/*
 * bytes.c -- reference-counted byte buffers (include/mmapio.h section 14, feature BYTES).
 *
 * A buffer must stay valid and unchanged after mmapio_close and after the
 * file is removed. How that is achieved depends on the mode:
 *
 *  - READ_ONLY: zero-copy. The buffer points into the mapping and holds a
 *    map reference, so the memory stays mapped until the last buffer goes.
 *    A read-only map never moves (resize is EMODE) and this process cannot
 *    write to it.
 *  - READ_WRITE and COPY_ON_WRITE: a private heap copy, taken under the
 *    map's shared lock (mmapio_read). A RW mapping can move (resize) and
 *    change underneath, and a COW mapping is writable by this process, so a
 *    pointer into either would not give an immutable buffer.
 *
 * owner_ points to a small header with an atomic count. Zero-length buffers
 * need no storage: they carry owner_ == NULL and a pointer to a static byte,
 * so they can never dangle.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#if MMAPIO_WITH_BYTES

typedef struct mmapio__bytes_owner {
  uint32_t refs;      /* atomic */
  uint32_t pad_;
  mmapio_map *map;    /* zero-copy: the retained map; NULL for a heap copy */
} mmapio__bytes_owner;
/* A heap copy's bytes follow the header; its size keeps them 8-aligned. */

static const uint8_t mmapio__empty_bytes[1] = {0};

int mmapio_bytes_get(mmapio_bytes *out, mmapio_map *m, uint64_t off, uint64_t len)
{
  if (out == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_bytes_get: out is NULL");
  out->data = NULL;
  out->len = 0;
  out->owner_ = NULL;
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_bytes_get: map is NULL");
  /* A zero-length buffer is a view: it must satisfy the bounds rule. */
  uint64_t total = mmapio__len(m);
  if (!mmapio__in_bounds(off, len, total)) return mmapio__fail_bounds(off, len, total);
  if (len == 0) {
    out->data = mmapio__empty_bytes;
    return MMAPIO_OK;
  }
  if (len > (uint64_t)(SIZE_MAX - sizeof(mmapio__bytes_owner)))
    return mmapio__fail(MMAPIO_ENOMEM, "mmapio_bytes_get(%s): %llu bytes do not fit in memory",
                        mmapio__path_or(m->path), (unsigned long long)len);

  if (m->mode == MMAPIO_MODE_READ_ONLY) {
    mmapio__bytes_owner *o = (mmapio__bytes_owner *)malloc(sizeof *o);
    if (o == NULL) return mmapio__fail(MMAPIO_ENOMEM, "mmapio_bytes_get: out of memory");
    o->refs = 1;
    o->pad_ = 0;
    o->map = m;
    (void)mmapio_retain(m);
    out->data = (const uint8_t *)mmapio_unsafe_ptr(m) + off;
    out->len = (size_t)len;
    out->owner_ = o;
    return MMAPIO_OK;
  }

  mmapio__bytes_owner *o = (mmapio__bytes_owner *)malloc(sizeof *o + (size_t)len);
  if (o == NULL)
    return mmapio__fail(MMAPIO_ENOMEM, "mmapio_bytes_get(%s): cannot copy %llu bytes: out of memory",
                        mmapio__path_or(m->path), (unsigned long long)len);
  o->refs = 1;
  o->pad_ = 0;
  o->map = NULL;
  uint8_t *copy = (uint8_t *)(o + 1);
  /* mmapio_read re-checks the bounds under the lock (a resize may have run
   * since the check above) and reports EDEADLK / EFAULT as usual. */
  int rc = mmapio_read(m, off, copy, (size_t)len);
  if (rc != MMAPIO_OK) {
    free(o);
    return rc;
  }
  out->data = copy;
  out->len = (size_t)len;
  out->owner_ = o;
  return MMAPIO_OK;
}

int mmapio_bytes_retain(mmapio_bytes *copy, const mmapio_bytes *b)
{
  if (copy == NULL || b == NULL)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_bytes_retain: %s is NULL", copy == NULL ? "copy" : "b");
  mmapio__bytes_owner *o = (mmapio__bytes_owner *)b->owner_;
  if (o != NULL) (void)mmapio__fetch_add(&o->refs, 1u);
  *copy = *b;
  return MMAPIO_OK;
}

void mmapio_bytes_release(mmapio_bytes *b)
{
  if (b == NULL) return;
  mmapio__bytes_owner *o = (mmapio__bytes_owner *)b->owner_;
  b->data = NULL;
  b->len = 0;
  b->owner_ = NULL;
  if (o == NULL || mmapio__fetch_sub(&o->refs, 1u) != 1u) return;
  /* Not mmapio_close: that refuses (EBUSY) while the application holds
   * views of the map, and a buffer's reference is not a view. */
  if (o->map != NULL) mmapio__map_release_ref(o->map);
  free(o);
}

#else /* !MMAPIO_WITH_BYTES */

int mmapio_bytes_get(mmapio_bytes *out, mmapio_map *m, uint64_t off, uint64_t len)
{
  (void)m; (void)off; (void)len;
  if (out != NULL) {
    out->data = NULL;
    out->len = 0;
    out->owner_ = NULL;
  }
  return mmapio__fail(MMAPIO_ENOTSUP, "mmapio_bytes_get: the BYTES feature is not compiled in");
}

int mmapio_bytes_retain(mmapio_bytes *copy, const mmapio_bytes *b)
{
  (void)copy; (void)b;
  return mmapio__fail(MMAPIO_ENOTSUP, "mmapio_bytes_retain: the BYTES feature is not compiled in");
}

void mmapio_bytes_release(mmapio_bytes *b) { (void)b; }

#endif /* MMAPIO_WITH_BYTES */
