/*
 * reader.c -- a read cursor over a map, like a file opened for reading
 * (include/mmapio.h section 14). Belongs to no feature: always built.
 *
 * Reads go through mmapio_read, so they take the map's shared lock, respect
 * the bounds rule against the length at the time of each read (a reader
 * outlives resizes) and get fault safety where the map has it.
 */
#include "internal.h"

#include <stdio.h> /* SEEK_SET, SEEK_CUR, SEEK_END */

void mmapio_reader_init(mmapio_reader *r, mmapio_map *m)
{
  if (r == NULL) return;
  r->map = m;
  r->pos = 0;
}

int64_t mmapio_reader_read(mmapio_reader *r, void *dst, size_t n)
{
  if (r == NULL || r->map == NULL)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_reader_read: %s is NULL", r == NULL ? "reader" : "map");
  if (dst == NULL && n > 0) return mmapio__fail(MMAPIO_EINVAL, "mmapio_reader_read: dst is NULL");
  /* A concurrent shrink can move the end between reading the length and
   * mmapio_read taking the lock; that read then fails with EBOUNDS and we
   * retry against the new length. Each retry follows a completed resize, so
   * the loop ends unless resizes never stop; a few attempts is plenty. */
  for (int attempt = 0;; attempt++) {
    uint64_t total = mmapio__len(r->map);
    if (n == 0 || r->pos >= total) return 0;
    uint64_t k = total - r->pos;
    if ((uint64_t)n < k) k = (uint64_t)n;
    if (k > (uint64_t)INT64_MAX) k = (uint64_t)INT64_MAX;
    int rc = mmapio_read(r->map, r->pos, dst, (size_t)k);
    if (rc == MMAPIO_OK) {
      r->pos += k;
      return (int64_t)k;
    }
    if (rc != MMAPIO_EBOUNDS || attempt >= 8) return rc;
  }
}

int64_t mmapio_reader_seek(mmapio_reader *r, int64_t delta, int whence)
{
  if (r == NULL || r->map == NULL)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_reader_seek: %s is NULL", r == NULL ? "reader" : "map");
  int64_t base;
  switch (whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR:
      /* pos is a public field; a caller may have stored anything there. */
      if (r->pos > (uint64_t)INT64_MAX)
        return mmapio__fail(MMAPIO_EINVAL, "mmapio_reader_seek: current position %llu is invalid",
                            (unsigned long long)r->pos);
      base = (int64_t)r->pos;
      break;
    case SEEK_END: base = (int64_t)mmapio__len(r->map); break;
    default:
      return mmapio__fail(MMAPIO_EINVAL, "mmapio_reader_seek: unknown whence %d", whence);
  }
  /* base is in [0, INT64_MAX] (positions never exceed INT64_MAX, lengths
   * are at most MMAPIO_MAX_SIZE), so only a positive delta can overflow. */
  if (delta > 0 && base > INT64_MAX - delta)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_reader_seek: position %lld + %lld overflows",
                        (long long)base, (long long)delta);
  int64_t pos = base + delta;
  if (pos < 0)
    return mmapio__fail(MMAPIO_EINVAL, "mmapio_reader_seek: resulting position %lld is negative",
                        (long long)pos);
  r->pos = (uint64_t)pos;
  return pos;
}
