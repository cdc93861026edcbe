/*
 * segment.c -- named windows of a map. A segment holds a map reference and
 * re-checks its bounds against the map's current length on every access, so
 * it can outlive resizes.
 */
#include "internal.h"

int mmapio_segment_init(mmapio_segment *s, mmapio_map *m, uint64_t off, uint64_t len)
{
  if (s == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_segment_init: segment is NULL");
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_segment_init: map is NULL");
  uint64_t total = mmapio__len(m);
  if (!mmapio__in_bounds(off, len, total)) return mmapio__fail_bounds(off, len, total);
  mmapio__fetch_add(&m->refs, 1u);
  s->map = m;
  s->offset = off;
  s->len = len;
  return MMAPIO_OK;
}

void mmapio_segment_release(mmapio_segment *s)
{
  if (s == NULL || s->map == NULL) return;
  mmapio_map *m = s->map;
  s->map = NULL;
  mmapio__map_release_ref(m);
}

int mmapio_segment_valid(const mmapio_segment *s)
{
  if (s == NULL || s->map == NULL) return 0;
  return mmapio__in_bounds(s->offset, s->len, mmapio__len(s->map));
}

static int mmapio__segment_check(const mmapio_segment *s, const char *op)
{
  if (s == NULL || s->map == NULL)
    return mmapio__fail(MMAPIO_EINVAL, "%s: segment is NULL or released", op);
  return MMAPIO_OK;
}

int mmapio_segment_view(mmapio_view *out, const mmapio_segment *s)
{
  int rc = mmapio__segment_check(s, "mmapio_segment_view");
  if (rc != MMAPIO_OK) return rc;
  return mmapio_view_get(out, s->map, s->offset, s->len);
}

int mmapio_segment_view_mut(mmapio_view_mut *out, const mmapio_segment *s)
{
  int rc = mmapio__segment_check(s, "mmapio_segment_view_mut");
  if (rc != MMAPIO_OK) return rc;
  return mmapio_view_get_mut(out, s->map, s->offset, s->len);
}

int mmapio_segment_write(const mmapio_segment *s, uint64_t rel_off, const void *src, size_t len)
{
  int rc = mmapio__segment_check(s, "mmapio_segment_write");
  if (rc != MMAPIO_OK) return rc;
  /* The header's order: arguments, zero length, mode, then bounds. */
  if (len == 0) return MMAPIO_OK;
  if (src == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_segment_write: src is NULL");
  if (s->map->mode == MMAPIO_MODE_READ_ONLY)
    return mmapio__fail(MMAPIO_EMODE, "mmapio_segment_write(%s): map is read-only",
                        mmapio__path_or(s->map->path));
  if (!mmapio__in_bounds(rel_off, len, s->len)) return mmapio__fail_bounds(rel_off, len, s->len);
  /* A segment the map has shrunk past is invalid as a whole (include/mmapio.h section 9),
   * even where a byte of it is still inside the map. */
  uint64_t total = mmapio__len(s->map);
  if (!mmapio__in_bounds(s->offset, s->len, total))
    return mmapio__fail_bounds(s->offset, s->len, total);
  /* mmapio_write re-checks against the map's current length. */
  return mmapio_write(s->map, s->offset + rel_off, src, len);
}
