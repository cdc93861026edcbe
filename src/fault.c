/*
 * fault.c -- guarded copies between the caller and the mapping, and probe.
 * (Initial version: plain copies; the fault-safety work replaces it.)
 */
#include "internal.h"

#include <string.h>

int mmapio__copy_out(mmapio_map *m, void *dst, const uint8_t *src, size_t len, uint64_t off)
{
  (void)m; (void)off;
  memcpy(dst, src, len);
  return MMAPIO_OK;
}

int mmapio__copy_in(mmapio_map *m, uint8_t *dst, const void *src, size_t len, uint64_t off)
{
  (void)m; (void)off;
  memcpy(dst, src, len);
  return MMAPIO_OK;
}

int mmapio__fault_enable(mmapio_map *m)
{
  (void)m;
  return mmapio__fail(MMAPIO_ENOTSUP, "MMAPIO_OPEN_FAULT_SAFE is not implemented yet");
}

int mmapio_probe(mmapio_map *m, uint64_t off, uint64_t len)
{
  if (m == NULL) return mmapio__fail(MMAPIO_EINVAL, "mmapio_probe: map is NULL");
  if (len == 0) return MMAPIO_OK;
  if (!mmapio__in_bounds(off, len, mmapio__len(m))) return mmapio__fail_bounds(off, len, mmapio__len(m));
  return mmapio__fail(MMAPIO_ENOTSUP, "mmapio_probe is not implemented yet");
}
